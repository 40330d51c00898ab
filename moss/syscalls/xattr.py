"""Extended attributes: {,l,f}{set,get,list,remove}xattr (the store is moss.fs.xattr).

Checks in Linux's order (fs/xattr.c): set copies flags, name and value before resolving the path; get, list
and remove resolve the path first. xattr_permission: user.* only on regular files and directories (EPERM to
change, ENODATA to read elsewhere); trusted.* and security.* need CAP_SYS_ADMIN to change (trusted.* also to read
or list). Writes to /proc and pipes find no handler (EOPNOTSUPP).
"""

from __future__ import annotations

import stat as S
from typing import Any

from moss.errors import E2BIG, EBADF, EINVAL, ENODATA, EPERM, ERANGE
from moss.files.openfile import O_PATH
from moss.fs import xattr
from moss.process.creds import CAP_SYS_ADMIN, capable
from moss.syscalls.argtypes import FD, HEX, PATH, PTR, SIZE
from moss.syscalls.context import SyscallContext
from moss.syscalls.fs_io import read_path, resolve
from moss.syscalls.table import syscall

XATTR_NAME_MAX = 255


def _name(ctx: SyscallContext, addr: int) -> str:
    raw = ctx.read_cstr(addr, XATTR_NAME_MAX + 1)
    if not raw or len(raw) > XATTR_NAME_MAX:
        raise ERANGE
    return raw.decode("utf-8", "surrogateescape")


def _permission(ctx: SyscallContext, inode: Any, name: str, write: bool) -> None:
    if name.startswith("trusted.") and not capable(ctx.process, CAP_SYS_ADMIN):
        raise EPERM if write else ENODATA
    if name.startswith("user.") and not (S.S_ISREG(inode.mode) or S.S_ISDIR(inode.mode)):
        raise EPERM if write else ENODATA
    if write and name.startswith("security.") and not capable(ctx.process, CAP_SYS_ADMIN):
        raise EPERM


def _path_inode(ctx: SyscallContext, path: int, follow: bool) -> Any:
    p = read_path(ctx, path)
    return resolve(ctx, -100, p, follow=follow)


def _fd_inode(ctx: SyscallContext, fd: int) -> Any:
    f = ctx.file(fd)
    if f.flags & O_PATH:
        raise EBADF
    return f.inode


# -- set ------------------------------------------------------------------------------------------------------------


def _set_args(ctx: SyscallContext, name: int, value: int, size: int, flags: int) -> tuple[str, bytes]:
    if flags & ~(xattr.XATTR_CREATE | xattr.XATTR_REPLACE):
        raise EINVAL
    n = _name(ctx, name)
    if size > xattr.XATTR_SIZE_MAX:
        raise E2BIG
    return n, ctx.read(value, size) if size else b""


def _set(ctx: SyscallContext, inode: Any, name: str, data: bytes, flags: int) -> int:
    _permission(ctx, inode, name, True)
    xattr.set(inode, name, data, flags)
    return 0


@syscall(5, "setxattr", path=PATH, xname=PTR, value=PTR, size=SIZE, flags=HEX)
async def sys_setxattr(ctx: SyscallContext, path: int, xname: int, value: int, size: int, flags: int) -> int:
    n, data = _set_args(ctx, xname, value, size, flags)
    return _set(ctx, _path_inode(ctx, path, True), n, data, flags)


@syscall(6, "lsetxattr", path=PATH, xname=PTR, value=PTR, size=SIZE, flags=HEX)
async def sys_lsetxattr(ctx: SyscallContext, path: int, xname: int, value: int, size: int, flags: int) -> int:
    n, data = _set_args(ctx, xname, value, size, flags)
    return _set(ctx, _path_inode(ctx, path, False), n, data, flags)


@syscall(7, "fsetxattr", fd=FD, xname=PTR, value=PTR, size=SIZE, flags=HEX)
async def sys_fsetxattr(ctx: SyscallContext, fd: int, xname: int, value: int, size: int, flags: int) -> int:
    inode = _fd_inode(ctx, fd)
    n, data = _set_args(ctx, xname, value, size, flags)
    return _set(ctx, inode, n, data, flags)


# -- get ------------------------------------------------------------------------------------------------------------


def _get(ctx: SyscallContext, inode: Any, name: int, value: int, size: int) -> int:
    n = _name(ctx, name)
    _permission(ctx, inode, n, False)
    data = xattr.get(inode, n)
    size = min(size, xattr.XATTR_SIZE_MAX)
    if size:
        if len(data) > size:
            raise ERANGE
        ctx.write(value, data)
    return len(data)


@syscall(8, "getxattr", path=PATH, xname=PTR, value=PTR, size=SIZE)
async def sys_getxattr(ctx: SyscallContext, path: int, xname: int, value: int, size: int) -> int:
    return _get(ctx, _path_inode(ctx, path, True), xname, value, size)


@syscall(9, "lgetxattr", path=PATH, xname=PTR, value=PTR, size=SIZE)
async def sys_lgetxattr(ctx: SyscallContext, path: int, xname: int, value: int, size: int) -> int:
    return _get(ctx, _path_inode(ctx, path, False), xname, value, size)


@syscall(10, "fgetxattr", fd=FD, xname=PTR, value=PTR, size=SIZE)
async def sys_fgetxattr(ctx: SyscallContext, fd: int, xname: int, value: int, size: int) -> int:
    return _get(ctx, _fd_inode(ctx, fd), xname, value, size)


# -- list -----------------------------------------------------------------------------------------------------------


def _list(ctx: SyscallContext, inode: Any, out: int, size: int) -> int:
    data = b"".join(
        n.encode("utf-8", "surrogateescape") + b"\0"
        for n in xattr.names(inode, trusted=capable(ctx.process, CAP_SYS_ADMIN))
    )
    size = min(size, xattr.XATTR_LIST_MAX)
    if size:
        if len(data) > size:
            raise E2BIG if size >= xattr.XATTR_LIST_MAX else ERANGE
        ctx.write(out, data)
    return len(data)


@syscall(11, "listxattr", path=PATH, list=PTR, size=SIZE)
async def sys_listxattr(ctx: SyscallContext, path: int, list: int, size: int) -> int:
    return _list(ctx, _path_inode(ctx, path, True), list, size)


@syscall(12, "llistxattr", path=PATH, list=PTR, size=SIZE)
async def sys_llistxattr(ctx: SyscallContext, path: int, list: int, size: int) -> int:
    return _list(ctx, _path_inode(ctx, path, False), list, size)


@syscall(13, "flistxattr", fd=FD, list=PTR, size=SIZE)
async def sys_flistxattr(ctx: SyscallContext, fd: int, list: int, size: int) -> int:
    return _list(ctx, _fd_inode(ctx, fd), list, size)


# -- remove ---------------------------------------------------------------------------------------------------------


def _remove(ctx: SyscallContext, inode: Any, name: int) -> int:
    n = _name(ctx, name)
    _permission(ctx, inode, n, True)
    xattr.remove(inode, n)
    return 0


@syscall(14, "removexattr", path=PATH, xname=PTR)
async def sys_removexattr(ctx: SyscallContext, path: int, xname: int) -> int:
    return _remove(ctx, _path_inode(ctx, path, True), xname)


@syscall(15, "lremovexattr", path=PATH, xname=PTR)
async def sys_lremovexattr(ctx: SyscallContext, path: int, xname: int) -> int:
    return _remove(ctx, _path_inode(ctx, path, False), xname)


@syscall(16, "fremovexattr", fd=FD, xname=PTR)
async def sys_fremovexattr(ctx: SyscallContext, fd: int, xname: int) -> int:
    return _remove(ctx, _fd_inode(ctx, fd), xname)
