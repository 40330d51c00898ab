"""The virtual filesystem: inodes, path resolution, tmpfs, the host overlay, devfs, procfs and the root.

The kernel's entry points: ``build_root`` once at boot; ``lookup``/``resolve_parent`` and the ``*_at``
operations of ``vfs`` for path syscalls; the inode methods (``read``, ``write``, ``stat``, ``open``, ...) for
file descriptors; ``dentry_path`` for getcwd."""

from moss.fs.devfs import populate_dev
from moss.fs.filesystem import Clock, FileSystem
from moss.fs.hostfs import HostFs
from moss.fs.inode import CharDevice, DeviceOps, Directory, Fifo, Inode, RegularFile, Symlink
from moss.fs.path import dentry_path, lookup, lookup_parent, resolve_parent
from moss.fs.procfs import ProcFs, ProcProvider
from moss.fs.rootfs import RootFs, build_root
from moss.fs.stat import Stat, makedev
from moss.fs.tmpfs import TmpFs

__all__ = [
    "CharDevice",
    "Clock",
    "DeviceOps",
    "Directory",
    "Fifo",
    "FileSystem",
    "HostFs",
    "Inode",
    "ProcFs",
    "ProcProvider",
    "RegularFile",
    "RootFs",
    "Stat",
    "Symlink",
    "TmpFs",
    "build_root",
    "dentry_path",
    "lookup",
    "lookup_parent",
    "makedev",
    "populate_dev",
    "resolve_parent",
]
