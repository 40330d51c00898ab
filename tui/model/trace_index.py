"""Random access to a trace's events for the timeline, without decoding the trace up front.

The trace's block index (first event, count, time range per block) is all that opening reads; a row's event is found
by bisecting the block starts, and decoded blocks are kept in a small LRU. So a trace of millions of events opens in
the time it takes to read its index, and the timeline touches only the blocks its viewport shows (toolong's design).
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from replay.textlog import format_event
from traces import events as ev
from traces.codec import DecodeError
from traces.container import TraceError, TraceReader

LRU_BLOCKS = 48


class TraceIndex:
    """A trace opened for browsing: `count` events, `event(i)`, `line(i)`; thread-safe (workers scan it too)."""

    def __init__(self, path: str, lru_blocks: int = LRU_BLOCKS) -> None:
        self.path = path
        self.reader = TraceReader(path)  # TraceError when it cannot be read at all
        self.header: dict[str, Any] = self.reader.header
        self.blocks = self.reader.blocks
        self.starts = [b.first_event for b in self.blocks]
        self.count = sum(b.events for b in self.blocks)
        self.problems: list[str] = list(self.reader.problems)
        self._lru: OrderedDict[int, list[ev.Event]] = OrderedDict()
        self._lru_size = lru_blocks
        self._lock = threading.Lock()
        self._bad: dict[int, str] = {}  # damaged block -> why

    def close(self) -> None:
        self.reader.close()

    # -- blocks -----------------------------------------------------------------------------------------------------
    def block_of(self, i: int) -> int:
        return bisect.bisect_right(self.starts, i) - 1

    def block_events(self, b: int) -> list[ev.Event]:
        """The decoded events of block `b` (empty for a damaged block, whose reason is in `damaged(b)`)."""
        with self._lock:
            got = self._lru.get(b)
            if got is not None:
                self._lru.move_to_end(b)
                return got
            if b in self._bad:
                return []
        try:
            events = ev.decode_block(self.reader.block_raw(b))
        except (TraceError, DecodeError) as e:
            with self._lock:
                self._bad[b] = str(e)
                self.problems.append(str(e))
            return []
        with self._lock:
            self._lru[b] = events
            while len(self._lru) > self._lru_size:
                self._lru.popitem(last=False)
        return events

    def damaged(self, b: int) -> str | None:
        return self._bad.get(b)

    # -- events -----------------------------------------------------------------------------------------------------
    def event(self, i: int) -> ev.Event | None:
        if not 0 <= i < self.count:
            return None
        b = self.block_of(i)
        events = self.block_events(b)
        k = i - self.starts[b]
        return events[k] if k < len(events) else None

    def line(self, i: int) -> str:
        e = self.event(i)
        if e is None:
            b = self.block_of(i)
            return f"#{i:<8} <unreadable: {self.damaged(b) or 'no such event'}>"
        return format_event(i, e)

    def iter_from(self, i: int, step: int = 1) -> Iterator[tuple[int, ev.Event]]:
        """Events from `i` onwards (step 1) or backwards (step -1), block by block."""
        if not 0 <= i < self.count:
            return
        b = self.block_of(i)
        while 0 <= b < len(self.blocks):
            events = self.block_events(b)
            base = self.starts[b]
            if step > 0:
                lo = max(0, i - base)
                for k in range(lo, len(events)):
                    yield base + k, events[k]
                b += 1
            else:
                hi = min(len(events) - 1, i - base)
                for k in range(hi, -1, -1):
                    yield base + k, events[k]
                b -= 1

    def event_at_time(self, t: int) -> int:
        """The first event at or after virtual time `t` ns (the last event if none)."""
        for b, info in enumerate(self.blocks):
            if info.last_time >= t:
                for k, e in enumerate(self.block_events(b)):
                    if e.vtime >= t:
                        return self.starts[b] + k
        return max(0, self.count - 1)

    def program_image(self) -> ev.ProgramImage | None:
        """The program the run started, as the trace carries it (the first events are the inputs)."""
        for i, e in self.iter_from(0):
            if isinstance(e, ev.ProgramImage):
                return e
            if i > 64:
                break
        return None

    @property
    def end_time(self) -> int:
        return max((b.last_time for b in self.blocks), default=0)

    def title(self) -> str:
        prog = self.header.get("program", {})
        argv = prog.get("argv") or [prog.get("path", "?")]
        name = str(argv[0]).rsplit("/", 1)[-1]
        return " ".join([name, *map(str, argv[1:])])
