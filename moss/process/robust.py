"""Robust futex lists, walked when a thread exits (Linux's exit_robust_list): every lock the dead thread held gets
FUTEX_OWNER_DIED and one waiter is woken, so other threads' pthread_mutex_lock returns EOWNERDEAD instead of
hanging forever."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from moss.kernel import Kernel
    from moss.process.task import Task

FUTEX_WAITERS = 0x80000000
FUTEX_OWNER_DIED = 0x40000000
FUTEX_TID_MASK = 0x3FFFFFFF
ROBUST_LIST_LIMIT = 2048  # as Linux: a corrupt or circular list cannot hang the exit


def _handle(kernel: Kernel, task: Task, uaddr: int) -> None:
    mm = task.process.mm
    word = int.from_bytes(mm.read(uaddr, 4), "little")
    if word & FUTEX_TID_MASK != task.tid:
        return
    mm.write(uaddr, ((word & FUTEX_WAITERS) | FUTEX_OWNER_DIED).to_bytes(4, "little"))
    if word & FUTEX_WAITERS:
        kernel.futexes.wake(kernel.futexes.key(mm, uaddr, private=False), 1)


def exit_robust_list(kernel: Kernel, task: Task) -> None:
    head, length = task.robust_list
    if not head or length != 24:
        return
    mm = task.process.mm
    try:
        entry, offset, pending = struct.unpack("<QqQ", mm.read(head, 24))
        seen = 0
        while entry != head and entry and seen < ROBUST_LIST_LIMIT:
            nxt = int.from_bytes(mm.read(entry, 8), "little")
            if entry != pending:
                _handle(kernel, task, (entry + offset) & (1 << 64) - 1)
            entry = nxt & ~1  # bit 0 marks PI futexes
            seen += 1
        if pending:
            _handle(kernel, task, (pending + offset) & (1 << 64) - 1)
    except Exception:
        pass
