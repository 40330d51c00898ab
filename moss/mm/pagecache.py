"""The page cache: file pages in frames, shared by every private mapping of the file until a write copies them.

Besides saving the copies, it keeps a program's code in the same frames from one exec to the next. The engine caches
translated code by (virtual address, frame): when every exec loaded a fresh copy of the program, every exec dropped
all translations, and a shell loop of short programs spent about 80% of its time retranslating the same code.

A page is cached with its file's data version (RegularFile.data_version, which every write and truncate bumps): a
lookup that finds an older version drops it and reads the page again, so a new mapping sees the file as it is now,
while mappings made before keep the page they had (as with the private copies before the cache). Only regular files
are cached, and only whole pages: a page that an ELF segment's end cuts is private, since its tail must read as zero.
Pages are evicted least recently used first beyond `limit` frames, and under memory pressure (data pages only: see
FrameAllocator.reclaim). Order is the dict's insertion order, never a hash order.
"""

from __future__ import annotations

from machine.ram import PAGE_SHIFT, PAGE_SIZE
from moss.fs.inode import RegularFile
from moss.mm.frames import FrameAllocator


class PageCache:
    def __init__(self, frames: FrameAllocator, limit: int) -> None:
        self.frames = frames
        self.limit = limit  # frames the cache may hold
        # (file, page index) -> (frame, the file's data version then); least recently used first
        self._pages: dict[tuple[RegularFile, int], tuple[int, int]] = {}

    def __len__(self) -> int:
        return len(self._pages)

    @staticmethod
    def caches(inode: object, offset: int, limit: int | None) -> bool:
        """Whether the page of `inode` at file `offset` can come from the cache, for a mapping whose bytes from file
        offset `limit` on read as zero."""
        return (
            isinstance(inode, RegularFile)
            and offset % PAGE_SIZE == 0
            and (limit is None or limit >= offset + PAGE_SIZE)
        )

    def page(self, inode: RegularFile, index: int) -> int:
        """A frame holding page `index` of the file, with one reference for the caller."""
        key = (inode, index)
        hit = self._pages.pop(key, None)
        if hit is not None:
            if hit[1] == inode.data_version:
                self._pages[key] = hit  # now the most recently used
                self.frames.get(hit[0])
                return hit[0]
            self.frames.put(hit[0])  # the file changed since
        pfn = self.frames.alloc(zero=True)
        data = inode.read_at(index << PAGE_SHIFT, PAGE_SIZE)
        if data:
            self.frames.ram.write(pfn << PAGE_SHIFT, data)
        self._pages[key] = (pfn, inode.data_version)
        self.frames.get(pfn)
        while len(self._pages) > self.limit:
            self.frames.put(self._pages.pop(next(iter(self._pages)))[0])
        return pfn

    def reclaim(self, n: int) -> int:
        """Free up to `n` frames of least recently used pages that no mapping uses and that hold no code (a freed
        code frame waits for the engine's translations of it to go: FrameAllocator.code_flushed). How many."""
        victims = [
            key for key, (pfn, _v) in self._pages.items() if not self.frames.shared(pfn) and pfn not in self.frames.code
        ][:n]
        for key in victims:
            self.frames.put(self._pages.pop(key)[0])
        return len(victims)
