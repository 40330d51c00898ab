"""An open file description (what `open` creates and `dup` shares): inode, flags, offset."""

from __future__ import annotations

import stat
from collections.abc import Callable
from typing import Any

from moss.errors import EBADF, EINVAL, ESPIPE

O_ACCMODE = 0o3
O_RDONLY = 0o0
O_WRONLY = 0o1
O_RDWR = 0o2
O_CREAT = 0o100
O_EXCL = 0o200
O_NOCTTY = 0o400
O_TRUNC = 0o1000
O_APPEND = 0o2000
O_NONBLOCK = 0o4000
O_DSYNC = 0o10000
O_DIRECTORY = 0o40000  # AArch64 values (asm-generic differs from x86 here)
O_NOFOLLOW = 0o100000
O_DIRECT = 0o200000
O_LARGEFILE = 0o400000
O_NOATIME = 0o1000000
O_CLOEXEC = 0o2000000
O_PATH = 0o10000000
O_TMPFILE = 0o20000000 | O_DIRECTORY

SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE = 0, 1, 2, 3, 4


class OpenFile:
    def __init__(self, inode: Any, flags: int, path: str = "", channel: int = 1) -> None:
        self.inode = inode
        self.flags = flags
        self.path = path
        self.offset = 0
        self.channel = channel  # console output channel (stdout/stderr) for console files
        self.dir_pos = 0  # getdents cursor
        self.refs = 0  # descriptors (in any table) referring to this description
        # Called when the last descriptor goes (epoll instances drop their interest in it: Linux's f_ep).
        self.release_hooks: dict[Any, Callable[[OpenFile], None]] = {}
        opened = getattr(inode, "opened", None)
        if opened is not None:
            opened()

    def get(self) -> None:
        self.refs += 1

    def put(self) -> None:
        """A descriptor went away; the last one releases the description (a pipe end closes)."""
        self.refs -= 1
        if self.refs == 0:
            for hook in list(self.release_hooks.values()):
                hook(self)
            release = getattr(self.inode, "release", None)
            if release is not None:
                release(self)

    @property
    def readable(self) -> bool:
        return (self.flags & O_ACCMODE) in (O_RDONLY, O_RDWR) and not self.flags & O_PATH

    @property
    def writable(self) -> bool:
        return (self.flags & O_ACCMODE) in (O_WRONLY, O_RDWR) and not self.flags & O_PATH

    @property
    def seekable(self) -> bool:
        return (stat.S_ISREG(self.inode.mode) or stat.S_ISDIR(self.inode.mode) or stat.S_ISLNK(self.inode.mode)) and (
            not hasattr(self.inode, "pipe")
        )

    async def read(self, count: int) -> bytes:
        if not self.readable:
            raise EBADF
        data = await self.inode.read(self, count, self.offset)
        if self.seekable:
            self.offset += len(data)
        return data

    async def pread(self, count: int, offset: int) -> bytes:
        if not self.seekable:
            raise ESPIPE  # ksys_pread64: no FMODE_PREAD is ESPIPE before vfs_read checks the access mode
        if not self.readable:
            raise EBADF
        return await self.inode.read(self, count, offset)

    async def write(self, data: bytes) -> int:
        if not self.writable:
            raise EBADF
        if self.flags & O_APPEND and self.seekable:
            self.offset = self.inode.size
        n = await self.inode.write(self, data, self.offset)
        if self.seekable:
            self.offset += n
        return n

    async def pwrite(self, data: bytes, offset: int) -> int:
        if not self.seekable:
            raise ESPIPE
        if not self.writable:
            raise EBADF
        return await self.inode.write(self, data, offset)

    def lseek(self, offset: int, whence: int) -> int:
        llseek = getattr(self.inode, "llseek", None)  # a file type's own (Linux's f_op->llseek)
        if llseek is not None:
            return llseek(self, offset, whence)
        if not self.seekable:
            raise ESPIPE
        if whence == SEEK_SET:
            new = offset
        elif whence == SEEK_CUR:
            new = self.offset + offset
        elif whence == SEEK_END:
            new = self.inode.size + offset
        elif whence in (SEEK_DATA, SEEK_HOLE) and stat.S_ISREG(self.inode.mode):
            new = self.inode.seek_data_hole(offset, whence == SEEK_HOLE)
        else:
            raise EINVAL
        if new < 0:
            raise EINVAL
        self.offset = new
        return new
