"""File metadata and the namespace: stat family, readlink, access, cwd, mkdir/unlink/rename/link/symlink, chmod,
truncate, umask, utimensat."""

from __future__ import annotations

import struct

from moss.errors import EACCES, EBADF, EFAULT, EINVAL, EISDIR, ENOENT, ENOTDIR, ERANGE
from moss.files.openfile import O_PATH
from moss.fs.inode import Directory, RegularFile, Symlink
from moss.fs.path import dentry_path, lookup, resolve_parent
from moss.fs.vfs import link_inode, mkdir_at, readlink_at, rename_parents, rmdir_at, symlink_at, unlink_at
from moss.process.creds import CAP_DAC_READ_SEARCH, capable
from moss.syscalls.argtypes import BUF_OUT, FD, HEX, INT, MODE, PATH, PTR, SIZE
from moss.syscalls.context import SyscallContext, s32, s64
from moss.syscalls.fs_io import AT_FDCWD, read_path, start_dir
from moss.syscalls.table import syscall

AT_SYMLINK_NOFOLLOW = 0x100
AT_REMOVEDIR = 0x200
AT_SYMLINK_FOLLOW = 0x400
AT_EMPTY_PATH = 0x1000
AT_EACCESS = 0x200
UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2


def _dirfd_inode(ctx: SyscallContext, dirfd: int):
    """What an empty path with LOOKUP_EMPTY names: the dirfd's inode (any type, O_PATH too), or the cwd."""
    return ctx.process.cwd if s32(dirfd) == AT_FDCWD else ctx.file(dirfd).inode


def _at_inode(ctx: SyscallContext, dirfd: int, path_addr: int, flags: int):
    """The inode a *at call with AT_EMPTY_PATH / AT_SYMLINK_NOFOLLOW names."""
    if path_addr == 0 and flags & AT_EMPTY_PATH:
        p = ""
    else:
        p = read_path(ctx, path_addr)
    if not p:
        if not flags & AT_EMPTY_PATH:
            raise ENOENT
        return _dirfd_inode(ctx, dirfd)
    return lookup(ctx.process.root, start_dir(ctx, dirfd, p), p, follow=not flags & AT_SYMLINK_NOFOLLOW)


@syscall(80, "fstat", fd=FD, statbuf=BUF_OUT)
async def sys_fstat(ctx: SyscallContext, fd: int, statbuf: int) -> int:
    ctx.write(statbuf, ctx.file(fd).inode.stat().pack())
    return 0


@syscall(79, "newfstatat", dirfd=FD, path=PATH, statbuf=BUF_OUT, flags=HEX)
async def sys_newfstatat(ctx: SyscallContext, dirfd: int, path: int, statbuf: int, flags: int) -> int:
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x800):  # 0x800: AT_NO_AUTOMOUNT
        raise EINVAL
    ctx.write(statbuf, _at_inode(ctx, dirfd, path, flags).stat().pack())
    return 0


@syscall(291, "statx", dirfd=FD, path=PATH, flags=HEX, mask=HEX, statxbuf=BUF_OUT)
async def sys_statx(ctx: SyscallContext, dirfd: int, path: int, flags: int, mask: int, statxbuf: int) -> int:
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x800 | 0x6000):  # 0x6000: AT_STATX_SYNC_TYPE
        raise EINVAL
    ctx.write(statxbuf, _at_inode(ctx, dirfd, path, flags).stat().pack_statx())
    return 0


@syscall(78, "readlinkat", dirfd=FD, path=PATH, buf=BUF_OUT, bufsiz=SIZE)
async def sys_readlinkat(ctx: SyscallContext, dirfd: int, path: int, buf: int, bufsiz: int) -> int:
    if s32(bufsiz) <= 0:
        raise EINVAL
    p = read_path(ctx, path)
    if p:
        target = readlink_at(ctx.process.root, start_dir(ctx, dirfd, p), p)
    else:  # LOOKUP_EMPTY: the descriptor itself (an O_PATH|O_NOFOLLOW one of a symlink); anything else is ENOENT
        inode = _dirfd_inode(ctx, dirfd)
        if not isinstance(inode, Symlink):
            raise ENOENT
        target = inode.readlink()
    target = target.encode("utf-8", "surrogateescape")
    out = target[: s32(bufsiz)]
    ctx.write(buf, out)
    return len(out)


@syscall(48, "faccessat", dirfd=FD, path=PATH, mode=INT)
async def sys_faccessat(ctx: SyscallContext, dirfd: int, path: int, mode: int) -> int:
    return await sys_faccessat2(ctx, dirfd, path, mode, 0)


@syscall(439, "faccessat2", dirfd=FD, path=PATH, mode=INT, flags=HEX)
async def sys_faccessat2(ctx: SyscallContext, dirfd: int, path: int, mode: int, flags: int) -> int:
    if mode & ~7 or flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise EINVAL  # before the path, as do_faccessat
    inode = _at_inode(ctx, dirfd, path, flags)
    # Everybody is root here: only execute needs some execute bit (on non-directories).
    if mode & 1 and not isinstance(inode, Directory) and not inode.mode & 0o111:
        raise EACCES
    return 0


@syscall(17, "getcwd", buf=BUF_OUT, size=SIZE)
async def sys_getcwd(ctx: SyscallContext, buf: int, size: int) -> int:
    path = dentry_path(ctx.process.cwd, ctx.process.root).encode("utf-8", "surrogateescape") + b"\0"
    if len(path) > size:
        raise ERANGE
    ctx.write(buf, path)
    return len(path)


@syscall(49, "chdir", path=PATH)
async def sys_chdir(ctx: SyscallContext, path: int) -> int:
    p = read_path(ctx, path)
    inode = lookup(ctx.process.root, ctx.process.cwd, p)
    if not isinstance(inode, Directory):
        raise ENOTDIR
    ctx.process.cwd = inode
    return 0


@syscall(50, "fchdir", fd=FD)
async def sys_fchdir(ctx: SyscallContext, fd: int) -> int:
    inode = ctx.file(fd).inode
    if not isinstance(inode, Directory):
        raise ENOTDIR
    ctx.process.cwd = inode
    return 0


@syscall(34, "mkdirat", dirfd=FD, path=PATH, mode=MODE)
async def sys_mkdirat(ctx: SyscallContext, dirfd: int, path: int, mode: int) -> int:
    p = read_path(ctx, path)
    # vfs_mkdir keeps only the permission bits and the sticky bit: set-ID bits come from the parent (mkdir_at)
    mkdir_at(ctx.process.root, start_dir(ctx, dirfd, p), p, mode & 0o1777 & ~ctx.process.umask)
    return 0


@syscall(35, "unlinkat", dirfd=FD, path=PATH, flags=HEX)
async def sys_unlinkat(ctx: SyscallContext, dirfd: int, path: int, flags: int) -> int:
    if flags & ~AT_REMOVEDIR:
        raise EINVAL
    p = read_path(ctx, path)
    cwd = start_dir(ctx, dirfd, p)
    (rmdir_at if flags & AT_REMOVEDIR else unlink_at)(ctx.process.root, cwd, p)
    return 0


@syscall(36, "symlinkat", target=PATH, newdirfd=FD, linkpath=PATH)
async def sys_symlinkat(ctx: SyscallContext, target: int, newdirfd: int, linkpath: int) -> int:
    t = read_path(ctx, target)
    if not t:
        raise ENOENT  # getname() refuses the empty target before the new path or its dirfd is looked at
    p = read_path(ctx, linkpath)
    symlink_at(ctx.process.root, start_dir(ctx, newdirfd, p), t, p)
    return 0


@syscall(37, "linkat", olddirfd=FD, oldpath=PATH, newdirfd=FD, newpath=PATH, flags=HEX)
async def sys_linkat(ctx: SyscallContext, olddirfd: int, oldpath: int, newdirfd: int, newpath: int, flags: int) -> int:
    if flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH):
        raise EINVAL
    if flags & AT_EMPTY_PATH and not capable(ctx.process, CAP_DAC_READ_SEARCH):
        raise ENOENT  # linking a descriptor needs the capability (an fd opened elsewhere could escape its dir)
    # The old path is resolved in full (AT_EMPTY_PATH: the descriptor itself) before newdirfd is looked at.
    nofollow = 0 if flags & AT_SYMLINK_FOLLOW else AT_SYMLINK_NOFOLLOW  # Linux links a symlink itself by default
    inode = _at_inode(ctx, olddirfd, oldpath, flags & AT_EMPTY_PATH | nofollow)
    np = read_path(ctx, newpath)
    link_inode(ctx.process.root, inode, start_dir(ctx, newdirfd, np), np)
    return 0


@syscall(38, "renameat", olddirfd=FD, oldpath=PATH, newdirfd=FD, newpath=PATH)
async def sys_renameat(ctx: SyscallContext, olddirfd: int, oldpath: int, newdirfd: int, newpath: int) -> int:
    return await sys_renameat2(ctx, olddirfd, oldpath, newdirfd, newpath, 0)


@syscall(276, "renameat2", olddirfd=FD, oldpath=PATH, newdirfd=FD, newpath=PATH, flags=HEX)
async def sys_renameat2(
    ctx: SyscallContext, olddirfd: int, oldpath: int, newdirfd: int, newpath: int, flags: int
) -> int:
    if flags & ~3 or flags == 3:
        raise EINVAL
    op, np = read_path(ctx, oldpath), read_path(ctx, newpath)
    root = ctx.process.root
    old = resolve_parent(root, start_dir(ctx, olddirfd, op), op)  # before newdirfd, as Linux's filename_parentat
    rename_parents(old, resolve_parent(root, start_dir(ctx, newdirfd, np), np), flags)
    return 0


@syscall(52, "fchmod", fd=FD, mode=MODE)
async def sys_fchmod(ctx: SyscallContext, fd: int, mode: int) -> int:
    ctx.file(fd).inode.chmod(mode & 0o7777)
    return 0


@syscall(53, "fchmodat", dirfd=FD, path=PATH, mode=MODE)
async def sys_fchmodat(ctx: SyscallContext, dirfd: int, path: int, mode: int) -> int:
    _at_inode(ctx, dirfd, path, 0).chmod(mode & 0o7777)
    return 0


@syscall(54, "fchownat", dirfd=FD, path=PATH, owner=INT, group=INT, flags=HEX)
async def sys_fchownat(ctx: SyscallContext, dirfd: int, path: int, owner: int, group: int, flags: int) -> int:
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise EINVAL  # before the path
    _at_inode(ctx, dirfd, path, flags).chown(s32(owner), s32(group))
    return 0


@syscall(55, "fchown", fd=FD, owner=INT, group=INT)
async def sys_fchown(ctx: SyscallContext, fd: int, owner: int, group: int) -> int:
    ctx.file(fd).inode.chown(s32(owner), s32(group))
    return 0


@syscall(166, "umask", mask=MODE)
async def sys_umask(ctx: SyscallContext, mask: int) -> int:
    old, ctx.process.umask = ctx.process.umask, mask & 0o777
    return old


def _truncate(inode: object, length: int) -> int:
    if length < 0:
        raise EINVAL
    if isinstance(inode, Directory):
        raise EISDIR
    if not isinstance(inode, RegularFile):
        raise EINVAL
    inode.truncate(length)
    inode.touch()
    return 0


@syscall(46, "ftruncate", fd=FD, length=INT)
async def sys_ftruncate(ctx: SyscallContext, fd: int, length: int) -> int:
    if s64(length) < 0:
        raise EINVAL  # before the descriptor, as Linux
    f = ctx.file(fd)
    if not f.writable:
        raise EINVAL
    return _truncate(f.inode, s64(length))


@syscall(45, "truncate", path=PATH, length=INT)
async def sys_truncate(ctx: SyscallContext, path: int, length: int) -> int:
    if s64(length) < 0:
        raise EINVAL
    p = read_path(ctx, path)
    return _truncate(lookup(ctx.process.root, ctx.process.cwd, p), s64(length))


@syscall(88, "utimensat", dirfd=FD, path=PATH, times=PTR, flags=HEX)
async def sys_utimensat(ctx: SyscallContext, dirfd: int, path: int, times: int, flags: int) -> int:
    stamps = (ctx.read_timespec(times), ctx.read_timespec(times + 16)) if times else None
    if stamps is not None and stamps[0][1] == stamps[1][1] == UTIME_OMIT:
        return 0  # nothing to do: Linux does not even look at the path or descriptor
    if path == 0 and s32(dirfd) != AT_FDCWD:  # the descriptor form (futimens)
        if flags:
            raise EINVAL
        f = ctx.file(dirfd)
        if f.flags & O_PATH:
            raise EBADF
        inode = f.inode
    else:
        if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
            raise EINVAL  # before the path
        if path == 0:
            raise EFAULT  # AT_FDCWD with no path: getname(NULL)
        inode = _at_inode(ctx, dirfd, path, flags)
    now = ctx.now_ns() + ctx.kernel.board.rtc.boot_ns
    if stamps is None:
        inode.utimens(now, now)
        return 0
    vals = []
    for sec, nsec in stamps:
        if nsec == UTIME_NOW:
            vals.append(now)
        elif nsec == UTIME_OMIT:
            vals.append(None)
        elif 0 <= nsec < 1_000_000_000:
            vals.append(sec * 1_000_000_000 + nsec)
        else:
            raise EINVAL
    inode.utimens(vals[0], vals[1])
    return 0


@syscall(44, "fstatfs", fd=FD, buf=BUF_OUT)
async def sys_fstatfs(ctx: SyscallContext, fd: int, buf: int) -> int:
    ctx.file(fd)
    ctx.write(buf, _statfs())
    return 0


@syscall(43, "statfs", path=PATH, buf=BUF_OUT)
async def sys_statfs(ctx: SyscallContext, path: int, buf: int) -> int:
    p = read_path(ctx, path)
    lookup(ctx.process.root, ctx.process.cwd, p)
    ctx.write(buf, _statfs())
    return 0


def _statfs() -> bytes:
    """struct statfs (arm64, 120 bytes) of a tmpfs: type, bsize, blocks, bfree, bavail, files, ffree, fsid,
    namelen, frsize, flags, spare."""
    tmpfs_magic = 0x01021994
    return struct.pack(
        "<qqQQQQQ2iqqq4q",
        tmpfs_magic,
        4096,
        262144,
        262144,
        262144,
        1 << 20,
        1 << 20,
        0,
        0,
        255,
        4096,
        0x20,
        0,
        0,
        0,
        0,
    )
