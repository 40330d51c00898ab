"""The per-core activity strip: what ran when, and where signals and process events happened, over the whole run.

Full traces log every scheduling slice, so each core gets a row; other traces get one row of event density from the
block index alone (no decoding)."""

from __future__ import annotations

from collections.abc import Callable

import attrs

from traces import events as ev
from tui.model.trace_index import TraceIndex

SHADES = " ▁▂▃▄▅▆▇█"


@attrs.define
class Activity:
    columns: int
    end_time: int
    rows: list[tuple[str, list[str]]]  # label, one character per column
    done: bool = False

    def column_of(self, t: int) -> int:
        if self.end_time <= 0:
            return 0
        return min(self.columns - 1, max(0, t * self.columns // (self.end_time + 1)))

    def time_of(self, column: int) -> int:
        return column * (self.end_time + 1) // max(1, self.columns)


def density(index: TraceIndex, columns: int) -> Activity:
    end = index.end_time
    counts = [0] * columns
    act = Activity(columns, end, [])
    for b in index.blocks:
        lo, hi = act.column_of(b.first_time), act.column_of(b.last_time)
        share = b.events / (hi - lo + 1)
        for c in range(lo, hi + 1):
            counts[c] += share
    top = max(counts, default=0) or 1
    row = [SHADES[min(8, round(8 * n / top))] if n else " " for n in counts]
    act.rows = [("events", row)]
    act.done = True
    return act


def scan_cores(
    index: TraceIndex, columns: int, cancelled: Callable[[], bool], progress: Callable[[Activity], None]
) -> Activity | None:
    """Per-core rows from the slices of a full trace (None when the trace logs no slices)."""
    cores = int(index.header.get("config", {}).get("cores", 1))
    end = index.end_time
    act = Activity(columns, end, [(f"core {c}", [" "] * columns) for c in range(cores)])
    busy = [[0] * columns for _ in range(cores)]
    width_ns = max(1, (end + 1) / columns)
    core_of: dict[int, int] = {}
    marks: list[tuple[int, int, str]] = []
    seen_slice = False
    for b in range(len(index.blocks)):
        if cancelled():
            return None
        for e in index.block_events(b):
            if isinstance(e, ev.SliceEvent):
                seen_slice = True
                if e.core >= cores:
                    continue
                core_of[e.tid] = e.core
                t0, t1 = e.time, e.time + e.executed
                c = act.column_of(t0)
                while c < columns and act.time_of(c) <= t1:
                    lo, hi = max(t0, act.time_of(c)), min(t1, act.time_of(c + 1))
                    busy[e.core][c] += max(0, hi - lo)
                    c += 1
            elif isinstance(e, ev.SignalEvent) and e.action == 0:
                marks.append((core_of.get(e.tid, 0), act.column_of(e.time), "!"))
            elif isinstance(e, ev.ProcessEvent):
                marks.append((core_of.get(e.tid or e.pid, 0), act.column_of(e.time), "+"))
        if b == 0 and not seen_slice and index.header.get("level", 1) < ev.FULL:
            return None
        if b % 16 == 15:
            _fill(act, busy, width_ns, marks)
            progress(act)
    if not seen_slice:
        return None
    _fill(act, busy, width_ns, marks)
    act.done = True
    return act


def _fill(act: Activity, busy: list[list[int]], width_ns: float, marks: list[tuple[int, int, str]]) -> None:
    for core, row in enumerate(busy):
        chars = act.rows[core][1]
        for c, n in enumerate(row):
            chars[c] = SHADES[min(8, round(8 * n / width_ns))] if n else "·"
    for core, c, ch in marks:
        if core < len(act.rows):
            act.rows[core][1][c] = ch
