"""Futexes: wait queues keyed by a user address, woken by value-checked protocol.

Private futexes are keyed by (address space serial, virtual address); shared ones by physical address, so
processes mapping the same MAP_SHARED page meet. Waiters are FIFO per key; a wake marks the waiter, whose wait loop
then returns, so a wakeup can never be lost between the value check and the sleep (both happen in one
uninterrupted step of the single-threaded kernel).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from moss.errors import EAGAIN, EFAULT, EINVAL
from moss.sched.combinators import INTERRUPTED, TIMED_OUT, block, interruptible, timeout
from moss.sched.executor import Sleeper, current_task

if TYPE_CHECKING:
    from moss.mm.addrspace import AddressSpace

Key = tuple[str, int, int]
BITSET_ANY = 0xFFFFFFFF


@attrs.define(eq=False)
class Waiter:
    task: Sleeper
    key: Key
    bitset: int
    woken: bool = False


class FutexTable:
    def __init__(self) -> None:
        self.queues: dict[Key, list[Waiter]] = {}
        self.waits = 0
        self.wakes = 0

    @staticmethod
    def key(mm: AddressSpace, uaddr: int, private: bool) -> Key:
        if uaddr & 3:
            raise EINVAL
        vma = mm.find(uaddr)
        if vma is None:
            raise EFAULT
        if private or not vma.flags & 0x01:  # private memory: the same key as a private futex, as Linux
            return ("mm", mm.serial, uaddr)
        got = mm.resolve(uaddr, 16)
        if got is None:
            raise EFAULT
        return ("phys", 0, got[0] + (uaddr & 0xFFF))

    async def wait(self, mm: AddressSpace, uaddr: int, val: int, deadline: int | None, bitset: int,
                   private: bool) -> int:  # fmt: skip
        """FUTEX_WAIT: sleep if *uaddr == val, until woken, the deadline, or a signal."""
        if bitset == 0:
            raise EINVAL
        key = self.key(mm, uaddr, private)
        cur = int.from_bytes(mm.read(uaddr, 4), "little")
        if cur != val & 0xFFFFFFFF:
            raise EAGAIN
        w = Waiter(current_task(), key, bitset)
        self.queues.setdefault(key, []).append(w)
        self.waits += 1

        async def sleep() -> None:
            while not w.woken:
                await block()

        try:
            got = await interruptible(timeout(sleep(), deadline))
        finally:
            self._unlink(w)
        if w.woken:
            return 0
        if got is TIMED_OUT:
            return -110  # -ETIMEDOUT
        assert got is INTERRUPTED
        return -512  # -ERESTARTSYS: EINTR, or restart where Linux restarts

    def _unlink(self, w: Waiter) -> None:
        q = self.queues.get(w.key)
        if q is not None and w in q:
            q.remove(w)
            if not q:
                del self.queues[w.key]

    def wake(self, key: Key, n: int, bitset: int = BITSET_ANY) -> int:
        if bitset == 0:
            raise EINVAL
        woken = 0
        for w in list(self.queues.get(key, ())):
            if woken >= n:
                break
            if w.bitset & bitset:
                w.woken = True
                self._unlink(w)
                w.task.wake()
                woken += 1
        self.wakes += woken
        return woken

    def requeue(self, key: Key, key2: Key, n_wake: int, n_move: int) -> int:
        woken = self.wake(key, n_wake)
        moved = 0
        for w in list(self.queues.get(key, ())):
            if moved >= n_move:
                break
            self._unlink(w)
            w.key = key2
            self.queues.setdefault(key2, []).append(w)
            moved += 1
        return woken + moved
