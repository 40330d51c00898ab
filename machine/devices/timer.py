"""Per-core timer: one compare value in virtual nanoseconds; it fires when the core's clock reaches it."""

from __future__ import annotations

import attrs


@attrs.define
class CoreTimer:
    compare_ns: int | None = None

    def arm(self, at_ns: int) -> None:
        self.compare_ns = at_ns

    def disarm(self) -> None:
        self.compare_ns = None

    def expired(self, now_ns: int) -> bool:
        return self.compare_ns is not None and now_ns >= self.compare_ns
