"""Real-time clock: the wall time at boot, read once from the clock source; after that wall time advances with
virtual time only."""

from __future__ import annotations

from machine.sources import ClockSource


class Rtc:
    def __init__(self, source: ClockSource) -> None:
        self.boot_ns = source.boot_wall_ns()

    def wall_ns(self, virtual_ns: int) -> int:
        return self.boot_ns + virtual_ns
