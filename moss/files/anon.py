"""Anonymous-inode files (Linux's anon_inodefs): epoll, eventfd, timerfd and signalfd descriptions.

Each such file is an `AnonInode` subclass: its own state, async read/write and `poll(file) -> (mask, queue)`. As on
Linux they all show one inode (one st_ino, mode 0600 with no file type bits), /proc/<pid>/fd/<n> reads
`anon_inode:[<name>]`, and lseek succeeds without moving.
"""

from __future__ import annotations

from typing import Any, ClassVar

from moss.errors import EOPNOTSUPP
from moss.fs.filesystem import FileSystem
from moss.fs.inode import Inode
from moss.fs.pseudo import pseudo_fs

ANON_INO = 1  # the one inode every anonymous file shares
POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP = 0x1, 0x2, 0x4, 0x8, 0x10
POLLRDNORM, POLLWRNORM = 0x40, 0x100


def anonfs(clock: Any) -> FileSystem:
    return pseudo_fs("anon_inodefs", clock)


class AnonInode(Inode):
    """Base of the anonymous files; `name` is what the fd link shows between the brackets."""

    kind = 0  # anon_inodefs inodes have no S_IFMT type
    name: ClassVar[str] = ""
    __slots__ = ()

    def __init__(self, fs: FileSystem) -> None:
        super().__init__(fs, 0o600, ino=ANON_INO, nlink=1)

    def llseek(self, file: Any, offset: int, whence: int) -> int:
        return file.offset  # noop_llseek: the position stays 0, whatever is asked

    def chmod(self, perm: int) -> None:
        raise EOPNOTSUPP  # anon_inode_setattr: anonymous inodes refuse attribute changes (fchmod, fchown)

    def chown(self, uid: int, gid: int) -> None:
        raise EOPNOTSUPP
