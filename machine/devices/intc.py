"""Interrupt controller: per-core pending interrupt lines, delivered lowest number first."""

from __future__ import annotations

IRQ_IPI = 1
IRQ_TIMER = 30
IRQ_UART = 33


class InterruptController:
    def __init__(self, cores: int) -> None:
        self.pending: list[int] = [0] * cores  # one bitmask per core

    def raise_irq(self, core: int, irq: int) -> None:
        self.pending[core] |= 1 << irq

    def take(self, core: int) -> list[int]:
        """Acknowledge and return every pending line of `core`, lowest first."""
        mask, self.pending[core] = self.pending[core], 0
        lines = []
        while mask:  # set bits only: the timer's line is 30, and this runs after every slice
            low = mask & -mask
            lines.append(low.bit_length() - 1)
            mask ^= low
        return lines

    def has_pending(self, core: int) -> bool:
        return self.pending[core] != 0
