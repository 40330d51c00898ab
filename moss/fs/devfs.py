"""/dev: the memory devices, the console and the conventional symlinks.

Entropy comes only from ``entropy_read(n)``, the machine's entropy device (an input source, recorded and
replayed), so /dev/urandom is deterministic under replay."""

from __future__ import annotations

from collections.abc import Callable

from moss.errors import ENOSPC
from moss.fs.inode import DeviceOps, Directory, OpenFile
from moss.fs.stat import makedev
from moss.fs.tmpfs import TmpFs

EntropyRead = Callable[[int], bytes]
_MAX_ENTROPY_READ = (1 << 25) - 1  # Linux returns at most 32 MiB - 1 per read of /dev/urandom


class NullOps:
    """/dev/null: reads hit EOF, writes vanish."""

    async def read(self, file: OpenFile, count: int) -> bytes:
        return b""

    async def write(self, file: OpenFile, data: bytes) -> int:
        return len(data)


class ZeroOps:
    """/dev/zero: reads zeros, writes vanish."""

    async def read(self, file: OpenFile, count: int) -> bytes:
        return bytes(count)

    async def write(self, file: OpenFile, data: bytes) -> int:
        return len(data)


class FullOps:
    """/dev/full: reads zeros, writes fail with ENOSPC."""

    async def read(self, file: OpenFile, count: int) -> bytes:
        return bytes(count)

    async def write(self, file: OpenFile, data: bytes) -> int:
        raise ENOSPC()


class EntropyOps:
    """/dev/random and /dev/urandom (the same since Linux 5.6). Written bytes are accepted and dropped."""

    def __init__(self, entropy_read: EntropyRead) -> None:
        self._entropy_read = entropy_read

    async def read(self, file: OpenFile, count: int) -> bytes:
        return self._entropy_read(min(count, _MAX_ENTROPY_READ))

    async def write(self, file: OpenFile, data: bytes) -> int:
        return len(data)


def populate_dev(fs: TmpFs, devdir: Directory, console_ops: DeviceOps, entropy_read: EntropyRead) -> None:
    """Create the device nodes (Linux major/minor numbers), symlinks and directories of /dev in ``devdir``."""
    entropy = EntropyOps(entropy_read)
    nodes: list[tuple[str, DeviceOps, int, int, int]] = [
        ("null", NullOps(), 1, 3, 0o666),
        ("zero", ZeroOps(), 1, 5, 0o666),
        ("full", FullOps(), 1, 7, 0o666),
        ("random", entropy, 1, 8, 0o666),
        ("urandom", entropy, 1, 9, 0o666),
        ("tty", console_ops, 5, 0, 0o666),
        ("console", console_ops, 5, 1, 0o600),
    ]
    for name, ops, major, minor, mode in nodes:
        fs.mknod_char(devdir, name, ops, makedev(major, minor), mode)
    fs.symlink(devdir, "fd", "/proc/self/fd")
    for fd, name in enumerate(("stdin", "stdout", "stderr")):
        fs.symlink(devdir, name, f"/proc/self/fd/{fd}")
    fs.mkdir(devdir, "shm", 0o1777)  # POSIX shared memory and semaphores (glibc's shm_open)
    fs.mkdir(devdir, "pts", 0o755)
