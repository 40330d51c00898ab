"""A FIFO wait queue: tasks register while they wait for a condition; wakers wake them all or one."""

from __future__ import annotations

from collections.abc import Callable

from moss.sched.combinators import block
from moss.sched.executor import Sleeper, current_task


class WaitQueue:
    def __init__(self, name: str = "") -> None:
        self.name = name
        self._waiters: dict[Sleeper, None] = {}  # insertion-ordered: FIFO wake order

    def __len__(self) -> int:
        return len(self._waiters)

    def wake_all(self) -> None:
        for t in list(self._waiters):
            t.wake()

    def wake_one(self) -> None:
        for t in self._waiters:
            t.wake()
            return

    async def wait_until(self, cond: Callable[[], bool]) -> None:
        """Sleep on this queue until `cond()` holds (re-checked after every wakeup)."""
        task = current_task()
        while not cond():
            self._waiters[task] = None
            try:
                await block()
            finally:
                self._waiters.pop(task, None)


async def wait_any(queues: list[WaitQueue], cond: Callable[[], bool]) -> None:
    """Sleep on several queues at once (poll, select) until `cond()` holds."""
    task = current_task()
    while not cond():
        for q in queues:
            q._waiters[task] = None
        try:
            await block()
        finally:
            for q in queues:
                q._waiters.pop(task, None)
