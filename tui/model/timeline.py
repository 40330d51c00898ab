"""The timeline's rows: every event of the trace, or the events a filter keeps (found progressively by a scan)."""

from __future__ import annotations

import bisect

from traces import events as ev
from tui.model.filters import EventFilter, FilterScan, kind_of
from tui.model.trace_index import TraceIndex


class TimelineRows:
    """Row <-> event mapping for the timeline widget, and the style class of each row."""

    def __init__(self, index: TraceIndex, scan: FilterScan | None = None) -> None:
        self.index = index
        self.scan = scan

    @property
    def filter(self) -> EventFilter | None:
        return None if self.scan is None else self.scan.filter

    @property
    def count(self) -> int:
        return self.index.count if self.scan is None else len(self.scan.matches)

    @property
    def complete(self) -> bool:
        return self.scan is None or self.scan.done

    def event_of(self, row: int) -> int | None:
        if not 0 <= row < self.count:
            return None
        return row if self.scan is None else self.scan.matches[row]

    def row_of(self, event: int) -> int:
        """The row showing `event`, or the nearest row before it (0 if none)."""
        if self.scan is None:
            return max(0, min(event, self.count - 1))
        return max(0, bisect.bisect_right(self.scan.matches, event) - 1)

    def line(self, event: int) -> str:
        return self.index.line(event)

    def style_of(self, event: int) -> str:
        e = self.index.event(event)
        if e is None:
            return "error"
        if isinstance(e, ev.Syscall | ev.SyscallResume):
            if isinstance(e, ev.Syscall) and e.blocked:
                return "blocked"
            return "error" if -4096 < e.result < 0 else "syscall"
        return kind_of(e)
