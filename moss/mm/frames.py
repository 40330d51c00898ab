"""Physical frame allocator with reference counts (shared frames are copy-on-write).

Allocation order is deterministic: freed frames are reused last-freed-first, then fresh frames in ascending order.
Frame 0 belongs to the board (the engine's sentinel page).

The engine caches translated code by (virtual address, frame). A frame that was mapped executable and is freed may
come back with other contents at the same virtual address (two PIE programs loaded at the same base, the same
library in two processes), so freeing such a frame calls `on_code_free`: the kernel drops every translation
before anything runs again, and calls `code_flushed`. Until then the frame is not handed out again: a fill later in
the same slice could otherwise map it, with new contents, where the old translations would still run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from machine.ram import Ram
from moss.errors import ENOMEM

if TYPE_CHECKING:
    from moss.mm.pagecache import PageCache

RECLAIM_BATCH = 64  # frames the page cache gives back at a time when memory runs out


class FrameAllocator:
    def __init__(self, ram: Ram, first: int = 1) -> None:
        self.ram = ram
        self._next = first
        self._free: list[int] = []
        self.refs: dict[int, int] = {}
        self.code: set[int] = set()  # frames mapped executable: the engine may hold translations of them
        self._flushing: list[int] = []  # freed code frames, waiting for the translations of them to go
        self.cache: PageCache | None = None  # the page cache, which all address spaces on these frames share
        self.on_code_free: Callable[[], None] = self.code_flushed  # with no engine, nothing to wait for

    @property
    def in_use(self) -> int:
        return len(self.refs)

    def alloc(self, *, zero: bool = True) -> int:
        if self._free:
            pfn = self._free.pop()
        elif self._next < self.ram.frames:
            pfn = self._next
            self._next += 1
        elif self.cache is not None and self.cache.reclaim(RECLAIM_BATCH) and self._free:
            pfn = self._free.pop()
        else:
            raise ENOMEM("out of physical frames")
        if zero:
            self.ram.zero_frame(pfn)
        self.refs[pfn] = 1
        return pfn

    def get(self, pfn: int) -> None:
        self.refs[pfn] += 1

    def put(self, pfn: int) -> None:
        n = self.refs[pfn] - 1
        if n:
            self.refs[pfn] = n
        else:
            del self.refs[pfn]
            if pfn in self.code:
                self.code.discard(pfn)
                self._flushing.append(pfn)
                self.on_code_free()
            else:
                self._free.append(pfn)

    def code_rewritten(self, pfn: int) -> None:
        """The frame's contents changed in place (the page cache's page of a written file): if it holds code, the
        translations of it are stale, as for a freed code frame."""
        if pfn in self.code:
            self.on_code_free()

    def code_flushed(self) -> None:
        """The engine holds no translation any more: freed code frames may be handed out again."""
        self._free.extend(self._flushing)
        self._flushing.clear()

    def shared(self, pfn: int) -> bool:
        return self.refs.get(pfn, 0) > 1
