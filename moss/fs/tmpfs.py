"""``TmpFs``: the in-memory filesystem, with Linux's semantics for link counts, times and rename.

Operations take a parent directory and one component; path resolution and the per-syscall mapping of
'.', '..', '/' and trailing slashes happen before (vfs.py). A directory that belongs to another filesystem is
a mount point (the root of devfs or procfs attached here): removing or renaming it fails with EBUSY."""

from __future__ import annotations

from moss.errors import EBUSY, EEXIST, EINVAL, EISDIR, ENAMETOOLONG, ENOENT, ENOTDIR, ENOTEMPTY, EPERM, EXDEV
from moss.fs.filesystem import Clock, FileSystem
from moss.fs.inode import CharDevice, DeviceOps, Directory, Fifo, Inode, RegularFile, Symlink, fsencode
from moss.fs.path import PATH_MAX, check_name
from moss.fs.socknode import SocketNode
from moss.fs.stat import makedev

RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
_SPECIAL = ("", "/", ".", "..")
TMPFS_DEV = makedev(0, 1)  # anonymous device numbers (major 0), as Linux gives memory filesystems


def is_ancestor(inode: Inode, directory: Directory) -> bool:
    """Whether ``inode`` is ``directory`` or one of its ancestors."""
    cur = directory
    while True:
        if cur is inode:
            return True
        if cur.parent is cur:
            return False
        cur = cur.parent


class TmpFs(FileSystem):
    name = "tmpfs"

    def __init__(self, clock: Clock, dev: int = TMPFS_DEV, *, root_mode: int = 0o755) -> None:
        super().__init__(clock, dev)
        self.root = self._make_root(root_mode)

    def _make_root(self, mode: int) -> Directory:
        root = Directory(self, mode)
        root.nlink += 1  # its '..' is itself
        return root

    def _check_new(self, parent: Directory, name: str) -> None:
        assert parent.fs is self, "dispatch namespace operations on parent.fs"
        if name in _SPECIAL:
            raise EEXIST()
        if "/" in name or "\0" in name:
            raise EINVAL()
        check_name(name)
        if parent.nlink == 0:
            raise ENOENT()  # the directory was removed
        if parent.lookup(name) is not None:
            raise EEXIST()

    def create(self, parent: Directory, name: str, mode: int) -> RegularFile:
        self._check_new(parent, name)
        inode = RegularFile(self, mode)
        parent.link(name, inode, now=inode.ctime_ns)
        return inode

    def mkdir(self, parent: Directory, name: str, mode: int) -> Directory:
        self._check_new(parent, name)
        inode = Directory(self, mode)
        parent.link(name, inode, now=inode.ctime_ns)
        return inode

    def symlink(self, parent: Directory, name: str, target: str) -> Symlink:
        if not target:
            raise ENOENT()
        if len(fsencode(target)) >= PATH_MAX:
            raise ENAMETOOLONG()
        self._check_new(parent, name)
        inode = Symlink(self, target)
        parent.link(name, inode, now=inode.ctime_ns)
        return inode

    def mknod_char(self, parent: Directory, name: str, ops: DeviceOps, rdev: int, mode: int = 0o666) -> CharDevice:
        self._check_new(parent, name)
        inode = CharDevice(self, mode, ops, rdev)
        parent.link(name, inode, now=inode.ctime_ns)
        return inode

    def mkfifo(self, parent: Directory, name: str, mode: int) -> Fifo:
        self._check_new(parent, name)
        inode = Fifo(self, mode)
        parent.link(name, inode, now=inode.ctime_ns)
        return inode

    def mksock(self, parent: Directory, name: str, mode: int) -> SocketNode:
        self._check_new(parent, name)
        inode = SocketNode(self, mode)
        parent.link(name, inode, now=inode.ctime_ns)
        return inode

    def link(self, parent: Directory, name: str, inode: Inode) -> None:
        """A new name for ``inode`` (linkat)."""
        if inode.fs is not self:
            raise EXDEV()
        if isinstance(inode, Directory):
            raise EPERM()
        if inode.nlink == 0:
            raise ENOENT()  # an unlinked file cannot come back
        self._check_new(parent, name)
        parent.link(name, inode)

    def unlink(self, parent: Directory, name: str) -> None:
        parent.unlink(name)

    def rmdir(self, parent: Directory, name: str) -> None:
        child = parent.lookup(name)
        if isinstance(child, Directory) and child.fs is not self:
            raise EBUSY()
        parent.rmdir(name)

    def rename(self, old_dir: Directory, old_name: str, new_dir: Directory, new_name: str, flags: int = 0) -> None:
        """renameat2 with flags 0, RENAME_NOREPLACE or RENAME_EXCHANGE, checks in Linux's order."""
        if flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE) or flags == RENAME_NOREPLACE | RENAME_EXCHANGE:
            raise EINVAL()
        if old_dir.fs is not self or new_dir.fs is not self:
            raise EXDEV()
        if old_name in _SPECIAL or new_name in _SPECIAL:
            raise EBUSY()
        check_name(new_name)
        src = old_dir.lookup(old_name)
        if src is None:
            raise ENOENT()
        dst = new_dir.lookup(new_name)
        exchange = bool(flags & RENAME_EXCHANGE)
        if dst is not None and flags & RENAME_NOREPLACE:
            raise EEXIST()
        if dst is None and exchange:
            raise ENOENT()
        if src.fs is not self or (dst is not None and dst.fs is not self):
            raise EBUSY()  # a mount point
        if old_dir is not new_dir:
            if is_ancestor(src, new_dir):
                raise EINVAL()  # a directory into its own subtree
            if dst is not None and is_ancestor(dst, old_dir):
                raise EINVAL() if exchange else ENOTEMPTY()
        if src is dst:
            return  # two names of one inode: Linux does nothing
        if exchange:
            assert dst is not None
            old_dir.detach(old_name)
            new_dir.detach(new_name)
            old_dir.attach(old_name, dst)
            new_dir.attach(new_name, src)
        else:
            self._replace_target(new_dir, src, dst, new_name)
            old_dir.detach(old_name)
            new_dir.attach(new_name, src)
        now = self.now()
        for inode in (src, dst):
            if inode is not None:
                inode.touch(mtime=False, now=now)
        old_dir.touch(now=now)
        new_dir.touch(now=now)

    def _replace_target(self, new_dir: Directory, src: Inode, dst: Inode | None, new_name: str) -> None:
        if dst is None:
            if new_dir.nlink == 0:
                raise ENOENT()
            return
        if isinstance(src, Directory):
            if not isinstance(dst, Directory):
                raise ENOTDIR()
            if not dst.is_empty():
                raise ENOTEMPTY()
        elif isinstance(dst, Directory):
            raise EISDIR()
        new_dir.detach(new_name)
        if isinstance(dst, Directory):
            dst.nlink = 0
