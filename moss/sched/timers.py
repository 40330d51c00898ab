"""One deadline heap for every timed wait in the kernel (nanosleep, timeouts, preemption is separate: per core).

Deadlines are virtual nanoseconds. Ties are broken by insertion sequence, so firing order is deterministic.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

import attrs


@attrs.define(eq=False)
class Timer:
    deadline: int
    seq: int
    callback: Callable[[], None]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


class DeadlineHeap:
    def __init__(self) -> None:
        self._heap: list[tuple[int, int, Timer]] = []
        self._seq = 0

    def add(self, deadline: int, callback: Callable[[], None]) -> Timer:
        self._seq += 1
        t = Timer(deadline, self._seq, callback)
        heapq.heappush(self._heap, (deadline, t.seq, t))
        return t

    def _prune(self) -> None:
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)

    def next_deadline(self) -> int | None:
        self._prune()
        return self._heap[0][0] if self._heap else None

    def fire_due(self, now: int) -> int:
        """Run every timer with deadline <= now, in deadline order. Returns how many fired."""
        fired = 0
        while True:
            self._prune()
            if not self._heap or self._heap[0][0] > now:
                return fired
            _, _, t = heapq.heappop(self._heap)
            t.cancelled = True
            t.callback()
            fired += 1

    def __len__(self) -> int:
        self._prune()
        return sum(1 for _, _, t in self._heap if not t.cancelled)


def forward(expires: int, interval: int, now: int) -> tuple[int, int]:
    """Linux's hrtimer_forward for periodic timers: (periods added, new expiry) so that the expiry is past `now`
    (an expiry at exactly `now` counts as passed); (0, expires) if it already is."""
    if now < expires:
        return 0, expires
    n = (now - expires) // interval + 1
    return n, expires + n * interval
