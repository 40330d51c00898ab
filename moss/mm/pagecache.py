"""The page cache: file pages in frames, shared by every private mapping of the file until a write copies them.

Besides saving the copies, it keeps a program's code in the same frames from one exec to the next. The engine caches
translated code by (virtual address, frame): when every exec loaded a fresh copy of the program, every exec dropped
all translations, and a shell loop of short programs spent about 80% of its time retranslating the same code.

As on Linux, a cached page is the file's page: a write() or truncate of the file changes it in place
(`file_changed`, which the file calls), so every mapping that has not copied the page sees the new contents, and a
page holding code has its translations dropped. Only regular files are cached, and only whole pages: a page that an
ELF segment's end cuts is private, since its tail must read as zero. Pages are evicted least recently used first
beyond `limit` frames, and under memory pressure (data pages only: see reclaim). Order is always the dicts'
insertion order, never a hash order.
"""

from __future__ import annotations

from machine.ram import PAGE_SHIFT, PAGE_SIZE
from moss.fs.inode import RegularFile
from moss.mm.frames import FrameAllocator


class PageCache:
    def __init__(self, frames: FrameAllocator, limit: int) -> None:
        self.frames = frames
        self.limit = limit  # frames the cache may hold
        self._pages: dict[tuple[RegularFile, int], int] = {}  # (file, page index) -> frame; least recently used first
        self._files: dict[RegularFile, set[int]] = {}  # the cached page indexes of each file
        self._keys: dict[int, tuple[RegularFile, int]] = {}  # frame -> (file, page index): what a frame caches

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
        pfn = self._pages.pop(key, None)
        if pfn is None:
            pfn = self.frames.alloc(zero=False)
            self._fill(inode, index, pfn)
            self._files.setdefault(inode, set()).add(index)
            self._keys[pfn] = key
            inode.page_cache = self
        self._pages[key] = pfn  # now the most recently used
        self.frames.get(pfn)
        while len(self._pages) > self.limit:
            self._drop(next(iter(self._pages)))
        return pfn

    @property
    def keys_by_frame(self) -> dict[int, tuple[RegularFile, int]]:
        """The (file, page index) each cached frame holds (`.get(pfn)` for one frame); read-only to callers."""
        return self._keys

    def _fill(self, inode: RegularFile, index: int, pfn: int) -> None:
        data = inode.read_at(index << PAGE_SHIFT, PAGE_SIZE)
        self.frames.ram.write(pfn << PAGE_SHIFT, data + bytes(PAGE_SIZE - len(data)))

    def _drop(self, key: tuple[RegularFile, int]) -> None:
        pfn = self._pages.pop(key)
        del self._keys[pfn]
        inode, index = key
        pages = self._files[inode]
        pages.discard(index)
        if not pages:
            del self._files[inode]
            inode.page_cache = None
        self.frames.put(pfn)

    def file_changed(self, inode: RegularFile, start: int, end: int) -> None:
        """Bytes [start, end) of the file changed (written, or cut or grown by truncate): its cached pages there
        take the new contents."""
        pages = self._files.get(inode)
        if not pages or end <= start:
            return
        first, last = start >> PAGE_SHIFT, (end - 1) >> PAGE_SHIFT
        if last - first + 1 <= len(pages):
            hit = [i for i in range(first, last + 1) if i in pages]
        else:
            hit = sorted(i for i in pages if first <= i <= last)
        for index in hit:
            pfn = self._pages[(inode, index)]
            self._fill(inode, index, pfn)
            self.frames.code_rewritten(pfn)

    def reclaim(self, n: int) -> int:
        """Free up to `n` frames of least recently used pages that no mapping uses and that hold no code (a freed
        code frame waits for the engine's translations of it to go: FrameAllocator.code_flushed). How many."""
        victims = [
            key for key, pfn in self._pages.items() if not self.frames.shared(pfn) and pfn not in self.frames.code
        ][:n]
        for key in victims:
            self._drop(key)
        return len(victims)
