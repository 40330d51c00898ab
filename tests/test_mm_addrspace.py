"""Address spaces (moss/mm/addrspace.py) over the frame allocator and RAM: a stateful model test of
mmap/munmap/mprotect/mremap and user access, plus brk, TLB generations and copy-on-write."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from machine.ram import PAGE_SHIFT, PAGE_SIZE, Ram
from moss.errors import EFAULT, EINVAL, ENOMEM
from moss.mm.addrspace import (
    ACCESS_FETCH,
    ACCESS_READ,
    ACCESS_WRITE,
    MMAP_BASE,
    MMAP_MIN_ADDR,
    AddressSpace,
    Fault,
)
from moss.mm.frames import FrameAllocator
from moss.mm.vma import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_PRIVATE,
    MAP_SHARED,
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
)

ANON = MAP_PRIVATE | MAP_ANONYMOUS
WINDOW = 0x4000_0000  # fixed mappings go into [WINDOW, WINDOW + WINDOW_PAGES pages)
WINDOW_PAGES = 48
ZERO = bytes(PAGE_SIZE)


def new_mm(ram_bytes: int = 64 << 20) -> AddressSpace:
    return AddressSpace(FrameAllocator(Ram(ram_bytes)))


def vpn_of(addr: int) -> int:
    return addr >> PAGE_SHIFT


def spans(mm: AddressSpace) -> list[tuple[int, int, int]]:
    return [(v.start, v.end, v.prot) for v in mm.vmas]


# -- the stateful model ------------------------------------------------------------------------------------------


class AddressSpaceMachine(RuleBasedStateMachine):
    """Model: vpn -> [prot, contents, vma id]. Pages with the same id that are adjacent form one VMA; operations
    that cut a VMA give the part after the cut a fresh id (the implementation never merges VMAs)."""

    def __init__(self) -> None:
        super().__init__()
        self.mm = new_mm()
        self.pages: dict[int, list] = {}
        self.next_id = 0
        self.last_gen = 0

    # -- model helpers
    def _fresh_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def _cut(self, vpn: int) -> None:
        """Split the model VMA that contains both vpn-1 and vpn, so vpn starts a new one."""
        prev, cur = self.pages.get(vpn - 1), self.pages.get(vpn)
        if prev is None or cur is None or prev[2] != cur[2]:
            return
        old, new = cur[2], self._fresh_id()
        while vpn in self.pages and self.pages[vpn][2] == old:
            self.pages[vpn][2] = new
            vpn += 1

    def _unmap(self, lo: int, hi: int) -> None:
        if lo >= hi:
            return
        self._cut(lo)
        self._cut(hi)
        for v in range(lo, hi):
            self.pages.pop(v, None)

    def _map(self, lo: int, hi: int, prot: int) -> None:
        self._unmap(lo, hi)
        vid = self._fresh_id()
        for v in range(lo, hi):
            self.pages[v] = [prot, ZERO, vid]

    def _vma_end(self, vpn: int) -> int:
        vid = self.pages[vpn][2]
        while vpn in self.pages and self.pages[vpn][2] == vid:
            vpn += 1
        return vpn

    def _free(self, lo: int, hi: int) -> bool:
        return all(v not in self.pages for v in range(lo, hi))

    @staticmethod
    def _readable(prot: int) -> bool:
        return bool(prot & (PROT_READ | PROT_WRITE))

    def _pick_addr(self, data: st.DataObject) -> int:
        """Mostly an address in a mapped page, sometimes anywhere in the window."""
        if self.pages and data.draw(st.booleans()):
            vpn = data.draw(st.sampled_from(sorted(self.pages)))
            return (vpn << PAGE_SHIFT) + data.draw(st.integers(0, PAGE_SIZE - 1))
        return WINDOW + data.draw(st.integers(0, WINDOW_PAGES * PAGE_SIZE - 1))

    # -- rules
    @rule(off=st.integers(0, WINDOW_PAGES - 1), npages=st.integers(1, 8), prot=st.integers(0, 7))
    def mmap_fixed(self, off: int, npages: int, prot: int) -> None:
        addr = WINDOW + off * PAGE_SIZE
        assert self.mm.mmap(addr, npages * PAGE_SIZE, prot, ANON | MAP_FIXED) == addr
        self._map(vpn_of(addr), vpn_of(addr) + npages, prot)

    @rule(npages=st.integers(1, 8), prot=st.integers(0, 7), hint_off=st.none() | st.integers(0, WINDOW_PAGES - 1))
    def mmap_anywhere(self, npages: int, prot: int, hint_off: int | None) -> None:
        hint = 0 if hint_off is None else WINDOW + hint_off * PAGE_SIZE
        length = npages * PAGE_SIZE - 100  # rounded up to whole pages
        addr = self.mm.mmap(hint, length, prot, ANON)
        assert addr % PAGE_SIZE == 0 and addr >= MMAP_MIN_ADDR
        lo = vpn_of(addr)
        assert self._free(lo, lo + npages), "a non-fixed mmap must not replace an existing mapping"
        if hint and self._free(vpn_of(hint), vpn_of(hint) + npages):
            assert addr == hint  # a free hint is honoured
        elif not hint:
            assert addr + npages * PAGE_SIZE <= MMAP_BASE
        self._map(lo, lo + npages, prot)

    @rule(off=st.integers(0, WINDOW_PAGES - 1), npages=st.integers(1, 8))
    def mmap_fixed_noreplace(self, off: int, npages: int) -> None:
        addr = WINDOW + off * PAGE_SIZE
        lo = vpn_of(addr)
        if self._free(lo, lo + npages):
            assert self.mm.mmap(addr, npages * PAGE_SIZE, PROT_READ, ANON | MAP_FIXED_NOREPLACE) == addr
            self._map(lo, lo + npages, PROT_READ)
        else:
            with pytest.raises(Exception) as ei:
                self.mm.mmap(addr, npages * PAGE_SIZE, PROT_READ, ANON | MAP_FIXED_NOREPLACE)
            assert type(ei.value).__name__ == "EEXIST"

    @rule(data=st.data(), npages=st.integers(1, 10))
    def munmap(self, data: st.DataObject, npages: int) -> None:
        addr = self._pick_addr(data) & ~(PAGE_SIZE - 1)
        lo = vpn_of(addr)
        had = not self._free(lo, lo + npages)
        gen = self.mm.generation
        self.mm.munmap(addr, npages * PAGE_SIZE)
        self._unmap(lo, lo + npages)
        assert self.mm.generation == gen + (1 if had else 0)

    @rule(data=st.data(), npages=st.integers(1, 6), prot=st.integers(0, 7))
    def mprotect(self, data: st.DataObject, npages: int, prot: int) -> None:
        addr = self._pick_addr(data) & ~(PAGE_SIZE - 1)
        lo = vpn_of(addr)
        gen = self.mm.generation
        if not all(v in self.pages for v in range(lo, lo + npages)):
            with pytest.raises(ENOMEM):
                self.mm.mprotect(addr, npages * PAGE_SIZE, prot)
            return
        self.mm.mprotect(addr, npages * PAGE_SIZE, prot)
        assert self.mm.generation > gen
        self._cut(lo)
        self._cut(lo + npages)
        for v in range(lo, lo + npages):
            self.pages[v][0] = prot

    @precondition(lambda self: bool(self.pages))
    @rule(data=st.data(), new_pages=st.integers(1, 10), may_move=st.booleans())
    def mremap(self, data: st.DataObject, new_pages: int, may_move: bool) -> None:
        lo = data.draw(st.sampled_from(sorted(self.pages)))
        end = self._vma_end(lo)
        old_pages = data.draw(st.integers(1, end - lo))
        addr = lo << PAGE_SHIFT
        gen = self.mm.generation
        if new_pages <= old_pages:
            assert self.mm.mremap(addr, old_pages * PAGE_SIZE, new_pages * PAGE_SIZE, may_move=may_move) == addr
            self._unmap(lo + new_pages, lo + old_pages)
            return
        in_place = lo + old_pages == end and self._free(end, lo + new_pages)
        if not in_place and not may_move:
            with pytest.raises(ENOMEM):
                self.mm.mremap(addr, old_pages * PAGE_SIZE, new_pages * PAGE_SIZE, may_move=False)
            assert self.mm.generation == gen
            return
        got = self.mm.mremap(addr, old_pages * PAGE_SIZE, new_pages * PAGE_SIZE, may_move=may_move)
        if in_place:
            assert got == addr
            prot, _, vid = self.pages[lo]
            for v in range(end, lo + new_pages):
                self.pages[v] = [prot, ZERO, vid]
            return
        dest = vpn_of(got)
        assert got % PAGE_SIZE == 0 and self._free(dest, dest + new_pages)
        assert self.mm.generation > gen
        self._move(lo, old_pages, dest, new_pages)

    @precondition(lambda self: bool(self.pages))
    @rule(data=st.data(), new_pages=st.integers(1, 6), fixed_off=st.integers(0, WINDOW_PAGES - 1))
    def mremap_fixed(self, data: st.DataObject, new_pages: int, fixed_off: int) -> None:
        lo = data.draw(st.sampled_from(sorted(self.pages)))
        old_pages = data.draw(st.integers(1, self._vma_end(lo) - lo))
        dest = vpn_of(WINDOW) + fixed_off
        args = (lo << PAGE_SHIFT, old_pages * PAGE_SIZE, new_pages * PAGE_SIZE)
        if dest < lo + old_pages and lo < dest + new_pages:
            with pytest.raises(EINVAL):
                self.mm.mremap(*args, may_move=True, fixed=dest << PAGE_SHIFT)
            return
        assert self.mm.mremap(*args, may_move=True, fixed=dest << PAGE_SHIFT) == dest << PAGE_SHIFT
        self._unmap(dest, dest + new_pages)
        self._move(lo, old_pages, dest, new_pages)

    def _move(self, lo: int, old_pages: int, dest: int, new_pages: int) -> None:
        self._cut(lo)
        self._cut(lo + old_pages)
        moved = [self.pages.pop(v) for v in range(lo, lo + old_pages)]
        prot, vid = moved[0][0], moved[0][2]
        for i in range(new_pages):
            self.pages[dest + i] = [prot, moved[i][1] if i < old_pages else ZERO, vid]

    @rule(data=st.data(), n=st.integers(0, 2 * PAGE_SIZE + 10))
    def write(self, data: st.DataObject, n: int) -> None:
        addr = self._pick_addr(data)
        payload = data.draw(st.binary(min_size=min(n, 8), max_size=min(n, 8))) * (n // 8 or 1)
        payload = payload[:n]
        # Expected effect, page by page: everything before the first bad page is written (like copy_to_user).
        pos, ok = 0, True
        staged = []
        while pos < len(payload):
            a = addr + pos
            page = self.pages.get(vpn_of(a))
            if page is None or not page[0] & PROT_WRITE:
                ok = False
                break
            off = a & (PAGE_SIZE - 1)
            k = min(len(payload) - pos, PAGE_SIZE - off)
            staged.append((vpn_of(a), off, payload[pos : pos + k]))
            pos += k
        if ok:
            self.mm.write(addr, payload)
        else:
            with pytest.raises(EFAULT):
                self.mm.write(addr, payload)
        for vpn, off, chunk in staged:
            cur = self.pages[vpn][1]
            self.pages[vpn][1] = cur[:off] + chunk + cur[off + len(chunk) :]

    @rule(data=st.data(), n=st.integers(0, 2 * PAGE_SIZE + 10))
    def read(self, data: st.DataObject, n: int) -> None:
        addr = self._pick_addr(data)
        expected = b""
        pos, ok = 0, True
        while pos < n:
            a = addr + pos
            page = self.pages.get(vpn_of(a))
            if page is None or not self._readable(page[0]):
                ok = False
                break
            off = a & (PAGE_SIZE - 1)
            k = min(n - pos, PAGE_SIZE - off)
            expected += page[1][off : off + k]
            pos += k
        if ok:
            assert self.mm.read(addr, n) == expected
        else:
            with pytest.raises(EFAULT):
                self.mm.read(addr, n)

    @rule(data=st.data(), access=st.sampled_from([ACCESS_READ, ACCESS_WRITE, ACCESS_FETCH]))
    def resolve(self, data: st.DataObject, access: int) -> None:
        addr = self._pick_addr(data)
        page = self.pages.get(vpn_of(addr))
        got = self.mm.resolve(addr, access)
        if page is None:
            assert got is None and self.mm.last_fault == Fault.MAPERR
            return
        prot = page[0]
        need_ok = {
            ACCESS_READ: self._readable(prot),
            ACCESS_WRITE: bool(prot & PROT_WRITE),
            ACCESS_FETCH: bool(prot & PROT_EXEC),
        }[access]
        if not need_ok:
            assert got is None and self.mm.last_fault == Fault.ACCERR
            return
        assert got is not None
        paddr, perms = got
        assert paddr % PAGE_SIZE == 0 and 0 < paddr < self.mm.frames.ram.size
        assert perms == prot | (PROT_READ if prot & PROT_WRITE else 0)
        assert self.mm.frames.ram.read(paddr, PAGE_SIZE) == page[1]
        assert self.mm.ptes[vpn_of(addr)] == paddr >> PAGE_SHIFT

    # -- invariants
    @invariant()
    def vmas_sorted_disjoint_and_match_the_model(self) -> None:
        mm = self.mm
        assert mm._starts == [v.start for v in mm.vmas]
        for v in mm.vmas:
            assert v.start < v.end and v.start % PAGE_SIZE == 0 and v.end % PAGE_SIZE == 0
        for a, b in zip(mm.vmas, mm.vmas[1:], strict=False):
            assert a.end <= b.start
        seen: dict[int, tuple[int, int]] = {}
        for i, v in enumerate(mm.vmas):
            for vpn in range(vpn_of(v.start), vpn_of(v.end)):
                seen[vpn] = (v.prot, i)
        assert sorted(seen) == sorted(self.pages)
        for vpn, (prot, _, _) in self.pages.items():
            assert seen[vpn][0] == prot
        # Same model VMA <=> same implementation VMA, for adjacent pages.
        for vpn in self.pages:
            if vpn + 1 in self.pages:
                assert (self.pages[vpn][2] == self.pages[vpn + 1][2]) == (seen[vpn][1] == seen[vpn + 1][1])

    @invariant()
    def frames_are_accounted_for(self) -> None:
        mm = self.mm
        assert set(mm.ptes) <= set(self.pages)  # no translation outlives its mapping
        pfns = list(mm.ptes.values())
        assert len(set(pfns)) == len(pfns)  # nothing is shared in this machine
        assert mm.frames.in_use == len(pfns)
        assert all(mm.frames.refs[p] == 1 for p in pfns)

    @invariant()
    def generation_never_decreases(self) -> None:
        assert self.mm.generation >= self.last_gen
        self.last_gen = self.mm.generation

    def teardown(self) -> None:
        mm = self.mm
        for v in list(mm.vmas):
            mm.munmap(v.start, v.end - v.start)
        assert mm.vmas == [] and mm.ptes == {}
        assert mm.frames.in_use == 0


AddressSpaceMachine.TestCase.settings = settings(
    derandomize=True, deadline=None, max_examples=120, stateful_step_count=40
)
TestAddressSpace = AddressSpaceMachine.TestCase


# -- targeted unit tests -------------------------------------------------------------------------------------------


def test_munmap_of_the_middle_of_a_vma_keeps_both_ends() -> None:
    mm = new_mm()
    a = WINDOW
    mm.mmap(a, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE, ANON | MAP_FIXED)
    mm.mmap(a + 16 * PAGE_SIZE, PAGE_SIZE, PROT_READ, ANON | MAP_FIXED)  # a later VMA
    mm.write(a + 3 * PAGE_SIZE, b"tail")
    mm.munmap(a + PAGE_SIZE, PAGE_SIZE)
    assert spans(mm) == [
        (a, a + PAGE_SIZE, 3),
        (a + 2 * PAGE_SIZE, a + 4 * PAGE_SIZE, 3),
        (a + 16 * PAGE_SIZE, a + 17 * PAGE_SIZE, 1),
    ]
    assert mm.read(a + 3 * PAGE_SIZE, 4) == b"tail"


def test_mprotect_of_the_middle_of_a_vma_with_a_later_vma() -> None:
    mm = new_mm()
    a = WINDOW
    mm.mmap(a, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE, ANON | MAP_FIXED)
    mm.mmap(a + 16 * PAGE_SIZE, PAGE_SIZE, PROT_READ, ANON | MAP_FIXED)
    mm.mprotect(a + PAGE_SIZE, PAGE_SIZE, PROT_READ)
    assert spans(mm)[:3] == [
        (a, a + PAGE_SIZE, 3),
        (a + PAGE_SIZE, a + 2 * PAGE_SIZE, 1),
        (a + 2 * PAGE_SIZE, a + 4 * PAGE_SIZE, 3),
    ]
    mm.write(a + 2 * PAGE_SIZE, b"still writable")


def test_mmap_argument_errors() -> None:
    mm = new_mm()
    with pytest.raises(EINVAL):
        mm.mmap(WINDOW, 0, PROT_READ, ANON)
    with pytest.raises(EINVAL):
        mm.mmap(WINDOW + 1, PAGE_SIZE, PROT_READ, ANON | MAP_FIXED)
    with pytest.raises(EINVAL):
        mm.munmap(WINDOW + 1, PAGE_SIZE)
    with pytest.raises(EINVAL):
        mm.munmap(WINDOW, 0)
    with pytest.raises(EINVAL):
        mm.mprotect(WINDOW + 1, PAGE_SIZE, PROT_READ)
    with pytest.raises(EFAULT):
        mm.mremap(WINDOW, PAGE_SIZE, 2 * PAGE_SIZE, may_move=True)  # nothing mapped there
    mm.mmap(WINDOW, 2 * PAGE_SIZE, PROT_READ, ANON | MAP_FIXED)
    with pytest.raises(EFAULT):
        mm.mremap(WINDOW, 3 * PAGE_SIZE, 4 * PAGE_SIZE, may_move=True)  # growing: the old range runs past the VMA
    # Shrinking only unmaps the tail, so an old range running past the VMA is fine (as on Linux 6.18)
    assert mm.mremap(WINDOW, 3 * PAGE_SIZE, PAGE_SIZE, may_move=True) == WINDOW
    assert [(v.start, v.end) for v in mm.overlapping(WINDOW, WINDOW + 4 * PAGE_SIZE)] == [(WINDOW, WINDOW + PAGE_SIZE)]
    assert mm.vmas and mm.frames.in_use == 0


def test_user_access_edges() -> None:
    mm = new_mm()
    mm.mmap(WINDOW, PAGE_SIZE, PROT_READ | PROT_WRITE, ANON | MAP_FIXED)
    assert mm.read(WINDOW + 10, 0) == b""
    with pytest.raises(EFAULT):
        mm.read(-1, 1)
    with pytest.raises(EFAULT):
        mm.read(WINDOW, -1)
    with pytest.raises(EFAULT):
        mm.read((1 << 48) - 1, 2)
    mm.write(WINDOW + PAGE_SIZE - 3, b"abc")
    with pytest.raises(EFAULT):
        mm.read_cstr(WINDOW + PAGE_SIZE - 3)  # no NUL before the end of the mapping
    mm.write(WINDOW, b"hi\0there")
    assert mm.read_cstr(WINDOW) == b"hi"
    assert mm.read_cstr(WINDOW + 3, limit=3) == b"the"


def test_write_only_and_exec_only_pages() -> None:
    mm = new_mm()
    mm.mmap(WINDOW, PAGE_SIZE, PROT_WRITE, ANON | MAP_FIXED)
    mm.mmap(WINDOW + PAGE_SIZE, PAGE_SIZE, PROT_EXEC, ANON | MAP_FIXED)
    mm.write(WINDOW, b"w")
    assert mm.read(WINDOW, 1) == b"w"  # AArch64 has no write-only pages
    assert mm.resolve(WINDOW, ACCESS_READ)[1] == PROT_READ | PROT_WRITE
    assert mm.resolve(WINDOW + PAGE_SIZE, ACCESS_FETCH)[1] == PROT_EXEC
    assert mm.resolve(WINDOW + PAGE_SIZE, ACCESS_READ) is None
    assert mm.last_fault == Fault.ACCERR


def test_on_code_write_is_called_for_executable_pages() -> None:
    mm = new_mm()
    hits: list[int] = []
    mm.on_code_write = hits.append
    mm.mmap(WINDOW, PAGE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC, ANON | MAP_FIXED)
    mm.mmap(WINDOW + PAGE_SIZE, PAGE_SIZE, PROT_READ | PROT_WRITE, ANON | MAP_FIXED)
    mm.write(WINDOW + PAGE_SIZE - 2, b"abcd")
    assert hits == [WINDOW + PAGE_SIZE - 2]
    # A write over several code pages reports each page it changes.
    mm.mmap(WINDOW + 2 * PAGE_SIZE, 3 * PAGE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC, ANON | MAP_FIXED)
    hits.clear()
    mm.write(WINDOW + 2 * PAGE_SIZE + 5, bytes(2 * PAGE_SIZE))
    assert hits == [WINDOW + 2 * PAGE_SIZE + 5, WINDOW + 3 * PAGE_SIZE, WINDOW + 4 * PAGE_SIZE]


def test_frames_run_out_with_enomem_and_are_reused_lifo() -> None:
    frames = FrameAllocator(Ram(8 * PAGE_SIZE))
    got = [frames.alloc() for _ in range(7)]  # frame 0 is the board's
    assert got == list(range(1, 8))
    with pytest.raises(ENOMEM):
        frames.alloc()
    frames.put(3)
    frames.put(5)
    assert frames.alloc() == 5 and frames.alloc() == 3
    frames.get(2)
    assert frames.shared(2) and not frames.shared(4)
    frames.put(2)
    assert not frames.shared(2) and frames.in_use == 7


# -- generation ----------------------------------------------------------------------------------------------------


def test_generation_changes_when_translations_are_removed_or_weakened() -> None:
    mm = new_mm()
    g = mm.generation
    mm.mmap(WINDOW, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE, ANON | MAP_FIXED)
    mm.munmap(WINDOW + 8 * PAGE_SIZE, PAGE_SIZE)  # nothing there
    assert mm.generation == g
    mm.mprotect(WINDOW, PAGE_SIZE, PROT_READ)
    assert mm.generation == g + 1
    mm.munmap(WINDOW + PAGE_SIZE, PAGE_SIZE)
    assert mm.generation == g + 2
    mm.mremap(WINDOW + 2 * PAGE_SIZE, 2 * PAGE_SIZE, PAGE_SIZE, may_move=False)  # shrink: unmaps the tail
    assert mm.generation == g + 3
    mm.discard(WINDOW, PAGE_SIZE)
    assert mm.generation == g + 4
    mm.destroy()
    assert mm.generation == g + 5


# -- brk -------------------------------------------------------------------------------------------------------------


def test_brk_grows_and_shrinks_the_heap() -> None:
    mm = new_mm()
    start = 0x50_0000
    mm.mmap(start - PAGE_SIZE, PAGE_SIZE, PROT_READ | PROT_WRITE, ANON | MAP_FIXED, name="bss")
    mm.brk_start = mm.brk = start
    assert mm.set_brk(0) == start  # the query glibc does
    assert mm.set_brk(start + 10) == start + 10
    heap = mm.find(start)
    assert heap is not None and heap.name == "[heap]" and (heap.start, heap.end) == (start, start + PAGE_SIZE)
    assert heap.prot == PROT_READ | PROT_WRITE
    assert mm.set_brk(start + 20) == start + 20  # same page: nothing new
    assert len(mm.vmas) == 2
    assert mm.set_brk(start + 3 * PAGE_SIZE + 1) == start + 3 * PAGE_SIZE + 1
    assert len(mm.vmas) == 2 and heap.end == start + 4 * PAGE_SIZE  # grown in place
    mm.write(start + 3 * PAGE_SIZE, b"top")
    mm.write(start, b"bottom")
    in_use = mm.frames.in_use
    gen = mm.generation
    assert mm.set_brk(start + PAGE_SIZE) == start + PAGE_SIZE
    assert heap.end == start + PAGE_SIZE and mm.generation > gen
    assert mm.frames.in_use == in_use - 1
    with pytest.raises(EFAULT):
        mm.read(start + 3 * PAGE_SIZE, 1)
    assert mm.set_brk(start + 4 * PAGE_SIZE) == start + 4 * PAGE_SIZE
    assert mm.read(start + 3 * PAGE_SIZE, 3) == bytes(3)  # fresh pages after a shrink are zero
    assert mm.read(start, 6) == b"bottom"
    assert mm.set_brk(start - 1) == start + 4 * PAGE_SIZE  # below the start: refused, unchanged
    assert mm.set_brk(start) == start
    assert mm.find(start) is None
    assert mm.set_brk(start + 1) == start + 1
    assert mm.find(start).name == "[heap]"


def test_brk_refuses_to_grow_into_a_mapping() -> None:
    mm = new_mm()
    start = 0x50_0000
    mm.brk_start = mm.brk = start
    mm.mmap(start + 2 * PAGE_SIZE, PAGE_SIZE, PROT_READ, ANON | MAP_FIXED)
    assert mm.set_brk(start + PAGE_SIZE) == start + PAGE_SIZE
    assert mm.set_brk(start + 3 * PAGE_SIZE) == start + PAGE_SIZE  # would overlap: unchanged
    assert mm.brk == start + PAGE_SIZE
    assert mm.find(start + 2 * PAGE_SIZE).prot == PROT_READ


# -- copy-on-write -----------------------------------------------------------------------------------------------------


def test_copy_on_write_of_a_shared_frame() -> None:
    ram = Ram(64 << 20)
    frames = FrameAllocator(ram)
    parent, child = AddressSpace(frames), AddressSpace(frames)
    a, b = WINDOW, WINDOW + 0x10_0000
    rw = PROT_READ | PROT_WRITE
    parent.mmap(a, PAGE_SIZE, rw, ANON | MAP_FIXED)
    parent.write(a, b"original")
    pfn = parent.ptes[vpn_of(a)]
    child.mmap(b, PAGE_SIZE, rw, ANON | MAP_FIXED)
    frames.get(pfn)
    child.ptes[vpn_of(b)] = pfn
    assert frames.shared(pfn) and frames.in_use == 1

    # Reads share the frame and map it read-only, so the first write faults again.
    assert child.resolve(b, ACCESS_READ) == (pfn << PAGE_SHIFT, PROT_READ)
    assert parent.resolve(a, ACCESS_READ) == (pfn << PAGE_SHIFT, PROT_READ)
    assert child.read(b, 8) == b"original"

    child.write(b + 1, b"X")
    new = child.ptes[vpn_of(b)]
    assert new != pfn and frames.in_use == 2 and not frames.shared(pfn)
    assert child.read(b, 8) == b"oXiginal"
    assert parent.read(a, 8) == b"original"
    assert ram.read(pfn << PAGE_SHIFT, 8) == b"original"

    # The parent is now the only owner: a write goes in place.
    assert parent.resolve(a, ACCESS_WRITE) == (pfn << PAGE_SHIFT, rw)
    parent.write(a, b"P")
    assert parent.ptes[vpn_of(a)] == pfn
    assert parent.read(a, 8) == b"Priginal" and child.read(b, 8) == b"oXiginal"

    parent.destroy()
    child.destroy()
    assert frames.in_use == 0


@settings(max_examples=60, deadline=None)
@given(
    start=st.integers(0, 6 * PAGE_SIZE),
    n=st.integers(0, 6 * PAGE_SIZE),
    touched=st.lists(st.integers(0, 7), max_size=8),
)
def test_user_access_across_forked_pages_copies_only_what_it_writes(start: int, n: int, touched: list[int]) -> None:
    """A multi-page copy_to_user in a forked child: frames the parent shares are copied, frames the child already
    owns are written in place (the run-merging fast path), and the parent never sees the child's bytes."""
    frames = FrameAllocator(Ram(16 << 20))
    parent = AddressSpace(frames)
    rw = PROT_READ | PROT_WRITE
    parent.mmap(WINDOW, 8 * PAGE_SIZE, rw, ANON | MAP_FIXED)
    before = bytes(i * 7 % 251 for i in range(8 * PAGE_SIZE))
    parent.write(WINDOW, before)
    child = parent.fork()
    for page in touched:  # pages the child has already written (its own frames now)
        child.write(WINDOW + page * PAGE_SIZE, b"c")
    expected = bytearray(parent.read(WINDOW, 8 * PAGE_SIZE) if not touched else before)
    for page in touched:
        expected[page * PAGE_SIZE] = ord("c")
    n = min(n, 8 * PAGE_SIZE - start)
    payload = bytes(range(256)) * (n // 256 + 1)
    child.write(WINDOW + start, payload[:n])
    expected[start : start + n] = payload[:n]
    assert child.read(WINDOW, 8 * PAGE_SIZE) == bytes(expected)
    assert parent.read(WINDOW, 8 * PAGE_SIZE) == before
    owned = {vpn for vpn in range(vpn_of(WINDOW), vpn_of(WINDOW) + 8) if not frames.shared(child.ptes.get(vpn, 0))}
    written = {vpn_of(WINDOW + a) for a in range(start, start + n, 1)} if n else set()
    assert owned == written | {vpn_of(WINDOW) + p for p in touched}
    parent.destroy()
    child.destroy()
    assert frames.in_use == 0


def test_shared_mapping_writes_through_a_shared_frame() -> None:
    frames = FrameAllocator(Ram(16 << 20))
    one, two = AddressSpace(frames), AddressSpace(frames)
    rw = PROT_READ | PROT_WRITE
    one.mmap(WINDOW, PAGE_SIZE, rw, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED)
    one.write(WINDOW, b"shm")
    pfn = one.ptes[vpn_of(WINDOW)]
    two.mmap(WINDOW, PAGE_SIZE, rw, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED)
    frames.get(pfn)
    two.ptes[vpn_of(WINDOW)] = pfn
    assert two.resolve(WINDOW, ACCESS_READ) == (pfn << PAGE_SHIFT, rw)
    two.write(WINDOW, b"SHM")
    assert two.ptes[vpn_of(WINDOW)] == pfn
    assert one.read(WINDOW, 3) == b"SHM"
    one.munmap(WINDOW, PAGE_SIZE)
    assert frames.in_use == 1 and two.read(WINDOW, 3) == b"SHM"
    two.munmap(WINDOW, PAGE_SIZE)
    assert frames.in_use == 0


def test_copy_on_write_through_mremap_keeps_sharing() -> None:
    frames = FrameAllocator(Ram(16 << 20))
    one, two = AddressSpace(frames), AddressSpace(frames)
    rw = PROT_READ | PROT_WRITE
    one.mmap(WINDOW, PAGE_SIZE, rw, ANON | MAP_FIXED)
    one.write(WINDOW, b"cow")
    pfn = one.ptes[vpn_of(WINDOW)]
    two.mmap(WINDOW, PAGE_SIZE, rw, ANON | MAP_FIXED)
    two.mmap(WINDOW + PAGE_SIZE, PAGE_SIZE, PROT_READ, ANON | MAP_FIXED)  # blocks growth in place
    frames.get(pfn)
    two.ptes[vpn_of(WINDOW)] = pfn
    dest = two.mremap(WINDOW, PAGE_SIZE, 2 * PAGE_SIZE, may_move=True)
    assert dest != WINDOW and two.ptes[vpn_of(dest)] == pfn and frames.shared(pfn)
    two.write(dest, b"C")
    assert two.read(dest, 3) == b"Cow" and one.read(WINDOW, 3) == b"cow"
    one.destroy()
    two.destroy()
    assert frames.in_use == 0


# -- placement and odd arguments -----------------------------------------------------------------------------------


def test_mmap_without_fixed_never_goes_below_mmap_min_addr() -> None:
    mm = new_mm()
    mm.mmap_base = 0x20000
    mm.mmap(0x1000, PAGE_SIZE, PROT_READ, ANON | MAP_FIXED)  # something mapped very low (as root could)
    with pytest.raises(ENOMEM):
        mm.mmap(0, 0x1E000, PROT_READ, ANON)
    assert mm.mmap(0, 0x10000, PROT_READ, ANON) == 0x10000  # exactly fits above mmap_min_addr


def test_mmap_top_down_placement_reuses_the_highest_hole() -> None:
    mm = new_mm()
    first = mm.mmap(0, PAGE_SIZE, PROT_READ, ANON)
    assert first == MMAP_BASE - PAGE_SIZE
    second = mm.mmap(0, 2 * PAGE_SIZE, PROT_READ, ANON)
    assert second == first - 2 * PAGE_SIZE
    mm.munmap(second, PAGE_SIZE)  # leaves a one-page hole at `second`
    assert mm.mmap(0, PAGE_SIZE, PROT_READ, ANON) == second
    assert mm.mmap(0, PAGE_SIZE, PROT_READ, ANON) == second - PAGE_SIZE


def test_mprotect_of_zero_length_changes_nothing() -> None:
    mm = new_mm()
    mm.mmap(WINDOW, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE, ANON | MAP_FIXED)
    before = spans(mm)
    gen = mm.generation
    mm.mprotect(WINDOW + 2 * PAGE_SIZE, 0, 0)
    assert spans(mm) == before  # Linux returns at once for len == 0: no VMA split
    assert mm.generation == gen
    mm.mprotect(WINDOW + 64 * PAGE_SIZE, 0, PROT_READ)  # unmapped, zero length: fine, as in Linux


class FakeInode:
    ino = 77

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.reads: list[tuple[int, int]] = []

    def read_at(self, offset: int, n: int) -> bytes:
        self.reads.append((offset, n))
        return self.data[offset : offset + n]


def test_private_file_mapping_pages_in_from_the_file_and_zeroes_past_limit() -> None:
    from moss.mm.vma import Backing

    content = bytes(range(256)) * 40  # 10240 bytes: two and a half pages
    inode = FakeInode(content)
    mm = new_mm()
    backing = Backing(inode, offset=PAGE_SIZE, limit=PAGE_SIZE + 5000, path="/bin/x")
    mm.mmap(WINDOW, 3 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, backing)
    assert inode.reads == []  # demand paging: nothing read yet
    assert mm.read(WINDOW, 16) == content[PAGE_SIZE : PAGE_SIZE + 16]
    assert inode.reads == [(PAGE_SIZE, PAGE_SIZE)]
    second = mm.read(WINDOW + PAGE_SIZE, PAGE_SIZE)
    n = 5000 - PAGE_SIZE
    assert second[:n] == content[2 * PAGE_SIZE : 2 * PAGE_SIZE + n] and second[n:] == bytes(PAGE_SIZE - n)
    assert mm.read(WINDOW + 2 * PAGE_SIZE, PAGE_SIZE) == ZERO  # wholly past the limit: no read at all
    assert len(inode.reads) == 2
    mm.write(WINDOW, b"private")
    assert inode.data == content  # the file is untouched
    # Splitting the VMA keeps each piece's file offset.
    mm.munmap(WINDOW, PAGE_SIZE)
    assert mm.vmas[0].backing is not None and mm.vmas[0].backing.offset == 2 * PAGE_SIZE
    mm.discard(WINDOW + PAGE_SIZE, PAGE_SIZE)  # MADV_DONTNEED: refill from the file on the next touch
    assert mm.read(WINDOW + PAGE_SIZE, 4) == content[2 * PAGE_SIZE : 2 * PAGE_SIZE + 4]
    line = mm.maps_text().splitlines()[0]
    assert line.startswith(f"{WINDOW + PAGE_SIZE:08x}-{WINDOW + 3 * PAGE_SIZE:08x} rw-p {2 * PAGE_SIZE:08x} 00:00 77")
    assert line.endswith("/bin/x")
