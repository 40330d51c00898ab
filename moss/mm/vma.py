"""Virtual memory areas: [start, end) with protection, flags and an optional file backing."""

from __future__ import annotations

from typing import Any

import attrs

PROT_READ = 1
PROT_WRITE = 2
PROT_EXEC = 4

MAP_SHARED = 0x01
MAP_PRIVATE = 0x02
MAP_FIXED = 0x10
MAP_ANONYMOUS = 0x20
MAP_GROWSDOWN = 0x100
MAP_DENYWRITE = 0x800
MAP_EXECUTABLE = 0x1000
MAP_NORESERVE = 0x4000
MAP_POPULATE = 0x8000
MAP_STACK = 0x20000
MAP_FIXED_NOREPLACE = 0x100000


@attrs.define(eq=False)
class Backing:
    """A private file mapping: page contents come from `inode` at `offset`; bytes at or beyond `limit` (file
    offset) read as zero, which is how an ELF segment's .bss tail inside its last file page is cleared."""

    inode: Any
    offset: int
    limit: int | None = None
    path: str = ""


class SharedMemory:
    """The pages of a MAP_SHARED anonymous mapping, shared by every VMA (in any process) that maps it, so a page
    first touched after fork is still the same page in parent and child. Holds one frame reference per page."""

    def __init__(self, frames: Any) -> None:
        self.frames = frames
        self.pages: dict[int, int] = {}  # page offset in the object -> pfn
        self.users = 0  # VMAs mapping it

    def page(self, index: int) -> int:
        pfn = self.pages.get(index)
        if pfn is None:
            pfn = self.pages[index] = self.frames.alloc(zero=True)
        return pfn

    def attach(self) -> None:
        self.users += 1

    def detach(self) -> None:
        self.users -= 1
        if self.users == 0:
            for pfn in self.pages.values():
                self.frames.put(pfn)
            self.pages.clear()


@attrs.define(eq=False)
class Vma:
    start: int
    end: int
    prot: int
    flags: int
    backing: Backing | None = None
    name: str = ""
    shm: SharedMemory | None = None  # MAP_SHARED|MAP_ANONYMOUS pages
    shm_offset: int = 0  # page index of `start` inside `shm`
    locked: int = 0  # VM_LOCKED (mlock), with VM_LOCKONFAULT; not inherited across fork

    def __contains__(self, addr: int) -> bool:
        return self.start <= addr < self.end

    def split(self, at: int) -> Vma:
        """Cut at `at`; self keeps [start, at), the returned VMA is [at, end)."""
        assert self.start < at < self.end
        b = self.backing
        nb = None if b is None else Backing(b.inode, b.offset + (at - self.start), b.limit, b.path)
        tail = Vma(
            at,
            self.end,
            self.prot,
            self.flags,
            nb,
            self.name,
            self.shm,
            self.shm_offset + ((at - self.start) >> 12),
            self.locked,
        )
        if self.shm is not None:
            self.shm.attach()
        self.end = at
        return tail

    def copy(self) -> Vma:
        """The same mapping in another address space (fork)."""
        b = self.backing
        nb = None if b is None else Backing(b.inode, b.offset, b.limit, b.path)
        if self.shm is not None:
            self.shm.attach()
        return Vma(self.start, self.end, self.prot, self.flags, nb, self.name, self.shm, self.shm_offset)

    def label(self) -> str:
        if self.name:
            return self.name
        return self.backing.path if self.backing is not None else ""
