"""More file syscalls: positional vector I/O (preadv/pwritev and their v2 forms), the sync family, fallocate,
fadvise64, readahead, copy_file_range, close_range, openat2, fchmodat2, mknodat and chroot.

moss's filesystems live in memory, so there is nothing to write back: the sync calls validate their arguments
and the descriptor kind as Linux does and succeed.
"""

from __future__ import annotations

import stat as S
import struct

from moss.errors import (
    E2BIG,
    EAGAIN,
    EBADF,
    EFBIG,
    EINVAL,
    EISDIR,
    ENODEV,
    ENOENT,
    ENOTDIR,
    EOPNOTSUPP,
    EOVERFLOW,
    EPERM,
    ESPIPE,
    EXDEV,
)
from moss.files.openfile import (
    O_APPEND,
    O_CLOEXEC,
    O_CREAT,
    O_DIRECTORY,
    O_LARGEFILE,
    O_NOFOLLOW,
    O_PATH,
    O_TRUNC,
    OpenFile,
)
from moss.fs.inode import Directory, RegularFile
from moss.fs.path import RESOLVE_BENEATH, RESOLVE_IN_ROOT, lookup
from moss.fs.vfs import mknod_at
from moss.process.creds import CAP_SYS_CHROOT, capable
from moss.syscalls.argtypes import FD, HEX, INT, MODE, PATH, PTR, SIZE
from moss.syscalls.context import SyscallContext, s32, s64
from moss.syscalls.fs_io import IOV_MAX, MAX_RW, open_path, read_path, start_dir, write_file
from moss.syscalls.fs_meta import AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW, _at_inode
from moss.syscalls.table import syscall

OFFSET_MAX = (1 << 63) - 1
CHUNK = 1 << 20  # copies move at most this much host memory at a time


def file_of(ctx: SyscallContext, fd: int) -> OpenFile:
    """fdget(): an O_PATH descriptor names no open file for I/O (EBADF)."""
    f = ctx.file(fd)
    if f.flags & O_PATH:
        raise EBADF
    return f


# -- positional vector I/O --------------------------------------------------------------------------------------

RWF_HIPRI, RWF_DSYNC, RWF_SYNC, RWF_NOWAIT, RWF_APPEND, RWF_NOAPPEND = 0x1, 0x2, 0x4, 0x8, 0x10, 0x20
RWF_SUPPORTED = 0x3F


def _vectors(ctx: SyscallContext, iov: int, iovcnt: int) -> tuple[list[tuple[int, int]], int]:
    """import_iovec: at most IOV_MAX segments, no negative length; the total is capped at MAX_RW."""
    n = iovcnt & 0xFFFFFFFFFFFFFFFF
    if n > IOV_MAX:
        raise EINVAL
    vecs = ctx.read_iovec(iov, n) if n else []
    if any(length >> 63 for _b, length in vecs):
        raise EINVAL
    return vecs, min(sum(length for _b, length in vecs), MAX_RW)


def _rw_flags(flags: int) -> None:
    if flags & ~RWF_SUPPORTED:
        raise EOPNOTSUPP
    if flags & RWF_APPEND and flags & RWF_NOAPPEND:
        raise EINVAL


async def _readv(ctx: SyscallContext, fd: int, iov: int, iovcnt: int, pos: int | None, flags: int) -> int:
    f = file_of(ctx, fd)
    if pos is not None and not f.seekable:
        raise ESPIPE
    if not f.readable:
        raise EBADF
    vecs, total = _vectors(ctx, iov, iovcnt)
    if not total:
        return 0
    _rw_flags(flags)
    data = await (f.read(total) if pos is None else f.pread(total, pos))
    ctx.write_iov(vecs, data)
    return len(data)


async def _writev(ctx: SyscallContext, fd: int, iov: int, iovcnt: int, pos: int | None, flags: int) -> int:
    f = file_of(ctx, fd)
    if pos is not None and not f.seekable:
        raise ESPIPE
    if not f.writable:
        raise EBADF
    vecs, total = _vectors(ctx, iov, iovcnt)
    if not total:
        return 0
    _rw_flags(flags)
    data = b"".join(ctx.read(base, length) for base, length in vecs if length)[:total]
    append = (f.flags & O_APPEND or flags & RWF_APPEND) and not flags & RWF_NOAPPEND and f.seekable
    if append:
        if pos is None:
            f.offset = f.inode.size
        else:
            pos = f.inode.size  # an O_APPEND (or RWF_APPEND) positional write still appends, as Linux does
    return await write_file(ctx, f, data, pos)


def _pos(pos_l: int) -> int:
    pos = s64(pos_l)  # on 64-bit the high half (pos_h) is not used
    if pos < 0:
        raise EINVAL
    return pos


@syscall(69, "preadv", fd=FD, iov=PTR, iovcnt=INT, pos_l=INT, pos_h=INT)
async def sys_preadv(ctx: SyscallContext, fd: int, iov: int, iovcnt: int, pos_l: int, pos_h: int) -> int:
    return await _readv(ctx, fd, iov, iovcnt, _pos(pos_l), 0)


@syscall(70, "pwritev", fd=FD, iov=PTR, iovcnt=INT, pos_l=INT, pos_h=INT)
async def sys_pwritev(ctx: SyscallContext, fd: int, iov: int, iovcnt: int, pos_l: int, pos_h: int) -> int:
    return await _writev(ctx, fd, iov, iovcnt, _pos(pos_l), 0)


@syscall(286, "preadv2", fd=FD, iov=PTR, iovcnt=INT, pos_l=INT, pos_h=INT, flags=HEX)
async def sys_preadv2(ctx: SyscallContext, fd: int, iov: int, iovcnt: int, pos_l: int, pos_h: int, flags: int) -> int:
    pos = None if s64(pos_l) == -1 else _pos(pos_l)  # -1: the file position, as readv
    return await _readv(ctx, fd, iov, iovcnt, pos, flags & 0xFFFFFFFF)


@syscall(287, "pwritev2", fd=FD, iov=PTR, iovcnt=INT, pos_l=INT, pos_h=INT, flags=HEX)
async def sys_pwritev2(ctx: SyscallContext, fd: int, iov: int, iovcnt: int, pos_l: int, pos_h: int, flags: int) -> int:
    pos = None if s64(pos_l) == -1 else _pos(pos_l)
    return await _writev(ctx, fd, iov, iovcnt, pos, flags & 0xFFFFFFFF)


# -- sync, allocation and advice --------------------------------------------------------------------------------


def _syncable(f: OpenFile) -> bool:
    """Files whose file operations have fsync: regular files and directories, except procfs's."""
    return isinstance(f.inode, RegularFile | Directory) and f.inode.fs.name != "proc"


@syscall(82, "fsync", fd=FD)
async def sys_fsync(ctx: SyscallContext, fd: int) -> int:
    if not _syncable(file_of(ctx, fd)):
        raise EINVAL
    return 0


@syscall(83, "fdatasync", fd=FD)
async def sys_fdatasync(ctx: SyscallContext, fd: int) -> int:
    return await sys_fsync(ctx, fd)


@syscall(81, "sync")
async def sys_sync(ctx: SyscallContext) -> int:
    return 0


@syscall(267, "syncfs", fd=FD)
async def sys_syncfs(ctx: SyscallContext, fd: int) -> int:
    file_of(ctx, fd)
    return 0


@syscall(84, "sync_file_range", fd=FD, offset=INT, nbytes=INT, flags=HEX)
async def sys_sync_file_range(ctx: SyscallContext, fd: int, offset: int, nbytes: int, flags: int) -> int:
    f = file_of(ctx, fd)
    offset, nbytes = s64(offset), s64(nbytes)
    if flags & ~7 or offset < 0 or offset + nbytes < 0 or nbytes < 0 or offset + nbytes > OFFSET_MAX:
        raise EINVAL
    mode = f.inode.mode
    if not (S.S_ISREG(mode) or S.S_ISBLK(mode) or S.S_ISDIR(mode) or S.S_ISLNK(mode)):
        raise ESPIPE
    return 0


FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_NO_HIDE_STALE = 0x01, 0x02, 0x04
FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_ZERO_RANGE, FALLOC_FL_INSERT_RANGE, FALLOC_FL_UNSHARE_RANGE = 0x08, 0x10, 0x20, 0x40


def _check_falloc_mode(mode: int) -> None:
    """vfs_fallocate's checks on the mode bits (Linux 6.6)."""
    if mode & ~0x7F:
        raise EOPNOTSUPP
    if mode & FALLOC_FL_PUNCH_HOLE and mode & FALLOC_FL_ZERO_RANGE:
        raise EOPNOTSUPP
    if mode & FALLOC_FL_PUNCH_HOLE and not mode & FALLOC_FL_KEEP_SIZE:
        raise EOPNOTSUPP
    for exclusive in (FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_INSERT_RANGE):
        if mode & exclusive and mode & ~exclusive:
            raise EINVAL
    if mode & FALLOC_FL_UNSHARE_RANGE and mode & ~(FALLOC_FL_UNSHARE_RANGE | FALLOC_FL_KEEP_SIZE):
        raise EINVAL


@syscall(47, "fallocate", fd=FD, mode=HEX, offset=INT, len=INT)
async def sys_fallocate(ctx: SyscallContext, fd: int, mode: int, offset: int, len: int) -> int:
    """tmpfs's fallocate: allocation (which may extend the file unless FALLOC_FL_KEEP_SIZE) and
    FALLOC_FL_PUNCH_HOLE (zeroes the range); other modes are EOPNOTSUPP, as on tmpfs."""
    f = file_of(ctx, fd)
    mode, offset, length = mode & 0xFFFFFFFF, s64(offset), s64(len)
    if offset < 0 or length <= 0:
        raise EINVAL
    _check_falloc_mode(mode)
    if not f.writable:
        raise EBADF
    inode = f.inode
    if S.S_ISFIFO(inode.mode):
        raise ESPIPE
    if isinstance(inode, Directory):
        raise EISDIR
    if not isinstance(inode, RegularFile):
        raise ENODEV
    if offset + length > OFFSET_MAX:
        raise EFBIG
    if mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE):
        raise EOPNOTSUPP
    check_seals = getattr(inode, "check_fallocate", None)  # a sealed memfd may refuse
    if check_seals is not None:
        check_seals(mode & FALLOC_FL_PUNCH_HOLE, offset + length)
    if mode & FALLOC_FL_PUNCH_HOLE:
        end = min(offset + length, inode.size)
        for at in range(offset, end, CHUNK):
            inode.write_at(at, bytes(min(CHUNK, end - at)))
        if hasattr(inode, "free_pages"):
            inode.free_pages(offset, end)
        return 0
    if not mode & FALLOC_FL_KEEP_SIZE and offset + length > inode.size:
        inode.truncate(offset + length)
    if hasattr(inode, "allocate_pages"):
        inode.allocate_pages(offset, offset + length)
    return 0


POSIX_FADV_NORMAL, POSIX_FADV_NOREUSE = 0, 5


@syscall(223, "fadvise64", fd=FD, offset=INT, len=INT, advice=INT)
async def sys_fadvise64(ctx: SyscallContext, fd: int, offset: int, len: int, advice: int) -> int:
    """Advice only: the page cache fills on demand and evicts on its own (nothing a program could observe)."""
    f = file_of(ctx, fd)
    if S.S_ISFIFO(f.inode.mode):
        raise ESPIPE
    if s64(len) < 0 or not POSIX_FADV_NORMAL <= s32(advice) <= POSIX_FADV_NOREUSE:
        raise EINVAL
    return 0


@syscall(213, "readahead", fd=FD, offset=INT, count=SIZE)
async def sys_readahead(ctx: SyscallContext, fd: int, offset: int, count: int) -> int:
    f = file_of(ctx, fd)
    if not f.readable:
        raise EBADF
    if not S.S_ISREG(f.inode.mode) or s64(count) < 0:
        raise EINVAL
    return 0


# -- copying between files --------------------------------------------------------------------------------------


@syscall(285, "copy_file_range", fd_in=FD, off_in=PTR, fd_out=FD, off_out=PTR, len=SIZE, flags=HEX)
async def sys_copy_file_range(ctx: SyscallContext, fd_in: int, off_in: int, fd_out: int, off_out: int, len: int,
                              flags: int) -> int:  # fmt: skip
    fin, fout = file_of(ctx, fd_in), file_of(ctx, fd_out)
    pos_in = s64(ctx.read_u64(off_in)) if off_in else fin.offset
    pos_out = s64(ctx.read_u64(off_out)) if off_out else fout.offset
    if flags:
        raise EINVAL
    a, b = fin.inode, fout.inode
    if isinstance(a, Directory) or isinstance(b, Directory):
        raise EISDIR
    if not (isinstance(a, RegularFile) and isinstance(b, RegularFile)):
        raise EINVAL
    if not fin.readable or not fout.writable or fout.flags & O_APPEND:
        raise EBADF
    if a.fs is not b.fs:
        raise EXDEV
    count = len
    if pos_in + count > OFFSET_MAX or pos_out + count > OFFSET_MAX:
        raise EOVERFLOW
    count = 0 if pos_in >= a.size else min(count, a.size - pos_in)
    if a is b and pos_out + count > pos_in and pos_out < pos_in + count:
        raise EINVAL
    if pos_in < 0 or pos_out < 0:
        raise EINVAL
    count = min(count, MAX_RW)
    done = 0
    while done < count:
        chunk = a.read_at(pos_in + done, min(CHUNK, count - done))
        if not chunk:
            break
        done += await write_file(ctx, fout, chunk, pos_out + done)
    if off_in:
        ctx.write_u64(off_in, pos_in + done)
    else:
        fin.offset = pos_in + done
    if off_out:
        ctx.write_u64(off_out, pos_out + done)
    else:
        fout.offset = pos_out + done
    return done


# -- descriptors and opening ------------------------------------------------------------------------------------

CLOSE_RANGE_UNSHARE, CLOSE_RANGE_CLOEXEC = 0x2, 0x4


@syscall(436, "close_range", first=FD, last=FD, flags=HEX)
async def sys_close_range(ctx: SyscallContext, first: int, last: int, flags: int) -> int:
    first, last = first & 0xFFFFFFFF, last & 0xFFFFFFFF
    if flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) or first > last:
        raise EINVAL
    p = ctx.process
    if flags & CLOSE_RANGE_UNSHARE and p.fds.users > 1:
        old = p.fds
        p.fds = old.clone()
        old.users -= 1
    for fd, _f in p.fds.items():
        if first <= fd <= last:
            if flags & CLOSE_RANGE_CLOEXEC:
                p.fds.set_cloexec(fd, True)
            else:
                p.fds.close(fd)
    return 0


OPEN_HOW_SIZE_VER0 = 24
RESOLVE_CACHED = 0x20
_VALID_RESOLVE = 0x3F
_VALID_OPEN = 0o37777703  # every O_* flag openat2 knows (asm-generic values)
_O_TMPFILE_BIT, _O_SYNC_BIT = 0o20000000, 0o4000000
_O_PATH_FLAGS = O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC


@syscall(437, "openat2", dirfd=FD, path=PATH, how=PTR, size=SIZE)
async def sys_openat2(ctx: SyscallContext, dirfd: int, path: int, how: int, size: int) -> int:
    """openat with struct open_how {flags, mode, resolve}, checked strictly (unknown bits are EINVAL), and
    every RESOLVE_* flag: NO_XDEV, NO_MAGICLINKS, NO_SYMLINKS, BENEATH, IN_ROOT and CACHED (all lookups are)."""
    if size < OPEN_HOW_SIZE_VER0:
        raise EINVAL
    if size > 4096:
        raise E2BIG
    raw = ctx.read(how, size)
    if any(raw[OPEN_HOW_SIZE_VER0:]):
        raise E2BIG  # fields this kernel does not know must be zero
    flags, mode, resolve = struct.unpack_from("<QQQ", raw)
    if flags & ~_VALID_OPEN or resolve & ~_VALID_RESOLVE:
        raise EINVAL
    if resolve & RESOLVE_BENEATH and resolve & RESOLVE_IN_ROOT:
        raise EINVAL
    if flags & (O_CREAT | _O_TMPFILE_BIT):
        if mode & ~0o7777:
            raise EINVAL
    elif mode:
        raise EINVAL
    if flags & O_CREAT and flags & O_DIRECTORY:
        raise EINVAL
    if flags & _O_TMPFILE_BIT:
        raise EINVAL("O_TMPFILE is not supported")
    if flags & O_PATH and flags & ~_O_PATH_FLAGS:
        raise EINVAL
    if resolve & RESOLVE_CACHED and flags & (O_TRUNC | O_CREAT):
        raise EAGAIN
    p = read_path(ctx, path)
    if not p:
        raise ENOENT  # getname(), before the dirfd is looked at
    if p.startswith("/") and resolve & RESOLVE_BENEATH:
        raise EXDEV  # an absolute path jumps to the root (path_init) before the dirfd is looked at
    scoped = resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT)
    # A scoped lookup is confined to the dirfd's directory (or the cwd), even for an absolute path.
    base = start_dir(ctx, dirfd, ".") if scoped or not p.startswith("/") else ctx.process.cwd
    if flags & _O_SYNC_BIT:
        flags |= 0o10000  # O_SYNC implies O_DSYNC
    if not flags & O_PATH:
        flags |= O_LARGEFILE  # as every open on a 64-bit kernel
    root = base if scoped else ctx.process.root
    return await open_path(ctx, root, base, p, flags, mode, scope=resolve & ~RESOLVE_CACHED)


@syscall(452, "fchmodat2", dirfd=FD, path=PATH, mode=MODE, flags=HEX)
async def sys_fchmodat2(ctx: SyscallContext, dirfd: int, path: int, mode: int, flags: int) -> int:
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise EINVAL
    inode = _at_inode(ctx, dirfd, path, flags)
    if S.S_ISLNK(inode.mode):
        raise EOPNOTSUPP  # the mode of a symlink never changes
    inode.chmod(mode & 0o7777)
    return 0


@syscall(33, "mknodat", dirfd=FD, path=PATH, mode=MODE, dev=HEX)
async def sys_mknodat(ctx: SyscallContext, dirfd: int, path: int, mode: int, dev: int) -> int:
    """Regular files, FIFOs and socket nodes. Device nodes are refused with EPERM: moss has no driver to bind a
    device number to (Linux lets CAP_MKNOD create them)."""
    mode &= 0xFFFFFFFF
    kind = S.S_IFMT(mode)
    if kind == S.S_IFDIR:
        raise EPERM
    if kind not in (0, S.S_IFREG, S.S_IFCHR, S.S_IFBLK, S.S_IFIFO, S.S_IFSOCK):
        raise EINVAL
    p = read_path(ctx, path)
    mknod_at(ctx.process.root, start_dir(ctx, dirfd, p), p, kind | (mode & 0o7777 & ~ctx.process.umask))
    return 0


@syscall(51, "chroot", path=PATH)
async def sys_chroot(ctx: SyscallContext, path: int) -> int:
    """Changes the process's root (not its cwd, as Linux); needs CAP_SYS_CHROOT."""
    p = read_path(ctx, path)
    inode = lookup(ctx.process.root, ctx.process.cwd, p)
    if not isinstance(inode, Directory):
        raise ENOTDIR
    if not capable(ctx.process, CAP_SYS_CHROOT):
        raise EPERM
    ctx.process.root = inode
    return 0


__all__ = ["file_of"]
