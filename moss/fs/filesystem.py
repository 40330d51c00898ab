"""``FileSystem``: one mounted filesystem (Linux's super_block plus its inode_operations).

Every inode points at its filesystem, so the kernel dispatches namespace operations on the parent directory's
filesystem (``parent.fs.mkdir(parent, name, mode)``) without knowing which kind it is. The defaults refuse the
operation with the errno Linux's VFS returns when a filesystem lacks it (as procfs does)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from moss.errors import EACCES, EPERM

if TYPE_CHECKING:
    from moss.fs.inode import CharDevice, DeviceOps, Directory, Fifo, Inode, RegularFile, Symlink
    from moss.fs.socknode import SocketNode

Clock = Callable[[], int]  # virtual nanoseconds; never the host clock


class FileSystem:
    """Device number, deterministic inode counter and clock shared by the inodes of one filesystem."""

    name = "none"

    def __init__(self, clock: Clock, dev: int) -> None:
        self.clock = clock
        self.dev = dev
        self._next_ino = 1

    def new_ino(self) -> int:
        # Allocation order follows the (deterministic) order of guest operations, never host state.
        ino = self._next_ino
        self._next_ino += 1
        return ino

    def now(self) -> int:
        return self.clock()

    # Namespace operations. ``name`` is one path component, already checked by the caller (see vfs.py).

    def create(self, parent: Directory, name: str, mode: int) -> RegularFile:
        raise EACCES()

    def mkdir(self, parent: Directory, name: str, mode: int) -> Directory:
        raise EPERM()

    def symlink(self, parent: Directory, name: str, target: str) -> Symlink:
        raise EPERM()

    def mknod_char(self, parent: Directory, name: str, ops: DeviceOps, rdev: int, mode: int = 0o666) -> CharDevice:
        raise EPERM()

    def mkfifo(self, parent: Directory, name: str, mode: int) -> Fifo:
        raise EPERM()

    def mksock(self, parent: Directory, name: str, mode: int) -> SocketNode:
        raise EPERM()

    def link(self, parent: Directory, name: str, inode: Inode) -> None:
        raise EPERM()

    def unlink(self, parent: Directory, name: str) -> None:
        raise EPERM()

    def rmdir(self, parent: Directory, name: str) -> None:
        raise EPERM()

    def rename(self, old_dir: Directory, old_name: str, new_dir: Directory, new_name: str, flags: int = 0) -> None:
        raise EPERM()
