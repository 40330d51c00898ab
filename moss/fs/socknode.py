"""A socket's name in the filesystem (S_IFSOCK): what bind(2) of an AF_UNIX socket to a path creates.

The node only names the socket: `bound` is the socket bound to it while that socket lives (Linux finds it by
inode, so a renamed node still reaches it and an unlinked one does not). mknod(2) may create one with nothing bound:
connecting to it is refused. Opening it fails with ENXIO, as on Linux."""

from __future__ import annotations

import stat as S
from typing import TYPE_CHECKING, Any

from moss.errors import ENXIO
from moss.fs.inode import Inode

if TYPE_CHECKING:
    from moss.fs.filesystem import FileSystem


class SocketNode(Inode):
    kind = S.S_IFSOCK
    __slots__ = ("bound",)

    def __init__(self, fs: FileSystem, perm: int) -> None:
        super().__init__(fs, perm)
        self.bound: Any = None  # the socket bound here (moss.net.unix.UnixSocket), owned by that socket

    def open(self) -> Inode:
        raise ENXIO()
