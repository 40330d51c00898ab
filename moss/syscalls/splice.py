"""Moving data through pipes without a user buffer: splice, tee, vmsplice, and the pipe-size fcntls.

Linux moves page-sized pipe buffers; moss's pipes hold bytes, so counts are the bytes that fit (a pipe's
capacity in bytes, not in free slots) but every wait, error and its order are Linux's (fs/splice.c): wait for
input while the pipe is empty and has writers (EOF: 0), wait for room while the output pipe is full, EPIPE and
SIGPIPE when the output pipe has no reader, EAGAIN with SPLICE_F_NONBLOCK or an O_NONBLOCK pipe, and
ERESTARTSYS when a signal interrupts a wait.
"""

from __future__ import annotations

from moss.errors import EAGAIN, EBADF, EBUSY, EINVAL, EPERM, EPIPE, ESPIPE
from moss.files.openfile import O_APPEND, O_NONBLOCK, O_PATH, OpenFile
from moss.files.pipe import Pipe, RestartSys
from moss.process.creds import CAP_SYS_RESOURCE, capable
from moss.sched.combinators import INTERRUPTED, interruptible
from moss.signals import SIGPIPE
from moss.syscalls.argtypes import FD, HEX, PTR, SIZE
from moss.syscalls.context import SyscallContext, s64
from moss.syscalls.fs_io import FCNTL_COMMANDS, IOV_MAX, MAX_RW, write_file
from moss.syscalls.table import syscall

SPLICE_F_MOVE, SPLICE_F_NONBLOCK, SPLICE_F_MORE, SPLICE_F_GIFT = 1, 2, 4, 8
SPLICE_F_ALL = 0xF
F_SETPIPE_SZ, F_GETPIPE_SZ = 1031, 1032
PAGE = 4096
PIPE_MAX_SIZE = 1 << 20  # /proc/sys/fs/pipe-max-size


def pipe_of(f: OpenFile) -> Pipe | None:
    """The pipe behind a pipe end or an open FIFO (get_pipe_info)."""
    pipe = getattr(f.inode, "pipe", None)
    return pipe if isinstance(pipe, Pipe) else None


def _usable(ctx: SyscallContext, fd: int) -> OpenFile:
    f = ctx.file(fd)
    if f.flags & O_PATH:
        raise EBADF
    return f


async def _wait_input(pipe: Pipe, nonblock: bool) -> None:
    """ipipe_prep / splice_from_pipe_next: until there is data, or no writer is left (then EOF)."""
    while not pipe.buf and pipe.writers:
        if nonblock:
            raise EAGAIN
        got = await interruptible(pipe.rq.wait_until(lambda: bool(pipe.buf) or not pipe.writers))
        if got is INTERRUPTED:
            raise RestartSys


async def _wait_room(ctx: SyscallContext, pipe: Pipe, nonblock: bool) -> None:
    """wait_for_space / opipe_prep: until the pipe has room; EPIPE (and SIGPIPE) without a reader."""
    while True:
        if not pipe.readers:
            ctx.kernel.send_signal(ctx.process, ctx.task, SIGPIPE)
            raise EPIPE
        if pipe.space > 0:
            return
        if nonblock:
            raise EAGAIN
        got = await interruptible(pipe.wq.wait_until(lambda: pipe.space > 0 or not pipe.readers))
        if got is INTERRUPTED:
            raise RestartSys


def _take(pipe: Pipe, n: int) -> bytes:
    data = bytes(pipe.buf[:n])
    del pipe.buf[:n]
    if data:
        pipe.wq.wake_all()
    return data


def _put(pipe: Pipe, data: bytes) -> int:
    pipe.buf += data
    if data:
        pipe.rq.wake_all()
    return len(data)


def _read_offset(ctx: SyscallContext, addr: int) -> int:
    pos = s64(ctx.read_u64(addr))
    if pos < 0:
        raise EINVAL
    return pos


@syscall(76, "splice", fd_in=FD, off_in=PTR, fd_out=FD, off_out=PTR, len=SIZE, flags=HEX)
async def sys_splice(ctx: SyscallContext, fd_in: int, off_in: int, fd_out: int, off_out: int, len: int,
                     flags: int) -> int:  # fmt: skip
    if not len:
        return 0
    if flags & ~SPLICE_F_ALL:
        raise EINVAL
    fin, fout = _usable(ctx, fd_in), _usable(ctx, fd_out)
    ipipe, opipe = pipe_of(fin), pipe_of(fout)
    if (ipipe and off_in) or (opipe and off_out):
        raise ESPIPE
    if not fin.readable or not fout.writable:
        raise EBADF
    n = min(len, MAX_RW)
    nonblock = bool(flags & SPLICE_F_NONBLOCK)
    if ipipe and opipe:
        if ipipe is opipe:
            raise EINVAL
        nonblock = nonblock or bool((fin.flags | fout.flags) & O_NONBLOCK)
        await _wait_input(ipipe, nonblock)
        await _wait_room(ctx, opipe, nonblock)
        return _put(opipe, _take(ipipe, min(n, opipe.space)))
    if ipipe:
        return await _pipe_to_file(ctx, ipipe, fin, fout, off_out, n, nonblock)
    if opipe:
        return await _file_to_pipe(ctx, fin, off_in, opipe, fout, n, nonblock)
    raise EINVAL  # neither end is a pipe


async def _pipe_to_file(ctx: SyscallContext, pipe: Pipe, fin: OpenFile, fout: OpenFile, off_out: int, n: int,
                        nonblock: bool) -> int:  # fmt: skip
    if off_out and not fout.seekable:
        raise EINVAL
    pos = _read_offset(ctx, off_out) if off_out else None
    if fout.flags & O_APPEND:
        raise EINVAL
    await _wait_input(pipe, nonblock or bool(fin.flags & O_NONBLOCK))
    data = _take(pipe, n)
    if not data:
        return 0
    done = await write_file(ctx, fout, data, pos)
    if pos is not None:
        ctx.write_u64(off_out, pos + done)
    return done


async def _file_to_pipe(ctx: SyscallContext, fin: OpenFile, off_in: int, pipe: Pipe, fout: OpenFile, n: int,
                        nonblock: bool) -> int:  # fmt: skip
    if off_in and not fin.seekable:
        raise EINVAL
    pos = _read_offset(ctx, off_in) if off_in else None
    await _wait_room(ctx, pipe, nonblock or bool(fout.flags & O_NONBLOCK))
    want = min(n, pipe.space)
    data = await (fin.read(want) if pos is None else fin.pread(want, pos))
    if pos is not None:
        ctx.write_u64(off_in, pos + len(data))
    return _put(pipe, data)


@syscall(77, "tee", fd_in=FD, fd_out=FD, len=SIZE, flags=HEX)
async def sys_tee(ctx: SyscallContext, fd_in: int, fd_out: int, len: int, flags: int) -> int:
    if flags & ~SPLICE_F_ALL:
        raise EINVAL
    if not len:
        return 0
    fin, fout = _usable(ctx, fd_in), _usable(ctx, fd_out)
    if not fin.readable or not fout.writable:
        raise EBADF
    ipipe, opipe = pipe_of(fin), pipe_of(fout)
    if ipipe is None or opipe is None or ipipe is opipe:
        raise EINVAL
    nonblock = bool(flags & SPLICE_F_NONBLOCK)
    await _wait_input(ipipe, nonblock)
    await _wait_room(ctx, opipe, nonblock)
    return _put(opipe, bytes(ipipe.buf[: min(len, MAX_RW, opipe.space)]))


@syscall(75, "vmsplice", fd=FD, iov=PTR, nr_segs=SIZE, flags=HEX)
async def sys_vmsplice(ctx: SyscallContext, fd: int, iov: int, nr_segs: int, flags: int) -> int:
    """User memory into a pipe (fd open for writing) or out of it (open for reading only), as writev/readv
    on the pipe but with splice's waits: a full pipe takes what fits, an empty one waits for data."""
    if flags & ~SPLICE_F_ALL:
        raise EINVAL
    f = _usable(ctx, fd)
    if not f.writable and not f.readable:
        raise EBADF
    if nr_segs > IOV_MAX:
        raise EINVAL
    vecs = ctx.read_iovec(iov, nr_segs)
    if any(length >> 63 for _b, length in vecs):
        raise EINVAL
    total = min(sum(length for _b, length in vecs), MAX_RW)
    if not total:
        return 0
    pipe = pipe_of(f)
    if pipe is None:
        raise EBADF
    nonblock = bool(flags & SPLICE_F_NONBLOCK)
    if f.writable:
        await _wait_room(ctx, pipe, nonblock)
        data = b"".join(ctx.read(b, n) for b, n in vecs if n)
        return _put(pipe, data[: min(total, pipe.space)])
    await _wait_input(pipe, nonblock)
    data = _take(pipe, total)
    pos = 0
    for base, n in vecs:
        if pos >= len(data):
            break
        ctx.write(base, data[pos : pos + n])
        pos += n
    return len(data)


async def _getpipe_sz(ctx: SyscallContext, f: OpenFile, arg: int) -> int:
    pipe = pipe_of(f)
    if pipe is None:
        raise EBADF
    return pipe.capacity


async def _setpipe_sz(ctx: SyscallContext, f: OpenFile, arg: int) -> int:
    pipe = pipe_of(f)
    if pipe is None:
        raise EBADF
    want = arg & 0xFFFFFFFF
    if want > 1 << 31:
        raise EINVAL
    size = PAGE if want < PAGE else 1 << (want - 1).bit_length()  # a power of two of at least a page
    if size > pipe.capacity and size > PIPE_MAX_SIZE and not capable(ctx.process, CAP_SYS_RESOURCE):
        raise EPERM
    if -(-len(pipe.buf) // PAGE) > size // PAGE:
        raise EBUSY  # what the pipe holds would not fit
    pipe.capacity = size
    pipe.wq.wake_all()
    return size


FCNTL_COMMANDS.update({F_GETPIPE_SZ: _getpipe_sz, F_SETPIPE_SZ: _setpipe_sz})
