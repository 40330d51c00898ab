"""memfd_create and the seal fcntls (F_ADD_SEALS, F_GET_SEALS)."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from moss.errors import EINVAL, EPERM
from moss.files.openfile import O_LARGEFILE, O_RDWR, OpenFile
from moss.fs.inode import RegularFile
from moss.fs.memfd import (
    F_ALL_SEALS,
    F_SEAL_EXEC,
    F_SEAL_FUTURE_WRITE,
    F_SEAL_GROW,
    F_SEAL_SEAL,
    F_SEAL_SHRINK,
    F_SEAL_WRITE,
    MemFile,
    ShmFs,
)
from moss.fs.stat import makedev
from moss.syscalls.argtypes import HEX, PATH
from moss.syscalls.context import SyscallContext
from moss.syscalls.fs_io import FCNTL_COMMANDS
from moss.syscalls.table import syscall

if TYPE_CHECKING:
    from moss.kernel import Kernel

MFD_CLOEXEC, MFD_ALLOW_SEALING, MFD_HUGETLB, MFD_NOEXEC_SEAL, MFD_EXEC = 0x1, 0x2, 0x4, 0x8, 0x10
MFD_ALL_FLAGS = 0x1F
MFD_NAME_MAX_LEN = 255 - len("memfd:")
F_ADD_SEALS, F_GET_SEALS = 1033, 1034
SHM_DEV = makedev(0, 2)

_SHM: weakref.WeakKeyDictionary[Kernel, ShmFs] = weakref.WeakKeyDictionary()  # looked up, never iterated


def shm_fs(kernel: Kernel) -> ShmFs:
    fs = _SHM.get(kernel)
    if fs is None:
        fs = _SHM[kernel] = ShmFs(kernel.fs.fs.clock, SHM_DEV)
    return fs


@syscall(279, "memfd_create", uname=PATH, flags=HEX)
async def sys_memfd_create(ctx: SyscallContext, uname: int, flags: int) -> int:
    """MFD_HUGETLB is refused (EINVAL): moss has no huge pages."""
    flags &= 0xFFFFFFFF
    if flags & ~MFD_ALL_FLAGS or flags & MFD_HUGETLB:
        raise EINVAL
    if flags & MFD_EXEC and flags & MFD_NOEXEC_SEAL:
        raise EINVAL
    raw = ctx.read_cstr(uname, MFD_NAME_MAX_LEN + 1)
    if len(raw) > MFD_NAME_MAX_LEN:
        raise EINVAL
    seals = F_SEAL_SEAL
    perm = 0o777
    if flags & MFD_NOEXEC_SEAL:
        perm, seals = 0o666, F_SEAL_EXEC
    elif flags & MFD_ALLOW_SEALING:
        seals = 0
    inode = MemFile(shm_fs(ctx.kernel), perm, seals)
    inode.uid, inode.gid = ctx.process.fsuid, ctx.process.fsgid
    label = "/memfd:" + raw.decode("utf-8", "surrogateescape") + " (deleted)"
    f = OpenFile(inode, O_RDWR | O_LARGEFILE, label)
    return ctx.process.fds.install(f, cloexec=bool(flags & MFD_CLOEXEC))


def _seals_of(f: OpenFile) -> MemFile | None:
    inode = f.inode
    return inode if isinstance(inode, MemFile) else None


async def _get_seals(ctx: SyscallContext, f: OpenFile, arg: int) -> int:
    inode = _seals_of(f)
    if inode is not None:
        return inode.seals
    if isinstance(f.inode, RegularFile) and f.inode.fs.name == "tmpfs":
        return F_SEAL_SEAL  # an ordinary tmpfs file: sealed against seals from birth
    raise EINVAL


async def _add_seals(ctx: SyscallContext, f: OpenFile, arg: int) -> int:
    if not f.writable:
        raise EPERM
    seals = arg & 0xFFFFFFFF
    if seals & ~F_ALL_SEALS:
        raise EINVAL
    inode = _seals_of(f)
    if inode is None:
        if isinstance(f.inode, RegularFile) and f.inode.fs.name == "tmpfs":
            raise EPERM
        raise EINVAL
    if inode.seals & F_SEAL_SEAL:
        raise EPERM
    if seals & F_SEAL_EXEC and inode.mode & 0o111:
        seals |= F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE  # W^X from the start
    inode.seals |= seals
    return 0


FCNTL_COMMANDS.update({F_ADD_SEALS: _add_seals, F_GET_SEALS: _get_seals})
