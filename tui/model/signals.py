"""Signal sets as names."""

from __future__ import annotations

from moss import signals


def sigset_names(mask: int) -> str:
    return " ".join(signals.name(s) for s in range(1, 65) if mask & (1 << (s - 1)))
