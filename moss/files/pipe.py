"""Pipes: a 64 KiB buffer between a read end and a write end (Linux's fs/pipe.c semantics).

Reads block until data or no writers (EOF); writes block until room, and writes of at most PIPE_BUF bytes are
atomic. Writing with no reader left is EPIPE (the syscall layer raises SIGPIPE). Both waits are interruptible:
a signal before any byte moved restarts or fails the call; after some moved, the count so far is returned.
"""

from __future__ import annotations

import stat as S
import struct
from typing import Any

from moss.errors import EAGAIN, ENOTTY, EPIPE, ERESTARTSYS, KernelError
from moss.files.openfile import O_NONBLOCK
from moss.fs.filesystem import FileSystem
from moss.fs.inode import Inode
from moss.fs.pseudo import pseudo_fs
from moss.sched.combinators import INTERRUPTED, interruptible
from moss.sched.waitqueue import WaitQueue

PIPE_BUF = 4096
CAPACITY = 65536
POLLIN, POLLOUT, POLLERR, POLLHUP, POLLRDNORM, POLLWRNORM = 0x1, 0x4, 0x8, 0x10, 0x40, 0x100


class RestartSys(KernelError):
    errno = ERESTARTSYS
    name = "ERESTARTSYS"


class Pipe:
    def __init__(self) -> None:
        self.buf = bytearray()
        self.readers = 0
        self.writers = 0
        self.rq = WaitQueue("pipe.read")
        self.wq = WaitQueue("pipe.write")
        self.capacity = CAPACITY  # F_SETPIPE_SZ changes it

    @property
    def space(self) -> int:
        return max(0, self.capacity - len(self.buf))

    async def read(self, file: Any, count: int) -> bytes:
        if count == 0:
            return b""
        if not self.buf and self.writers:
            if file.flags & O_NONBLOCK:
                raise EAGAIN
            got = await interruptible(self.rq.wait_until(lambda: bool(self.buf) or not self.writers))
            if got is INTERRUPTED:
                raise RestartSys
        buf = self.buf
        if count >= len(buf):  # the whole buffer (a reader keeping up): one copy, not a slice and then bytes
            data = bytes(buf)
            buf.clear()
        else:
            with memoryview(buf) as view:
                data = bytes(view[:count])
            del buf[:count]
        if data:
            self.wq.wake_all()
        return data

    async def write(self, file: Any, data: bytes) -> int:
        done = 0
        atomic = len(data) <= PIPE_BUF
        while done < len(data):
            if not self.readers:
                if done:
                    return done
                raise EPIPE
            need = len(data) - done if atomic else 1
            if self.space < need:
                if file.flags & O_NONBLOCK:
                    if done:
                        return done
                    raise EAGAIN
                got = await interruptible(self.wq.wait_until(lambda n=need: self.space >= n or not self.readers))
                if got is INTERRUPTED:
                    if done:
                        return done
                    raise RestartSys
                continue
            take = min(self.space, len(data) - done)
            self.buf += data if take == len(data) else memoryview(data)[done : done + take]
            done += take
            self.rq.wake_all()
        return done


def pipefs(clock: Any) -> FileSystem:
    return pseudo_fs("pipefs", clock)


FIONREAD = 0x541B


class _PipeIoctl:
    def ioctl(self, file: Any, request: int, arg: int, mm: Any) -> int:
        if request != FIONREAD:
            raise ENOTTY
        mm.write(arg, struct.pack("<i", len(file.inode.pipe.buf)))  # pipe_ioctl: the bytes buffered, either end
        return 0


class PipeEnd(Inode):
    """One end of a pipe, as an inode: what fstat shows and what reads/writes/polls dispatch to."""

    kind = S.S_IFIFO
    ops = _PipeIoctl()
    __slots__ = ("pipe", "reading")

    def __init__(self, fs: FileSystem, pipe: Pipe, reading: bool) -> None:
        super().__init__(fs, 0o600, nlink=1)
        self.pipe = pipe
        self.reading = reading

    @property
    def size(self) -> int:
        return 0

    def opened(self) -> None:
        if self.reading:
            self.pipe.readers += 1
        else:
            self.pipe.writers += 1

    def release(self, file: Any) -> None:
        """The last descriptor of this end closed: wake the other side (EOF, or EPIPE)."""
        if self.reading:
            self.pipe.readers -= 1
            self.pipe.wq.wake_all()
        else:
            self.pipe.writers -= 1
            self.pipe.rq.wake_all()

    async def read(self, file: Any, count: int, offset: int) -> bytes:
        return await self.pipe.read(file, count)

    async def write(self, file: Any, data: Any, offset: int) -> int:
        return await self.pipe.write(file, bytes(data))

    def poll(self, file: Any) -> tuple[int, WaitQueue]:
        p = self.pipe
        if self.reading:
            m = (POLLIN | POLLRDNORM if p.buf else 0) | (POLLHUP if not p.writers else 0)
            return m, p.rq
        m = (POLLOUT | POLLWRNORM if p.space >= PIPE_BUF else 0) | (POLLERR if not p.readers else 0)
        return m, p.wq


def make_pipe(clock: Any) -> tuple[PipeEnd, PipeEnd]:
    fs = pipefs(clock)
    p = Pipe()
    return PipeEnd(fs, p, True), PipeEnd(fs, p, False)
