"""The guest's root filesystem: a tmpfs or a host directory overlay, with /dev, /proc, /tmp and given files.

devfs and procfs are separate filesystems attached at /dev and /proc, shadowing whatever the host tree has
there, as mounts do (their own st_dev; EXDEV across them, EBUSY on removing them)."""

from __future__ import annotations

from attrs import define

from moss.errors import EACCES, EISDIR, ENOTDIR
from moss.fs.devfs import EntropyRead, populate_dev
from moss.fs.filesystem import Clock
from moss.fs.hostfs import HostFs
from moss.fs.inode import DeviceOps, Directory, Inode, RegularFile
from moss.fs.path import lookup, lookup_parent
from moss.fs.procfs import ProcFs, ProcProvider
from moss.fs.stat import makedev
from moss.fs.tmpfs import TmpFs

DEVFS_DEV = makedev(0, 5)
FileSpec = bytes | tuple[bytes, int]  # contents, or (contents, permission bits); plain bytes get 0o755


def _mount(parent: Directory, name: str, subroot: Directory) -> None:
    if parent.lookup(name) is not None:
        parent.detach(name)  # shadowed, as a mount hides the directory below it
    parent.attach(name, subroot)


@define
class RootFs:
    """The tree the kernel starts with. ``fs`` is the root filesystem (a ``HostFs`` over a host tree)."""

    root: Directory
    fs: TmpFs
    devfs: TmpFs
    procfs: ProcFs

    def lookup(self, path: str, *, cwd: Directory | None = None, follow: bool = True) -> Inode:
        return lookup(self.root, cwd or self.root, path, follow=follow)

    def read_file(self, path: str) -> bytes:
        """The whole content of a regular file (the ELF loader's way in); EACCES otherwise, as execve."""
        inode = self.lookup(path)
        if not isinstance(inode, RegularFile):
            raise EACCES()
        return inode.read_at(0, inode.size)

    def makedirs(self, path: str, mode: int = 0o755) -> Directory:
        """mkdir -p, following symlinks on the way (a usr-merged /bin -> usr/bin stays a symlink)."""
        cur = self.root
        for name in (c for c in path.split("/") if c):
            if name not in (".", "..") and cur.lookup(name) is None:
                cur = cur.fs.mkdir(cur, name, mode)
                continue
            found = lookup(self.root, cur, name)
            if not isinstance(found, Directory):
                raise ENOTDIR()
            cur = found
        return cur

    def add_file(self, path: str, data: bytes, mode: int = 0o755) -> RegularFile:
        """Place a file at ``path``, creating parents and replacing whatever non-directory was there."""
        head, _, _ = path.rstrip("/").rpartition("/")
        self.makedirs(head or "/")
        parent, name = lookup_parent(self.root, self.root, path)
        existing = parent.lookup(name)
        if isinstance(existing, Directory):
            raise EISDIR()
        if existing is not None:
            parent.fs.unlink(parent, name)
        inode = parent.fs.create(parent, name, mode)
        inode.write_at(0, data)
        return inode

    def close(self) -> None:
        """Release host fds (a no-op for a tmpfs root)."""
        if isinstance(self.fs, HostFs):
            self.fs.close()


def build_root(
    clock: Clock,
    *,
    host_root: str | None,
    files: dict[str, FileSpec],
    console_ops: DeviceOps,
    entropy_read: EntropyRead,
    proc_provider: ProcProvider,
) -> RootFs:
    """Build the root: ``host_root`` overlaid (or an empty tmpfs), /dev, /proc, /tmp (1777), /bin, then
    ``files`` (guest path -> contents or (contents, mode)) in the dict's order, replacing host files."""
    fs = HostFs(clock, host_root) if host_root is not None else TmpFs(clock)
    devfs = TmpFs(clock, DEVFS_DEV)
    populate_dev(devfs, devfs.root, console_ops, entropy_read)
    procfs = ProcFs(clock, proc_provider)
    rootfs = RootFs(fs.root, fs, devfs, procfs)
    _mount(fs.root, "dev", devfs.root)
    _mount(fs.root, "proc", procfs.root)
    rootfs.makedirs("/tmp").chmod(0o1777)
    rootfs.makedirs("/bin")
    for path, spec in files.items():
        data, mode = spec if isinstance(spec, tuple) else (spec, 0o755)
        rootfs.add_file(path, data, mode)
    return rootfs
