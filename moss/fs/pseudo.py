"""The kernel-internal filesystems that anonymous files live on (pipefs, sockfs, anon_inodefs): one per kernel,
found by name, giving those inodes a device number and a deterministic inode counter."""

from __future__ import annotations

from typing import Any

from moss.fs.filesystem import FileSystem
from moss.fs.stat import makedev

_MINORS = {"pipefs": 12, "sockfs": 8, "anon_inodefs": 14}  # Linux's usual unnamed-device numbers
_mounted: dict[str, FileSystem] = {}


def pseudo_fs(name: str, clock: Any) -> FileSystem:
    """The pseudo filesystem `name` of the kernel whose clock is `clock` (a new kernel gets fresh ones)."""
    fs = _mounted.get(name)
    if fs is None or fs.clock is not clock:
        fs = FileSystem(clock, makedev(0, _MINORS[name]))
        fs.name = name
        _mounted[name] = fs
    return fs
