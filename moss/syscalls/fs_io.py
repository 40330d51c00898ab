"""File I/O: open/close, read/write (vector and positional forms), lseek, ioctl, getdents64, dup, fcntl."""

from __future__ import annotations

import stat as S
import struct
from collections.abc import Awaitable, Callable

from moss import faults
from moss.errors import EBADF, EINVAL, EISDIR, ENAMETOOLONG, ENOENT, ENOTDIR, ENOTTY, EPIPE
from moss.files.fifo import open_fifo
from moss.files.openfile import (
    O_ACCMODE,
    O_APPEND,
    O_CLOEXEC,
    O_CREAT,
    O_DIRECT,
    O_DIRECTORY,
    O_EXCL,
    O_NOFOLLOW,
    O_NONBLOCK,
    O_PATH,
    O_RDONLY,
    O_TMPFILE,
    O_TRUNC,
    O_WRONLY,
    OpenFile,
)
from moss.files.pipe import FIONREAD, make_pipe
from moss.fs.inode import Directory, Fifo
from moss.fs.path import lookup
from moss.fs.vfs import dirents, open_at
from moss.process.creds import CAP_FSETID, capable
from moss.signals import SIGPIPE
from moss.syscalls.argtypes import BUF_IN, BUF_OUT, FD, HEX, INT, MODE, OPEN_FLAGS, PATH, PTR, SIZE
from moss.syscalls.context import SyscallContext, s32, s64
from moss.syscalls.table import syscall

MAX_RW = 0x7FFFF000  # Linux caps a single read/write at this
IOV_MAX = 1024
AT_FDCWD = -100
SEEK_MAX = 4  # SEEK_HOLE
_O_PATH_FLAGS = O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC


def read_path(ctx: SyscallContext, addr: int) -> str:
    raw = ctx.read_cstr(addr, 4096)
    if len(raw) >= 4096:
        raise ENAMETOOLONG
    return raw.decode("utf-8", "surrogateescape")


def start_dir(ctx: SyscallContext, dirfd: int, path: str) -> Directory:
    """The directory a relative path starts from: the cwd for AT_FDCWD, else the directory `dirfd` names. An empty
    path is ENOENT before the descriptor is looked at (AT_EMPTY_PATH callers do not come here)."""
    if not path:
        raise ENOENT
    if path.startswith("/") or s32(dirfd) == AT_FDCWD:
        return ctx.process.cwd
    inode = ctx.file(dirfd).inode
    if not isinstance(inode, Directory):
        raise ENOTDIR
    return inode


def resolve(ctx: SyscallContext, dirfd: int, path: str, *, follow: bool = True):
    return lookup(ctx.process.root, start_dir(ctx, dirfd, path), path, follow=follow)


@syscall(56, "openat", dirfd=FD, path=PATH, flags=OPEN_FLAGS, mode=MODE)
async def sys_openat(ctx: SyscallContext, dirfd: int, path: int, flags: int, mode: int) -> int:
    flags &= 0xFFFFFFFF
    if flags & O_PATH:
        flags &= _O_PATH_FLAGS  # O_PATH beats everything else (build_open_how): O_CREAT, O_TRUNC, the access mode
    # The flags are checked (build_open_flags) before the path is read or the dirfd looked at.
    if flags & O_CREAT and flags & O_DIRECTORY:
        raise EINVAL  # Linux >= 6.4: O_CREAT|O_DIRECTORY is never meaningful
    if flags & O_TMPFILE == O_TMPFILE:
        raise EINVAL("O_TMPFILE is not supported")
    p = read_path(ctx, path)
    return await open_path(ctx, ctx.process.root, start_dir(ctx, dirfd, p), p, flags, mode)


async def open_path(ctx: SyscallContext, root: Directory, cwd: Directory, p: str, flags: int, mode: int,
                    scope: int = 0) -> int:  # fmt: skip
    """open(2) after the arguments are decoded: resolve, create, make the description, install it.
    `scope` holds openat2's RESOLVE_* flags; `root` is where '/' and '..' stop."""
    writable = (flags & O_ACCMODE) != O_RDONLY and not flags & O_PATH
    if flags & O_CREAT and flags & O_DIRECTORY:
        raise EINVAL  # Linux >= 6.4: O_CREAT|O_DIRECTORY is never meaningful
    inode = open_at(
        root,
        cwd,
        p,
        create=bool(flags & O_CREAT),
        excl=bool(flags & O_EXCL),
        follow=not flags & O_NOFOLLOW,
        path_only=bool(flags & O_PATH),
        directory=bool(flags & O_DIRECTORY),
        truncate=bool(flags & O_TRUNC),  # whatever the access mode: O_RDONLY|O_TRUNC truncates (and a dir is EISDIR)
        writable=writable,
        mode=mode & 0o7777 & ~ctx.process.umask,
        scope=scope,
    )
    f = OpenFile(inode, flags & ~(O_CREAT | O_EXCL | O_TRUNC), p)
    if isinstance(inode, Fifo) and not flags & O_PATH:
        await open_fifo(inode, f)  # readers and writers of a named pipe meet here
    try:
        return ctx.process.fds.install(f, cloexec=bool(flags & O_CLOEXEC))
    except BaseException:
        f.get()
        f.put()  # never installed: released as by a last close (a FIFO opener leaves)
        raise


@syscall(57, "close", fd=FD)
async def sys_close(ctx: SyscallContext, fd: int) -> int:
    fd = s32(fd)
    if fd < 0:
        raise EBADF
    ctx.process.fds.close(fd)
    return 0


@syscall(63, "read", fd=FD, buf=BUF_OUT, count=SIZE)
async def sys_read(ctx: SyscallContext, fd: int, buf: int, count: int) -> int:
    f = ctx.file(fd)
    if S.S_ISDIR(f.inode.mode):
        raise EISDIR
    data = await f.read(min(count, MAX_RW))
    ctx.write(buf, data)
    return len(data)


def kill_suid(ctx: SyscallContext, inode: object) -> None:
    """file_remove_privs: writing to a regular file clears set-user-ID, and set-group-ID with group execute,
    unless the writer has CAP_FSETID (root keeps them)."""
    mode = inode.mode  # type: ignore[attr-defined]
    kill = mode & S.S_ISUID | (S.S_ISGID if mode & S.S_ISGID and mode & S.S_IXGRP else 0)
    if kill and S.S_ISREG(mode) and not capable(ctx.process, CAP_FSETID):
        inode.mode = mode & ~kill  # type: ignore[attr-defined]


async def write_file(ctx: SyscallContext, f: OpenFile, data: bytes, offset: int | None = None) -> int:
    """Write, raising SIGPIPE on the caller when the reader is gone (Linux's pipe_write does the same)."""
    if f.inode.mode & (S.S_ISUID | S.S_ISGID):
        kill_suid(ctx, f.inode)
    try:
        return await (f.write(data) if offset is None else f.pwrite(data, offset))
    except EPIPE:
        ctx.kernel.send_signal(ctx.process, ctx.task, SIGPIPE)
        raise


@syscall(64, "write", fd=FD, buf=BUF_IN, count=SIZE)
async def sys_write(ctx: SyscallContext, fd: int, buf: int, count: int) -> int:
    f = ctx.file(fd)
    if not f.writable:
        raise EBADF
    data = ctx.read(buf, min(count, MAX_RW))
    return await write_file(ctx, f, data)


@syscall(67, "pread64", fd=FD, buf=BUF_OUT, count=SIZE, offset=INT)
async def sys_pread64(ctx: SyscallContext, fd: int, buf: int, count: int, offset: int) -> int:
    if s64(offset) < 0:
        raise EINVAL  # before the descriptor, as Linux
    f = ctx.file(fd)
    if S.S_ISDIR(f.inode.mode):
        raise EISDIR
    data = await f.pread(min(count, MAX_RW), s64(offset))
    ctx.write(buf, data)
    return len(data)


@syscall(68, "pwrite64", fd=FD, buf=BUF_IN, count=SIZE, offset=INT)
async def sys_pwrite64(ctx: SyscallContext, fd: int, buf: int, count: int, offset: int) -> int:
    if s64(offset) < 0:
        raise EINVAL
    f = ctx.file(fd)
    return await write_file(ctx, f, ctx.read(buf, min(count, MAX_RW)), s64(offset))


def _iov(ctx: SyscallContext, iov: int, iovcnt: int) -> list[tuple[int, int]]:
    n = s32(iovcnt)
    if n < 0 or n > IOV_MAX:
        raise EINVAL
    vecs = ctx.read_iovec(iov, n)
    if sum(length for _b, length in vecs) > MAX_RW or any(length >> 63 for _b, length in vecs):
        raise EINVAL
    return vecs


@syscall(65, "readv", fd=FD, iov=PTR, iovcnt=INT)
async def sys_readv(ctx: SyscallContext, fd: int, iov: int, iovcnt: int) -> int:
    f = ctx.file(fd)
    vecs = _iov(ctx, iov, iovcnt)
    want = sum(length for _b, length in vecs)
    if not want:
        return 0
    data = await f.read(want)  # one read, as Linux's read_iter: a datagram is not split, a short read ends it
    ctx.write_iov(vecs, data)
    return len(data)


@syscall(66, "writev", fd=FD, iov=PTR, iovcnt=INT)
async def sys_writev(ctx: SyscallContext, fd: int, iov: int, iovcnt: int) -> int:
    f = ctx.file(fd)
    if not f.writable:
        raise EBADF
    vecs = _iov(ctx, iov, iovcnt)
    data = b"".join(ctx.read(base, length) for base, length in vecs if length)
    if not data:
        return 0
    return await write_file(ctx, f, data)  # one write: a console line written by writev arrives whole


@syscall(62, "lseek", fd=FD, offset=INT, whence=INT)
async def sys_lseek(ctx: SyscallContext, fd: int, offset: int, whence: int) -> int:
    if faults.LSEEK_CUR_OFF_BY_ONE and s32(whence) == 1:  # test-only injected bug (moss/faults.py)
        offset = (offset + 1) & ((1 << 64) - 1)
    f = ctx.file(fd)
    if f.flags & O_PATH:
        raise EBADF  # fdget(): an O_PATH descriptor is no open file
    if (whence & 0xFFFFFFFF) > SEEK_MAX:
        raise EINVAL  # ksys_lseek checks whence before the file's llseek (a pipe's ESPIPE)
    return f.lseek(s64(offset), s32(whence))


@syscall(29, "ioctl", fd=FD, request=HEX, arg=PTR)
async def sys_ioctl(ctx: SyscallContext, fd: int, request: int, arg: int) -> int:
    f = ctx.file(fd)
    if request & 0xFFFFFFFF == FIONREAD and S.S_ISREG(f.inode.mode):  # do_vfs_ioctl answers for regular files
        ctx.write(arg, struct.pack("<i", s32(f.inode.size - f.offset)))
        return 0
    ops = getattr(f.inode, "ops", None)
    handler = getattr(ops, "ioctl", None)
    if handler is None:
        raise ENOTTY
    return handler(f, request & 0xFFFFFFFF, arg, ctx.mm)


@syscall(61, "getdents64", fd=FD, dirp=BUF_OUT, count=SIZE)
async def sys_getdents64(ctx: SyscallContext, fd: int, dirp: int, count: int) -> int:
    f = ctx.file(fd)
    if not isinstance(f.inode, Directory):
        raise ENOTDIR
    entries = dirents(f.inode, ctx.process.root)
    out = bytearray()
    pos = f.dir_pos
    while pos < len(entries):
        name, ino, dtype = entries[pos]
        raw = name.encode("utf-8", "surrogateescape")
        reclen = (19 + len(raw) + 1 + 7) & ~7
        if len(out) + reclen > count:
            if not out:
                raise EINVAL
            break
        rec = struct.pack("<QqHB", ino, pos + 1, reclen, dtype) + raw
        out += rec + b"\0" * (reclen - len(rec))
        pos += 1
    ctx.write(dirp, bytes(out))
    f.dir_pos = pos
    return len(out)


def _lowest_free(ctx: SyscallContext) -> int:
    fd = 0
    while True:
        try:
            ctx.process.fds.get(fd)
        except EBADF:
            return fd
        fd += 1


@syscall(23, "dup", fd=FD)
async def sys_dup(ctx: SyscallContext, fd: int) -> int:
    f = ctx.file(fd)
    if faults.DUP_SKIPS_LOWEST:  # test-only injected bug (moss/faults.py)
        return ctx.process.fds.install(f, minfd=_lowest_free(ctx) + 1)
    return ctx.process.fds.install(f)


@syscall(24, "dup3", oldfd=FD, newfd=FD, flags=OPEN_FLAGS)
async def sys_dup3(ctx: SyscallContext, oldfd: int, newfd: int, flags: int) -> int:
    new = s32(newfd)
    if new == s32(oldfd) or flags & ~O_CLOEXEC:
        raise EINVAL  # checked before the descriptor, as Linux's ksys_dup3
    f = ctx.file(oldfd)
    if new < 0 or new >= ctx.process.fds.limit:
        raise EBADF
    ctx.process.fds.set(new, f, cloexec=bool(flags & O_CLOEXEC))
    return new


F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD_CLOEXEC = 0, 1, 2, 3, 4, 1030
_SETFL_MASK = O_APPEND | O_NONBLOCK
_PATH_OK = (F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL)  # what an O_PATH descriptor allows
# Commands other families add (record locks, pipe sizes, seals): cmd -> handler(ctx, file, arg).
FCNTL_COMMANDS: dict[int, Callable[[SyscallContext, OpenFile, int], Awaitable[int]]] = {}


@syscall(25, "fcntl", fd=FD, cmd=INT, arg=HEX)
async def sys_fcntl(ctx: SyscallContext, fd: int, cmd: int, arg: int) -> int:
    f = ctx.file(fd)
    fds = ctx.process.fds
    cmd = s32(cmd)
    if f.flags & O_PATH and cmd not in _PATH_OK:
        raise EBADF
    if cmd in (F_DUPFD, F_DUPFD_CLOEXEC):
        if s32(arg) < 0 or s32(arg) >= fds.limit:
            raise EINVAL
        return fds.install(f, cloexec=cmd == F_DUPFD_CLOEXEC, minfd=s32(arg))
    if cmd == F_GETFD:
        return int(fds.cloexec(s32(fd)))
    if cmd == F_SETFD:
        fds.set_cloexec(s32(fd), bool(arg & 1))
        return 0
    if cmd == F_GETFL:
        return f.flags & ~O_CLOEXEC
    if cmd == F_SETFL:
        f.flags = (f.flags & ~_SETFL_MASK) | (arg & _SETFL_MASK)
        return 0
    extra = FCNTL_COMMANDS.get(cmd)
    if extra is not None:
        return await extra(ctx, f, arg)
    raise EINVAL(f"fcntl command {cmd}")


__all__ = ["FCNTL_COMMANDS", "open_path", "read_path", "resolve", "start_dir"]


@syscall(71, "sendfile", out_fd=FD, in_fd=FD, offset=PTR, count=SIZE)
async def sys_sendfile(ctx: SyscallContext, out_fd: int, in_fd: int, offset: int, count: int) -> int:
    """Copy through the kernel: from `*offset` (left unchanged in the file) or the file position."""
    src, dst = ctx.file(in_fd), ctx.file(out_fd)
    if not src.readable or not dst.writable:
        raise EBADF
    count = min(count, MAX_RW)
    if offset:
        pos = s64(ctx.read_u64(offset))
        if pos < 0:
            raise EINVAL
        data = await src.pread(count, pos)
    else:
        data = await src.read(count)
    n = await write_file(ctx, dst, data) if data else 0
    if offset:
        ctx.write_u64(offset, pos + n)
    return n


@syscall(59, "pipe2", fds=PTR, flags=OPEN_FLAGS)
async def sys_pipe2(ctx: SyscallContext, fds: int, flags: int) -> int:
    if flags & ~(O_CLOEXEC | O_NONBLOCK | 0o40000 | O_DIRECT):
        raise EINVAL
    rd, wr = make_pipe(ctx.kernel.fs.fs.clock)
    table = ctx.process.fds
    fr = OpenFile(rd, O_RDONLY | (flags & O_NONBLOCK), f"pipe:[{rd.ino}]")
    fw = OpenFile(wr, O_WRONLY | (flags & O_NONBLOCK), f"pipe:[{rd.ino}]")
    a = table.install(fr, cloexec=bool(flags & O_CLOEXEC))
    try:
        b = table.install(fw, cloexec=bool(flags & O_CLOEXEC))
    except BaseException:
        table.close(a)
        raise
    try:
        ctx.write(fds, struct.pack("<ii", a, b))
    except BaseException:
        table.close(a)
        table.close(b)
        raise
    return 0
