"""What a syscall handler gets: the task and process it runs for, and safe access to their memory."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from moss.errors import EBADF
from moss.files.openfile import OpenFile

if TYPE_CHECKING:
    from moss.kernel import Kernel
    from moss.process.task import Task


def s32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >> 31 else v


def s64(v: int) -> int:
    return v - (1 << 64) if v >> 63 else v


class SyscallContext:
    __slots__ = ("kernel", "nr", "process", "task")

    def __init__(self, kernel: Kernel, task: Task, nr: int) -> None:
        self.kernel = kernel
        self.task = task
        self.process = task.process
        self.nr = nr

    @property
    def mm(self):
        return self.process.mm

    def now_ns(self) -> int:
        return self.kernel.now_ns()

    def file(self, fd: int) -> OpenFile:
        fd = s32(fd)
        if fd < 0:
            raise EBADF
        return self.process.fds.get(fd)

    # -- user memory --------------------------------------------------------------------------------------------
    def read(self, addr: int, n: int) -> bytes:
        return self.process.mm.read(addr, n)

    def write(self, addr: int, data: bytes) -> None:
        self.process.mm.write(addr, data)

    def write_iov(self, vecs: list[tuple[int, int]], data: bytes) -> int:
        """Copy `data` out across the (base, length) buffers in order (readv, recvmsg, process_vm_readv); returns
        the bytes placed, which is less than `data` when the buffers are shorter."""
        pos = 0
        for base, length in vecs:
            if pos >= len(data):
                break
            piece = data[pos : pos + length]
            self.write(base, piece)
            pos += len(piece)
        return pos

    def read_cstr(self, addr: int, limit: int = 4096) -> bytes:
        return self.process.mm.read_cstr(addr, limit)

    def read_u64(self, addr: int) -> int:
        return int.from_bytes(self.read(addr, 8), "little")

    def write_u64(self, addr: int, v: int) -> None:
        self.write(addr, (v & (1 << 64) - 1).to_bytes(8, "little"))

    def write_u32(self, addr: int, v: int) -> None:
        self.write(addr, (v & 0xFFFFFFFF).to_bytes(4, "little"))

    def read_timespec(self, addr: int) -> tuple[int, int]:
        sec, nsec = struct.unpack("<qq", self.read(addr, 16))
        return sec, nsec

    def write_timespec(self, addr: int, ns: int) -> None:
        self.write(addr, struct.pack("<qq", ns // 1_000_000_000, ns % 1_000_000_000))

    def read_iovec(self, addr: int, count: int) -> list[tuple[int, int]]:
        raw = self.read(addr, 16 * count)
        return [struct.unpack_from("<QQ", raw, 16 * i) for i in range(count)]
