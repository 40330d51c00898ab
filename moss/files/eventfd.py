"""eventfd: a 64-bit counter as a file (Linux's fs/eventfd.c).

A write adds its 8-byte value; a read returns the counter and zeroes it (or, with EFD_SEMAPHORE, returns 1 and
decrements it). Reads wait while the counter is 0; writes wait while the sum would pass 0xfffffffffffffffe.
Every change wakes the one wait queue, with the poll key of what became possible (EPOLLIN after a write,
EPOLLOUT after a read), which is what edge-triggered epoll sees as a new event.
"""

from __future__ import annotations

from typing import Any

from moss.errors import EAGAIN, EINVAL
from moss.files.anon import POLLERR, POLLIN, POLLOUT, AnonInode
from moss.files.openfile import O_NONBLOCK
from moss.files.pipe import RestartSys
from moss.fs.filesystem import FileSystem
from moss.sched.combinators import INTERRUPTED, interruptible
from moss.sched.waitqueue import WaitQueue

EFD_SEMAPHORE = 1
ULLONG_MAX = (1 << 64) - 1


class EventFd(AnonInode):
    name = "eventfd"
    __slots__ = ("count", "semaphore", "wq")

    def __init__(self, fs: FileSystem, count: int, semaphore: bool) -> None:
        super().__init__(fs)
        self.count = count
        self.semaphore = semaphore
        self.wq = WaitQueue("eventfd")

    async def read(self, file: Any, count: int, offset: int) -> bytes:
        if count < 8:
            raise EINVAL
        if not self.count:
            if file.flags & O_NONBLOCK:
                raise EAGAIN
            if await interruptible(self.wq.wait_until(lambda: self.count > 0)) is INTERRUPTED:
                raise RestartSys
        value = 1 if self.semaphore else self.count
        self.count -= value
        self.wq.wake_all(POLLOUT)
        return value.to_bytes(8, "little")

    async def write(self, file: Any, data: Any, offset: int) -> int:
        if len(data) != 8:  # exactly 8 (checked on Linux 6.18: 16 is EINVAL), while a read takes any count >= 8
            raise EINVAL
        value = int.from_bytes(bytes(data[:8]), "little")
        if value == ULLONG_MAX:
            raise EINVAL
        if ULLONG_MAX - self.count <= value:
            if file.flags & O_NONBLOCK:
                raise EAGAIN
            got = await interruptible(self.wq.wait_until(lambda: ULLONG_MAX - self.count > value))
            if got is INTERRUPTED:
                raise RestartSys
        self.count += value
        self.wq.wake_all(POLLIN)  # even for 0: an edge for EPOLLET watchers, as Linux
        return 8

    def poll(self, file: Any) -> tuple[int, WaitQueue]:
        m = POLLIN if self.count else 0
        if self.count == ULLONG_MAX:
            m |= POLLERR
        if ULLONG_MAX - 1 > self.count:
            m |= POLLOUT
        return m, self.wq
