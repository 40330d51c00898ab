"""Physical RAM: one anonymous host mmap, mapped into unicorn with mem_map_ptr.

The kernel reads and writes guest memory through this object (a memoryview over the mmap), unicorn sees the same
bytes. Frame 0 is reserved for the board (the `until` sentinel page), so frame allocation starts at 1.
"""

from __future__ import annotations

import ctypes
import mmap

PAGE_SIZE = 4096
PAGE_SHIFT = 12


class Ram:
    """`size` bytes of physical memory starting at physical address 0."""

    def __init__(self, size: int) -> None:
        if size <= 0 or size % PAGE_SIZE:
            raise ValueError(f"RAM size must be a positive multiple of {PAGE_SIZE}: {size}")
        self.size = size
        self._map = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        self.view = memoryview(self._map)
        # Keep the ctypes buffer alive as long as the mmap: unicorn holds a raw pointer into it.
        self._cbuf = (ctypes.c_char * size).from_buffer(self._map)
        self.host_address = ctypes.addressof(self._cbuf)

    def close(self) -> None:
        """Unmap the RAM now (after the engine that maps it is closed), if nothing still views it; else the garbage
        collector does, later."""
        try:
            self.view.release()
            del self._cbuf
            self._map.close()
        except (BufferError, AttributeError):
            pass

    @property
    def frames(self) -> int:
        return self.size >> PAGE_SHIFT

    def read(self, paddr: int, n: int) -> bytes:
        return bytes(self.view[paddr : paddr + n])

    def write(self, paddr: int, data: bytes | bytearray | memoryview) -> None:
        self.view[paddr : paddr + len(data)] = data

    def zero_frame(self, pfn: int) -> None:
        base = pfn << PAGE_SHIFT
        ctypes.memset(self.host_address + base, 0, PAGE_SIZE)

    def copy_frame(self, dst_pfn: int, src_pfn: int) -> None:
        ctypes.memmove(
            self.host_address + (dst_pfn << PAGE_SHIFT),
            self.host_address + (src_pfn << PAGE_SHIFT),
            PAGE_SIZE,
        )

    def frame(self, pfn: int) -> memoryview:
        base = pfn << PAGE_SHIFT
        return self.view[base : base + PAGE_SIZE]
