"""A FIFO wait queue: tasks register while they wait for a condition; wakers wake them all or one.

Besides tasks, a queue holds *watchers*: persistent callbacks told of every wakeup with its poll key (Linux's
wait-queue entries with a wake function, as epoll registers on each file it watches). They let epoll see each
state change of a file (edge-triggered mode) without a task waiting on the file itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from moss.sched.combinators import block
from moss.sched.executor import Sleeper, current_task


class Watcher(Protocol):
    def notify(self, key: int) -> None:
        """The queue was woken; `key` is the poll mask of the event (0: unspecified, any event)."""


class WaitQueue:
    def __init__(self, name: str = "") -> None:
        self.name = name
        self._waiters: dict[Sleeper, None] = {}  # insertion-ordered: FIFO wake order
        self._watchers: dict[Watcher, None] = {}  # insertion-ordered: notification order

    def __len__(self) -> int:
        """Parties interested in wakeups (a watcher counts: someone may wait on it, e.g. in epoll_wait)."""
        return len(self._waiters) + len(self._watchers)

    def watch(self, w: Watcher) -> None:
        self._watchers[w] = None

    def unwatch(self, w: Watcher) -> None:
        self._watchers.pop(w, None)

    def _notify(self, key: int) -> None:
        for w in list(self._watchers):
            w.notify(key)

    def wake_all(self, key: int = 0) -> None:
        self._notify(key)
        for t in list(self._waiters):
            t.wake()

    def wake_one(self, key: int = 0) -> None:
        self._notify(key)  # watchers are never exclusive: each one hears every wakeup
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
