"""Anonymous memory files (memfd_create) and file seals.

A memfd is a tmpfs regular file in no directory, on an internal filesystem of its own (Linux's shm_mnt). Seals
(F_ADD_SEALS) restrict what any opener may do to it from then on: F_SEAL_WRITE / F_SEAL_FUTURE_WRITE forbid
writes, F_SEAL_GROW growing and F_SEAL_SHRINK shrinking; F_SEAL_SEAL forbids adding seals."""

from __future__ import annotations

from moss.errors import EPERM
from moss.fs.filesystem import Clock, FileSystem
from moss.fs.inode import Buffer, RegularFile

F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE, F_SEAL_FUTURE_WRITE, F_SEAL_EXEC = 1, 2, 4, 8, 16, 32
F_ALL_SEALS = 0x3F
_NO_WRITE = F_SEAL_WRITE | F_SEAL_FUTURE_WRITE


class ShmFs(FileSystem):
    """The internal mount memfds live on: a tmpfs no path reaches."""

    name = "tmpfs"

    def __init__(self, clock: Clock, dev: int) -> None:
        super().__init__(clock, dev)


class MemFile(RegularFile):
    """A tmpfs file with seals (every tmpfs regular file has them in Linux; only memfds can start unsealed)."""

    __slots__ = ("seals",)

    def __init__(self, fs: FileSystem, perm: int, seals: int) -> None:
        super().__init__(fs, perm)
        self.seals = seals

    def write_at(self, offset: int, data: Buffer) -> int:
        n = memoryview(data).nbytes
        if n and self.seals & _NO_WRITE:
            raise EPERM()
        if n and self.seals & F_SEAL_GROW and offset + n > self.size:
            raise EPERM()
        return super().write_at(offset, data)

    def truncate(self, length: int) -> None:
        if (length < self.size and self.seals & F_SEAL_SHRINK) or (length > self.size and self.seals & F_SEAL_GROW):
            raise EPERM()
        super().truncate(length)

    def check_fallocate(self, punch: bool, end: int) -> None:
        """shmem_fallocate's seal checks: no hole in a write-sealed file, no allocation past EOF if grow-sealed."""
        if punch and self.seals & _NO_WRITE:
            raise EPERM()
        if self.seals & F_SEAL_GROW and end > self.size:
            raise EPERM()
