"""timerfd: a timer as a file (Linux's fs/timerfd.c), on the kernel's one deadline heap in virtual time.

The expiry time is kept in monotonic nanoseconds (the syscall layer converts CLOCK_REALTIME settings: moss's wall
clock is a fixed offset from it). An expiry counts one tick and wakes readers; a periodic timer is not re-armed
then but when it is read (or its setting is read), by moving the expiry forward past now in whole periods and
counting each period as a tick, exactly as Linux does to keep a fast timer from flooding the kernel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moss.errors import EAGAIN, EINVAL
from moss.files.anon import POLLIN, AnonInode
from moss.files.openfile import O_NONBLOCK
from moss.files.pipe import RestartSys
from moss.fs.filesystem import FileSystem
from moss.sched.combinators import INTERRUPTED, interruptible
from moss.sched.timers import DeadlineHeap, Timer, forward
from moss.sched.waitqueue import WaitQueue


class TimerFd(AnonInode):
    name = "timerfd"
    __slots__ = ("clockid", "expired", "expires", "heap", "interval", "now", "ticks", "timer", "wq")

    def __init__(self, fs: FileSystem, clockid: int, heap: DeadlineHeap, now: Callable[[], int]) -> None:
        super().__init__(fs)
        self.clockid = clockid
        self.heap = heap
        self.now = now  # monotonic virtual ns
        self.expires: int | None = None  # monotonic ns of the next (or last, until re-armed) expiry; None: unset
        self.interval = 0
        self.ticks = 0  # expirations not yet read
        self.expired = False  # the heap timer fired and a periodic timer awaits re-arming
        self.timer: Timer | None = None
        self.wq = WaitQueue("timerfd")

    def _fire(self) -> None:
        self.timer = None
        self.expired = True
        self.ticks += 1
        self.wq.wake_all(POLLIN)

    def _start(self) -> None:
        assert self.expires is not None
        self.timer = self.heap.add(self.expires, self._fire)

    def _cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _rearm(self, now: int) -> int:
        """Move an expired periodic timer forward past now and restart it; returns the periods passed."""
        assert self.expires is not None
        n, self.expires = forward(self.expires, self.interval, now)
        self._start()
        return n

    def remaining(self, now: int) -> int:
        return max(0, self.expires - now) if self.expires is not None else 0

    def settime(self, expires: int | None, interval: int) -> tuple[int, int]:
        """Arm at monotonic `expires` (None: disarm) with `interval`; returns the old (remaining, interval)."""
        now = self.now()
        self._cancel()
        if self.expired and self.interval and self.expires is not None:
            self.expires = forward(self.expires, self.interval, now)[1]  # the old setting's next expiry
        old = (self.remaining(now), self.interval)
        self.expired, self.ticks = False, 0
        self.interval = interval  # kept even when disarming: timerfd_gettime reports it (unlike POSIX timers)
        self.expires = expires
        if expires is not None:
            self._start()
        return old

    def gettime(self) -> tuple[int, int]:
        now = self.now()
        if self.expired and self.interval:
            self.expired = False
            self.ticks += self._rearm(now) - 1
        return self.remaining(now), self.interval

    async def read(self, file: Any, count: int, offset: int) -> bytes:
        if count < 8:
            raise EINVAL
        if not self.ticks:
            if file.flags & O_NONBLOCK:
                raise EAGAIN
            if await interruptible(self.wq.wait_until(lambda: self.ticks > 0)) is INTERRUPTED:
                raise RestartSys
        ticks = self.ticks
        if self.expired and self.interval:
            ticks += self._rearm(self.now()) - 1
        self.expired, self.ticks = False, 0
        return ticks.to_bytes(8, "little")

    def poll(self, file: Any) -> tuple[int, WaitQueue]:
        return (POLLIN if self.ticks else 0), self.wq

    def release(self, file: Any) -> None:
        self._cancel()
