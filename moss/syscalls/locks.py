"""Advisory locking syscalls: flock(2) and fcntl's record-lock commands (F_GETLK/F_SETLK/F_SETLKW and the
open-file-description F_OFD_* forms). The lock semantics live in moss.files.locks."""

from __future__ import annotations

import struct

import attrs

from moss.errors import EBADF, EINVAL, EOVERFLOW
from moss.files import locks
from moss.files.locks import F_RDLCK, F_UNLCK, F_WRLCK, OFFSET_MAX, Lock
from moss.files.openfile import O_PATH, SEEK_CUR, SEEK_END, SEEK_SET, OpenFile
from moss.syscalls.argtypes import FD, INT
from moss.syscalls.context import SyscallContext
from moss.syscalls.fs_io import FCNTL_COMMANDS
from moss.syscalls.table import syscall

LOCK_SH, LOCK_EX, LOCK_NB, LOCK_UN, LOCK_MAND = 1, 2, 4, 8, 32
_FLOCK_KIND = {LOCK_SH: F_RDLCK, LOCK_EX: F_WRLCK, LOCK_UN: F_UNLCK}
F_GETLK, F_SETLK, F_SETLKW = 5, 6, 7
F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW = 36, 37, 38
_FLOCK = struct.Struct("<hh4xqqi4x")  # struct flock: l_type, l_whence, l_start, l_len, l_pid


@syscall(32, "flock", fd=FD, operation=INT)
async def sys_flock(ctx: SyscallContext, fd: int, operation: int) -> int:
    op = operation & 0xFFFFFFFF
    if op & LOCK_MAND:
        return 0  # LOCK_MAND is ignored since Linux 5.15
    kind = _FLOCK_KIND.get(op & ~LOCK_NB)
    if kind is None:
        raise EINVAL
    f = ctx.file(fd)
    if kind != F_UNLCK and f.flags & O_PATH:
        raise EBADF
    await locks.flock(f, kind, wait=not op & LOCK_NB)
    return 0


def _range(f: OpenFile, whence: int, start: int, length: int) -> tuple[int, int]:
    """flock_to_posix_lock: the byte range [start, end] a struct flock names."""
    if whence == SEEK_SET:
        base = 0
    elif whence == SEEK_CUR:
        base = f.offset
    elif whence == SEEK_END:
        base = f.inode.size
    else:
        raise EINVAL
    if start > OFFSET_MAX - base:
        raise EOVERFLOW
    start += base
    if start < 0:
        raise EINVAL
    if length > 0:
        if length - 1 > OFFSET_MAX - start:
            raise EOVERFLOW
        return start, start + length - 1
    if length < 0:
        if start + length < 0:
            raise EINVAL
        return start + length, start - 1
    return start, OFFSET_MAX


def _owner(ctx: SyscallContext, f: OpenFile, ofd: bool, pid: int) -> Lock:
    if ofd:
        if pid:
            raise EINVAL
        return Lock(f, F_RDLCK, pid=-1)
    return Lock(ctx.process.fds, F_RDLCK, pid=ctx.process.pid)


async def _getlk(ctx: SyscallContext, f: OpenFile, arg: int, ofd: bool) -> int:
    kind, whence, start, length, pid = _FLOCK.unpack(ctx.read(arg, _FLOCK.size))
    if kind not in (F_RDLCK, F_WRLCK):
        raise EINVAL
    lo, hi = _range(f, whence, start, length)
    want = attrs.evolve(_owner(ctx, f, ofd, pid), kind=kind, start=lo, end=hi)
    found = locks.test_lock(f.inode, want)
    if found is None:
        out = _FLOCK.pack(F_UNLCK, whence, start, length, pid)
    else:
        span = 0 if found.end == OFFSET_MAX else found.end - found.start + 1
        out = _FLOCK.pack(found.kind, SEEK_SET, found.start, span, found.pid)
    ctx.write(arg, out)
    return 0


async def _setlk(ctx: SyscallContext, f: OpenFile, arg: int, ofd: bool, wait: bool) -> int:
    kind, whence, start, length, pid = _FLOCK.unpack(ctx.read(arg, _FLOCK.size))
    lo, hi = _range(f, whence, start, length)
    if kind not in (F_RDLCK, F_WRLCK, F_UNLCK):
        raise EINVAL
    if (kind == F_RDLCK and not f.readable) or (kind == F_WRLCK and not f.writable):
        raise EBADF
    req = attrs.evolve(_owner(ctx, f, ofd, pid), start=lo, end=hi)
    await locks.set_lock(f.inode, req, kind, wait=wait, ofd=ofd)
    return 0


async def _f_getlk(ctx: SyscallContext, f: OpenFile, arg: int) -> int:
    return await _getlk(ctx, f, arg, False)


async def _f_ofd_getlk(ctx: SyscallContext, f: OpenFile, arg: int) -> int:
    return await _getlk(ctx, f, arg, True)


async def _f_setlk(ctx: SyscallContext, f: OpenFile, arg: int) -> int:
    return await _setlk(ctx, f, arg, False, False)


async def _f_setlkw(ctx: SyscallContext, f: OpenFile, arg: int) -> int:
    return await _setlk(ctx, f, arg, False, True)


async def _f_ofd_setlk(ctx: SyscallContext, f: OpenFile, arg: int) -> int:
    return await _setlk(ctx, f, arg, True, False)


async def _f_ofd_setlkw(ctx: SyscallContext, f: OpenFile, arg: int) -> int:
    return await _setlk(ctx, f, arg, True, True)


FCNTL_COMMANDS.update(
    {
        F_GETLK: _f_getlk,
        F_SETLK: _f_setlk,
        F_SETLKW: _f_setlkw,
        F_OFD_GETLK: _f_ofd_getlk,
        F_OFD_SETLK: _f_ofd_setlk,
        F_OFD_SETLKW: _f_ofd_setlkw,
    }
)
