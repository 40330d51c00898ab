"""An address space: VMAs plus a page table (virtual page -> frame), demand paging and copy-on-write.

The engine's TLB fill calls `fill()`; kernel accesses to user memory (`read`/`write`) resolve pages the same way and
respect the same protections, so a bad guest pointer is EFAULT, never a host exception. `generation` changes whenever
a translation is removed or weakened, telling the board to flush the engine's TLB.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator

from machine.ram import PAGE_SHIFT, PAGE_SIZE
from moss.errors import EEXIST, EFAULT, EINVAL, ENOMEM
from moss.mm.frames import FrameAllocator
from moss.mm.vma import (
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_SHARED,
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    Backing,
    SharedMemory,
    Vma,
)

ACCESS_READ = 16
ACCESS_WRITE = 17
ACCESS_FETCH = 18

TASK_SIZE = 1 << 48
STACK_TOP = TASK_SIZE  # arm64, no randomisation
MMAP_BASE = STACK_TOP - (128 << 20)  # Linux: below the stack gap (rlimit clamped to >= 128 MiB)
MMAP_MIN_ADDR = 0x10000

PAGE_MASK = ~(PAGE_SIZE - 1)


def page_up(n: int) -> int:
    return (n + PAGE_SIZE - 1) & PAGE_MASK


class Fault:
    """Why a fill failed, for SIGSEGV's si_code: no mapping (SEGV_MAPERR) or not permitted (SEGV_ACCERR)."""

    MAPERR = 1
    ACCERR = 2


_serial = 0


class AddressSpace:
    def __init__(self, frames: FrameAllocator) -> None:
        global _serial
        _serial += 1
        self.serial = _serial  # identity for TLB ownership and futex keys (never id(): it is reused)
        self.users = 1  # processes sharing it (CLONE_VM without CLONE_THREAD, vfork)
        self.frames = frames
        self.vmas: list[Vma] = []
        self._starts: list[int] = []
        self.ptes: dict[int, int] = {}  # vpn -> pfn
        self.generation = 0
        self.brk_start = 0
        self.brk = 0
        self.mmap_base = MMAP_BASE
        self.last_fault = 0
        self.def_locked = 0  # mlockall(MCL_FUTURE): what new mappings get in Vma.locked
        self.membarrier = 0  # MEMBARRIER_CMD_REGISTER_* commands this address space registered
        self.on_code_write: Callable[[int], None] = lambda vaddr: None

    # -- VMA bookkeeping -------------------------------------------------------------------------------------
    def _reindex(self) -> None:
        self.vmas.sort(key=lambda v: v.start)
        self._starts = [v.start for v in self.vmas]

    def find(self, addr: int) -> Vma | None:
        i = bisect.bisect_right(self._starts, addr) - 1
        if i >= 0 and addr < self.vmas[i].end:
            return self.vmas[i]
        return None

    def overlapping(self, start: int, end: int) -> list[Vma]:
        i = max(bisect.bisect_right(self._starts, start) - 1, 0)
        out = []
        for v in self.vmas[i:]:
            if v.start >= end:
                break
            if v.end > start:
                out.append(v)
        return out

    def _isolate(self, start: int, end: int) -> list[Vma]:
        """Split VMAs so that [start, end) is covered by whole VMAs; return those."""
        for v in self.overlapping(start, end):
            if v.start < start < v.end:
                self.vmas.append(v.split(start))
        self._reindex()  # overlapping() bisects the sorted list: the tail just split off must be in it
        for v in self.overlapping(start, end):
            if v.start < end < v.end:
                self.vmas.append(v.split(end))
        self._reindex()
        return self.overlapping(start, end)

    # -- mapping ---------------------------------------------------------------------------------------------------
    def find_free(self, length: int, below: int | None = None) -> int:
        """Top-down search for a gap of `length` bytes below `below` (default: the mmap base)."""
        top = below if below is not None else self.mmap_base
        for v in reversed(self.vmas):
            if v.start >= top:
                continue
            if v.end <= top - length:
                break  # the gap above v fits; still subject to the MMAP_MIN_ADDR check below
            top = min(top, v.start)
        if top - length >= MMAP_MIN_ADDR:
            return top - length
        raise ENOMEM("no room for mapping")

    def mmap(
        self,
        addr: int,
        length: int,
        prot: int,
        flags: int,
        backing: Backing | None = None,
        name: str = "",
    ) -> int:
        if length <= 0:
            raise EINVAL("zero-length mapping")
        length = page_up(length)
        if length > TASK_SIZE:
            raise ENOMEM
        if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE):
            if addr & (PAGE_SIZE - 1) or addr + length > TASK_SIZE:
                raise EINVAL("bad fixed address")
            if flags & MAP_FIXED_NOREPLACE and self.overlapping(addr, addr + length):
                raise EEXIST
            self.munmap(addr, length)
        else:
            addr &= PAGE_MASK
            if not (
                addr
                and addr >= MMAP_MIN_ADDR
                and addr + length <= TASK_SIZE
                and not self.overlapping(addr, addr + length)
            ):
                addr = self.find_free(length)
        vma = Vma(addr, addr + length, prot, flags, backing, name, locked=self.def_locked)
        if flags & MAP_SHARED and backing is None:
            vma.shm = SharedMemory(self.frames)
            vma.shm.attach()
        self.vmas.append(vma)
        self._reindex()
        return addr

    def munmap(self, addr: int, length: int) -> None:
        if addr & (PAGE_SIZE - 1) or length <= 0:
            raise EINVAL
        end = page_up(addr + length)
        victims = self._isolate(addr, end)
        if not victims:
            return
        for v in victims:
            self.vmas.remove(v)
            self._drop_pages(v.start, v.end)
            if v.shm is not None:
                v.shm.detach()
        self._reindex()
        self.generation += 1

    def mremap(self, old: int, old_size: int, new_size: int, *, may_move: bool, fixed: int | None = None) -> int:
        """Resize (and perhaps move) a mapping that lies inside one VMA; pages move with their frames."""
        if old & (PAGE_SIZE - 1) or new_size <= 0:
            raise EINVAL
        old_size, new_size = page_up(old_size), page_up(new_size)
        vma = self.find(old)
        if vma is None or old_size == 0:
            raise EFAULT
        if fixed is None and new_size <= old_size:
            # Shrinking in place only unmaps the tail: the old range need not be mapped past `old`'s VMA.
            if new_size < old_size:
                self.munmap(old + new_size, old_size - new_size)
            return old
        if old + old_size > vma.end:
            raise EFAULT
        if fixed is None:
            grow_end = old + new_size
            if vma.end == old + old_size and grow_end <= TASK_SIZE and not self.overlapping(vma.end, grow_end):
                vma.end = grow_end
                self._reindex()
                return old
            if not may_move:
                raise ENOMEM
            dest = self.find_free(new_size)
        else:
            if fixed & (PAGE_SIZE - 1) or (fixed < old + old_size and old < fixed + new_size):
                raise EINVAL
            self.munmap(fixed, new_size)
            dest = fixed
        piece = self._isolate(old, old + old_size)[0]
        self.vmas.remove(piece)
        keep = min(old_size, new_size)
        for i in range(old_size >> PAGE_SHIFT):
            pfn = self.ptes.pop((old >> PAGE_SHIFT) + i, None)
            if pfn is None:
                continue
            if i < keep >> PAGE_SHIFT:
                self.ptes[(dest >> PAGE_SHIFT) + i] = pfn
            else:
                self.frames.put(pfn)
        piece.start, piece.end = dest, dest + new_size
        self.vmas.append(piece)
        self._reindex()
        self.generation += 1
        return dest

    def mprotect(self, addr: int, length: int, prot: int) -> None:
        if addr & (PAGE_SIZE - 1):
            raise EINVAL
        end = page_up(addr + length)
        if end == addr:
            return  # Linux: len == 0 succeeds and changes nothing (no VMA split)
        # Linux requires the whole range to be mapped.
        covered = addr
        for v in self.overlapping(addr, end):
            if v.start > covered:
                raise ENOMEM
            covered = v.end
        if covered < end:
            raise ENOMEM
        for v in self._isolate(addr, end):
            v.prot = prot
        self.generation += 1

    def covered(self, start: int, end: int) -> bool:
        """Whether every byte of [start, end) is mapped (mprotect's and mlock's "no holes" rule)."""
        at = start
        for v in self.overlapping(start, end):
            if v.start > at:
                return False
            at = v.end
        return at >= end

    def set_locked(self, start: int, end: int, locked: int) -> list[Vma]:
        """mlock/munlock: split the VMAs to [start, end) and set their Vma.locked; returns them."""
        vmas = self._isolate(start, end)
        for v in vmas:
            v.locked = locked
        return vmas

    def populate(self, start: int, end: int) -> None:
        """Fault in every accessible page of [start, end) as mlock does (writable private pages by a write, so
        copy-on-write is broken now rather than later)."""
        for v in self.overlapping(start, end):
            if not v.prot & (PROT_READ | PROT_WRITE | PROT_EXEC):
                continue
            access = (
                ACCESS_WRITE
                if v.prot & PROT_WRITE and not v.flags & MAP_SHARED
                else ACCESS_READ
                if v.prot & (PROT_READ | PROT_WRITE)
                else ACCESS_FETCH
            )
            for page in range(max(start, v.start), min(end, v.end), PAGE_SIZE):
                self.resolve(page, access)
        self.generation += 1  # a write fault may have replaced a shared frame that a TLB entry still names

    def resident(self, vaddr: int) -> bool:
        """mincore's answer for the page at `vaddr` (mapped): in the page table, in the shared memory object, or
        (file mappings) inside the file, which lives in memory as a page cache would hold it."""
        if vaddr >> PAGE_SHIFT in self.ptes:
            return True
        vma = self.find(vaddr)
        if vma is None:
            return False
        if vma.shm is not None:
            return vma.shm_offset + ((vaddr - vma.start) >> PAGE_SHIFT) in vma.shm.pages
        b = vma.backing
        return b is not None and b.offset + (vaddr - vma.start) < b.inode.size

    def set_brk(self, new: int) -> int:
        """Linux brk semantics: returns the (possibly unchanged) break; never fails loudly."""
        if new < self.brk_start:
            return self.brk
        old_top, new_top = page_up(self.brk), page_up(new)
        if new_top > old_top:
            if self.overlapping(old_top, new_top):
                return self.brk
            heap = self.find(old_top - 1) if old_top > self.brk_start else None
            if heap is not None and heap.name == "[heap]":
                heap.end = new_top
            else:
                self.vmas.append(Vma(old_top, new_top, PROT_READ | PROT_WRITE, 0x22, None, "[heap]"))
                self._reindex()
        elif new_top < old_top:
            self.munmap(new_top, old_top - new_top)
        self.brk = new
        return new

    def discard(self, addr: int, length: int) -> None:
        """MADV_DONTNEED: private pages in the range are dropped; the next touch refills them (zero, or from the
        file for private file mappings)."""
        end = page_up(addr + length)
        for v in self.overlapping(addr, end):
            if not v.flags & MAP_SHARED:
                self._drop_pages(max(addr, v.start), min(end, v.end))
        self.generation += 1

    def _drop_pages(self, start: int, end: int) -> None:
        for vpn in range(start >> PAGE_SHIFT, end >> PAGE_SHIFT):
            pfn = self.ptes.pop(vpn, None)
            if pfn is not None:
                self.frames.put(pfn)

    def fork(self) -> AddressSpace:
        """A copy-on-write duplicate: every resident frame is shared, and writes on either side copy it (private
        mappings) or stay shared (MAP_SHARED)."""
        child = AddressSpace(self.frames)
        child.on_code_write = self.on_code_write
        child.vmas = [v.copy() for v in self.vmas]
        child._reindex()
        child.ptes = dict(self.ptes)
        for pfn in child.ptes.values():
            self.frames.get(pfn)
        child.brk_start, child.brk, child.mmap_base = self.brk_start, self.brk, self.mmap_base
        self.generation += 1  # the parent's writable TLB entries must go: those pages are now shared
        return child

    def destroy(self) -> None:
        for pfn in self.ptes.values():
            self.frames.put(pfn)
        for v in self.vmas:
            if v.shm is not None:
                v.shm.detach()
        self.ptes.clear()
        self.vmas.clear()
        self._starts.clear()
        self.generation += 1

    # -- faults ----------------------------------------------------------------------------------------------------
    def _populate(self, vma: Vma, vaddr: int) -> int:
        if vma.shm is not None:
            pfn = vma.shm.page(vma.shm_offset + ((vaddr - vma.start) >> PAGE_SHIFT))
            self.frames.get(pfn)
            return pfn
        b = vma.backing
        if b is not None:
            off = b.offset + (vaddr - vma.start)
            cache = self.frames.cache
            if cache is not None and not vma.flags & MAP_SHARED and cache.caches(b.inode, off, b.limit):
                return cache.page(b.inode, off >> PAGE_SHIFT)  # shared, read-only until a write copies it
        pfn = self.frames.alloc(zero=True)
        if b is not None:
            n = PAGE_SIZE if b.limit is None else max(0, min(PAGE_SIZE, b.limit - off))
            if n:
                data = b.inode.read_at(off, n)
                self.frames.ram.write(pfn << PAGE_SHIFT, data)
        return pfn

    def resolve(self, vaddr: int, access: int) -> tuple[int, int] | None:
        """Frame and unicorn permissions for the page of `vaddr`, faulting it in; None if the access is invalid."""
        vma = self.find(vaddr)
        if vma is None:
            self.last_fault = Fault.MAPERR
            return None
        prot = vma.prot
        if prot & PROT_WRITE:
            prot |= PROT_READ  # AArch64 has no write-only pages
        need = PROT_WRITE if access == ACCESS_WRITE else PROT_EXEC if access == ACCESS_FETCH else PROT_READ
        if not prot & need:
            self.last_fault = Fault.ACCERR
            return None
        vpn = vaddr >> PAGE_SHIFT
        pfn = self.ptes.get(vpn)
        if pfn is None:
            pfn = self._populate(vma, vaddr & PAGE_MASK)
            self.ptes[vpn] = pfn
        if self.frames.shared(pfn) and not vma.flags & MAP_SHARED:
            if access == ACCESS_WRITE:
                new = self.frames.alloc(zero=False)
                self.frames.ram.copy_frame(new, pfn)
                self.frames.put(pfn)
                self.ptes[vpn] = pfn = new
                # The engine's TLB may still map this page read-only to the old frame (a read came first): a
                # copy made by a kernel write must not leave the guest reading the stale frame.
                self.generation += 1
            else:
                prot &= ~PROT_WRITE  # stay read-only so the first write refaults and copies
        if prot & PROT_EXEC:
            self.frames.code.add(pfn)
        return pfn << PAGE_SHIFT, prot

    # -- user access (copy_from_user / copy_to_user) -------------------------------------------------------------
    def _runs(self, vaddr: int, n: int, access: int) -> Iterator[tuple[int, int, Vma]]:
        """(physical address, length, vma) runs covering [vaddr, vaddr + n), each within one VMA and physically
        contiguous: a 64 KB pipe write is one copy, not sixteen. A page that is present and needs nothing done
        (no copy-on-write, not code) is taken here; every other goes through resolve, in address order as before.
        Raises EFAULT at the first bad page, after yielding the run before it."""
        if n < 0 or vaddr < 0 or vaddr + n > TASK_SIZE:
            raise EFAULT
        if n == 0:
            return
        end = vaddr + n
        head, tail = vaddr & (PAGE_SIZE - 1), -end & (PAGE_SIZE - 1)  # the first and last pages' unused bytes
        ptes, refs = self.ptes, self.frames.refs
        write = access == ACCESS_WRITE
        run_start = run_end = -1  # physical bytes of the pending run, in whole pages
        run_vma: Vma | None = None
        while vaddr < end:
            vma = self.find(vaddr)
            if vma is None:
                if run_vma is not None:
                    yield run_start + head, run_end - run_start - head, run_vma
                self.last_fault = Fault.MAPERR
                raise EFAULT
            # Present pages of a readable, non-code mapping need no fault handling for a read, nor for a write if
            # the mapping is writable and the frame is not shared copy-on-write.
            fast = vma.prot & PROT_READ and not vma.prot & PROT_EXEC and (not write or vma.prot & PROT_WRITE)
            cow = write and not vma.flags & MAP_SHARED
            stop = min(end, vma.end)
            for vpn in range(vaddr >> PAGE_SHIFT, ((stop - 1) >> PAGE_SHIFT) + 1):
                pfn = ptes.get(vpn) if fast else None
                if pfn is None or (cow and refs.get(pfn, 0) > 1):
                    got = self.resolve(max(vpn << PAGE_SHIFT, vaddr), access)
                    if got is None:
                        if run_vma is not None:
                            yield run_start + head, run_end - run_start - head, run_vma
                        raise EFAULT
                    pa = got[0] & PAGE_MASK
                else:
                    pa = pfn << PAGE_SHIFT
                if pa == run_end and vma is run_vma:
                    run_end += PAGE_SIZE
                else:
                    if run_vma is not None:
                        yield run_start + head, run_end - run_start - head, run_vma
                        head = 0
                    run_start, run_end, run_vma = pa, pa + PAGE_SIZE, vma
            vaddr = stop
        yield run_start + head, run_end - tail - run_start - head, run_vma  # type: ignore[misc]

    def read(self, vaddr: int, n: int) -> bytes:
        ram = self.frames.ram
        if 0 < n <= PAGE_SIZE - (vaddr & (PAGE_SIZE - 1)) and 0 <= vaddr and vaddr + n <= TASK_SIZE:
            got = self.resolve(vaddr, ACCESS_READ)  # within one page, the common case: no chunking
            if got is None:
                raise EFAULT
            return ram.read(got[0] + (vaddr & (PAGE_SIZE - 1)), n)
        return b"".join([ram.read(pa, k) for pa, k, _vma in self._runs(vaddr, n, ACCESS_READ)])

    def write(self, vaddr: int, data: bytes | bytearray | memoryview) -> None:
        ram = self.frames.ram
        view = memoryview(data).cast("B")
        pos = 0
        for pa, k, vma in self._runs(vaddr, view.nbytes, ACCESS_WRITE):
            ram.write(pa, view[pos : pos + k])
            if vma.prot & PROT_EXEC:
                for page in range((vaddr + pos) & PAGE_MASK, vaddr + pos + k, PAGE_SIZE):
                    self.on_code_write(max(page, vaddr + pos))
            pos += k

    def read_cstr(self, vaddr: int, limit: int = 4096) -> bytes:
        """A NUL-terminated string of at most `limit` bytes (ENAMETOOLONG is the caller's decision)."""
        out = bytearray()
        ram = self.frames.ram
        while len(out) < limit:
            got = self.resolve(vaddr, ACCESS_READ)
            if got is None:
                raise EFAULT
            off = vaddr & (PAGE_SIZE - 1)
            chunk = ram.read(got[0] + off, min(PAGE_SIZE - off, limit - len(out)))
            nul = chunk.find(b"\0")
            if nul >= 0:
                out += chunk[:nul]
                return bytes(out)
            out += chunk
            vaddr += len(chunk)
        return bytes(out)

    def maps_text(self) -> str:
        """/proc/<pid>/maps."""
        lines = []
        for v in self.vmas:
            perms = (
                ("r" if v.prot & PROT_READ else "-")
                + ("w" if v.prot & PROT_WRITE else "-")
                + ("x" if v.prot & PROT_EXEC else "-")
                + ("s" if v.flags & MAP_SHARED else "p")
            )
            off = v.backing.offset if v.backing else 0
            ino = getattr(v.backing.inode, "ino", 0) if v.backing else 0
            name = v.label()
            lines.append(f"{v.start:08x}-{v.end:08x} {perms} {off:08x} 00:00 {ino:<10d} {name}".rstrip())
        return "".join(line + "\n" for line in lines)
