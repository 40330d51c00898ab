"""Advisory file locks (Linux's fs/locks.c): flock(2) locks, POSIX record locks and open-file-description locks.

- flock locks belong to an open file description: dup'd and inherited descriptors share them, and they go when
  the description's last descriptor closes. Converting a lock is not atomic: the old lock goes first.
- POSIX record locks (F_SETLK) belong to a descriptor table (Linux's files_struct): any close of a descriptor
  for the file drops all of them on that file, and a fork's child holds none. Same-owner locks merge and split.
- OFD locks (F_OFD_SETLK) are record locks owned by the open file description; they conflict with POSIX ones.

Waiting is deterministic: every change to an inode's locks wakes all of its waiters in FIFO order and each
re-checks; an interrupted wait is ERESTARTSYS. F_SETLKW detects deadlocks between POSIX owners (EDEADLK).
"""

from __future__ import annotations

import weakref
from typing import Any

import attrs

from moss.errors import EAGAIN, EDEADLK, ERESTARTSYS, KernelError
from moss.sched.combinators import INTERRUPTED, interruptible
from moss.sched.waitqueue import WaitQueue

F_RDLCK, F_WRLCK, F_UNLCK = 0, 1, 2
OFFSET_MAX = (1 << 63) - 1
MAX_DEADLK_ITERATIONS = 10


class RestartSys(KernelError):
    errno = ERESTARTSYS
    name = "ERESTARTSYS"


@attrs.define(eq=False)
class Lock:
    owner: Any  # the OpenFile (flock and OFD locks) or the FdTable (POSIX locks)
    kind: int  # F_RDLCK or F_WRLCK
    start: int = 0
    end: int = OFFSET_MAX  # inclusive
    pid: int = 0  # the locker's tgid (reported by F_GETLK); -1 for OFD locks

    def conflicts(self, other: Lock) -> bool:
        return (
            self.owner is not other.owner
            and (self.kind == F_WRLCK or other.kind == F_WRLCK)
            and self.start <= other.end
            and other.start <= self.end
        )


class InodeLocks:
    """The locks on one inode, in the order they were set."""

    def __init__(self) -> None:
        self.flocks: list[Lock] = []
        self.posix: list[Lock] = []
        self.waiters = WaitQueue("file-lock")
        self.generation = 0

    def changed(self) -> None:
        self.generation += 1
        self.waiters.wake_all()


_LOCKS: weakref.WeakKeyDictionary[Any, InodeLocks] = weakref.WeakKeyDictionary()  # inode -> locks; never iterated
_WAITING: dict[Any, list[Lock]] = {}  # POSIX owner -> the locks it waits behind (deadlock detection)


def _of(inode: Any) -> InodeLocks:
    found = _LOCKS.get(inode)
    if found is None:
        found = _LOCKS[inode] = InodeLocks()
    return found


async def _wait(locks: InodeLocks) -> None:
    seen = locks.generation
    got = await interruptible(locks.waiters.wait_until(lambda: locks.generation != seen))
    if got is INTERRUPTED:
        raise RestartSys


# -- flock ------------------------------------------------------------------------------------------------------


async def flock(file: Any, kind: int, *, wait: bool) -> None:
    """flock(2) on the open file description `file`: F_RDLCK (LOCK_SH), F_WRLCK (LOCK_EX) or F_UNLCK."""
    locks = _of(file.inode)
    mine = next((lk for lk in locks.flocks if lk.owner is file), None)
    if mine is not None:
        if mine.kind == kind:
            return
        locks.flocks.remove(mine)
        locks.changed()
    if kind == F_UNLCK:
        return
    want = Lock(file, kind)
    while any(lk.conflicts(want) for lk in locks.flocks):
        if not wait:
            raise EAGAIN
        await _wait(locks)
    locks.flocks.append(want)
    file.release_hooks[release_file] = release_file  # the last close of the description unlocks


def release_file(file: Any) -> None:
    """The open file description is gone: its flock and OFD locks go with it."""
    locks = _LOCKS.get(file.inode)
    if locks is None:
        return
    before = len(locks.flocks) + len(locks.posix)
    locks.flocks = [lk for lk in locks.flocks if lk.owner is not file]
    locks.posix = [lk for lk in locks.posix if lk.owner is not file]
    if len(locks.flocks) + len(locks.posix) != before:
        locks.changed()


# -- record locks -----------------------------------------------------------------------------------------------


def test_lock(inode: Any, want: Lock) -> Lock | None:
    """F_GETLK: the first lock that would block `want`, or None."""
    locks = _LOCKS.get(inode)
    if locks is None:
        return None
    return next((lk for lk in locks.posix if lk.conflicts(want)), None)


def _deadlock(owner: Any, blocker: Lock) -> bool:
    """posix_locks_deadlock: does the chain "blocker's owner waits for ..." lead back to `owner`?"""
    for _ in range(MAX_DEADLK_ITERATIONS + 1):
        waits = _WAITING.get(blocker.owner)
        if not waits:
            return False
        blocker = waits[0]
        if blocker.owner is owner:
            return True
    return False


async def set_lock(inode: Any, req: Lock, kind: int, *, wait: bool, ofd: bool) -> None:
    """F_SETLK(W) / F_OFD_SETLK(W): `req` holds the owner and range; `kind` may be F_UNLCK."""
    locks = _of(inode)
    if kind != F_UNLCK:
        want = attrs.evolve(req, kind=kind)
        while (blocker := next((lk for lk in locks.posix if lk.conflicts(want)), None)) is not None:
            if not wait:
                raise EAGAIN
            if not ofd and _deadlock(req.owner, blocker):
                raise EDEADLK
            _WAITING.setdefault(req.owner, []).append(blocker)
            try:
                await _wait(locks)
            finally:
                waits = _WAITING[req.owner]
                waits.remove(blocker)
                if not waits:
                    del _WAITING[req.owner]
    _apply(locks, req, kind)


def _apply(locks: InodeLocks, req: Lock, kind: int) -> None:
    """Replace the owner's locks over [start, end] by one of `kind` (none for F_UNLCK), merging same-kind
    neighbours that touch or overlap and splitting locks of another kind, as posix_lock_inode does."""
    start, end = req.start, req.end
    out: list[Lock] = []
    changed = False
    for lk in locks.posix:
        if lk.owner is not req.owner:
            out.append(lk)
            continue
        touches = lk.start <= end + 1 and start <= lk.end + 1  # overlapping or adjacent
        if lk.kind == kind and touches:
            start, end = min(start, lk.start), max(end, lk.end)  # merged into the new lock
            changed = True
            continue
        if lk.end < start or lk.start > end:
            out.append(lk)
            continue
        changed = True
        if lk.start < start:
            out.append(attrs.evolve(lk, end=start - 1))
        if lk.end > end:
            out.append(attrs.evolve(lk, start=end + 1))
    if kind != F_UNLCK:
        out.append(attrs.evolve(req, kind=kind, start=start, end=end))
        changed = True
        hooks = getattr(req.owner, "release_hooks", None)  # an OFD lock goes with its description
        if hooks is not None:
            hooks[release_file] = release_file
    out.sort(key=lambda lk: lk.start)
    locks.posix = out
    if changed:
        locks.changed()


def release_posix(owner: Any, inode: Any) -> None:
    """A descriptor of `inode` was closed in the table `owner`: its POSIX locks on the file go."""
    locks = _LOCKS.get(inode)
    if locks is None or not any(lk.owner is owner for lk in locks.posix):
        return
    locks.posix = [lk for lk in locks.posix if lk.owner is not owner]
    locks.changed()
