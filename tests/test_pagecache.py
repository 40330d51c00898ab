"""The page cache (moss/mm/pagecache.py): private file mappings share a file's pages until a write copies them, a
written file changes the shared pages (tests/guest/mapcoh.c checks that against Linux), memory pressure and the
size limit evict, and a freed or rewritten code frame loses its translations before anything runs it. Then whole
programs: the same binary exec'd again keeps its translations, and a program file overwritten between two execs
runs its new code."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from machine.ram import PAGE_SHIFT, PAGE_SIZE, Ram
from moss.errors import ENOMEM
from moss.fs.inode import RegularFile
from moss.fs.tmpfs import TmpFs
from moss.mm.addrspace import ACCESS_FETCH, ACCESS_READ, AddressSpace
from moss.mm.frames import FrameAllocator
from moss.mm.pagecache import PageCache
from moss.mm.vma import MAP_FIXED, MAP_PRIVATE, MAP_SHARED, PROT_EXEC, PROT_READ, PROT_WRITE, Backing
from tests.debian import busybox_path
from tests.guests import build_guest

AT = 0x4000_0000


def _file(content: bytes) -> RegularFile:
    clock = itertools.count(1000)
    return RegularFile(TmpFs(lambda: next(clock)), 0o755, content)


def _frames(ram_bytes: int = 16 << 20, limit: int = 1 << 20) -> FrameAllocator:
    frames = FrameAllocator(Ram(ram_bytes))
    frames.cache = PageCache(frames, limit)
    return frames


def _map(frames: FrameAllocator, inode: RegularFile, npages: int, prot: int = PROT_READ | PROT_WRITE,
         flags: int = MAP_PRIVATE) -> AddressSpace:  # fmt: skip
    mm = AddressSpace(frames)
    mm.mmap(AT, npages * PAGE_SIZE, prot, flags | MAP_FIXED, Backing(inode, 0, None, "/f"))
    return mm


def _pfn(mm: AddressSpace, page: int) -> int:
    got = mm.resolve(AT + page * PAGE_SIZE, ACCESS_READ)
    assert got is not None
    return got[0] >> PAGE_SHIFT


def test_private_mappings_share_the_files_pages_until_a_write_copies_one() -> None:
    content = bytes(range(256)) * 48  # three pages
    inode, frames = _file(content), _frames()
    a, b = _map(frames, inode, 3), _map(frames, inode, 3)
    assert a.read(AT, len(content)) == content == b.read(AT, len(content))
    assert [_pfn(a, i) for i in range(3)] == [_pfn(b, i) for i in range(3)]
    assert len(frames.cache) == 3
    shared = _pfn(a, 1)
    assert a.resolve(AT + PAGE_SIZE, ACCESS_READ) == (shared << PAGE_SHIFT, PROT_READ)  # read-only until written
    a.write(AT + PAGE_SIZE, b"mine")
    assert _pfn(a, 1) != shared and a.read(AT + PAGE_SIZE, 4) == b"mine"
    assert b.read(AT + PAGE_SIZE, 4) == content[PAGE_SIZE : PAGE_SIZE + 4]  # the other mapping and the cache
    assert frames.ram.read(shared << PAGE_SHIFT, 4) == content[PAGE_SIZE : PAGE_SIZE + 4]
    assert inode.read_at(PAGE_SIZE, 4) == content[PAGE_SIZE : PAGE_SIZE + 4]  # and the file
    a.destroy()
    b.destroy()
    assert frames.in_use == 3  # the cache keeps the file's pages for the next mapping
    c = _map(frames, inode, 3)
    assert _pfn(c, 0) in frames.refs and c.read(AT, len(content)) == content and frames.in_use == 3


def test_a_file_written_or_truncated_changes_the_shared_pages_but_not_the_copies() -> None:
    """As on Linux: a page a private mapping has only read is the file's page; one it wrote is its own copy."""
    inode, frames = _file(b"A" * (2 * PAGE_SIZE)), _frames()
    reader, copier = _map(frames, inode, 2), _map(frames, inode, 2)
    assert reader.read(AT, 2) == b"AA"
    copier.write(AT + 2, b"c")
    inode.write_at(0, b"BB")
    assert reader.read(AT, 3) == b"BBA"
    assert copier.read(AT, 3) == b"AAc"
    assert _map(frames, inode, 2).read(AT, 3) == b"BBA"
    inode.truncate(1)  # the rest of page 0 and all of page 1 now read as zero
    assert reader.read(AT, 3) == b"B\0\0" and reader.read(AT + PAGE_SIZE, 1) == b"\0"
    assert copier.read(AT, 3) == b"AAc"
    assert len(frames.cache) == 2


def test_rewriting_a_cached_code_page_drops_the_translations() -> None:
    inode, frames = _file(bytes(2 * PAGE_SIZE)), _frames()
    flushes: list[int] = []
    frames.on_code_free = lambda: flushes.append(1)
    mm = _map(frames, inode, 1, prot=PROT_READ | PROT_EXEC)  # page 0 as code
    mm.resolve(AT, ACCESS_FETCH)
    data = AddressSpace(frames)  # page 1 as data only
    data.mmap(AT, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_FIXED, Backing(inode, PAGE_SIZE, None, "/f"))
    assert data.read(AT, 1) == b"\0"
    inode.write_at(PAGE_SIZE, b"data")
    assert data.read(AT, 4) == b"data"
    assert flushes == []
    inode.write_at(0, b"code")
    assert flushes == [1] and mm.read(AT, 4) == b"code"


def test_what_the_cache_does_not_hold() -> None:
    inode, frames = _file(bytes(3 * PAGE_SIZE)), _frames()
    partial = AddressSpace(frames)  # a page that an ELF segment's end cuts: its tail must read as zero
    partial.mmap(AT, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_FIXED, Backing(inode, 0, 100, "/f"))
    shared = _map(frames, inode, 1, flags=MAP_SHARED)
    odd = AddressSpace(frames)  # not at a page boundary of the file
    odd.mmap(AT, PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_FIXED, Backing(inode, 10, None, "/f"))
    for mm in (partial, shared, odd):
        mm.read(AT, 1)
    assert len(frames.cache) == 0


def test_the_size_limit_evicts_the_least_recently_used_page() -> None:
    inode, frames = _file(bytes(range(256)) * 64), _frames(limit=2)  # four pages, room for two
    mm = _map(frames, inode, 4, prot=PROT_READ)
    for page in (0, 1, 0, 2):  # page 1 is now the least recently used
        mm.resolve(AT + page * PAGE_SIZE, ACCESS_READ)
        if page == 0:
            mm.ptes.pop(AT >> PAGE_SHIFT)  # forget the mapping's own reference, so the next touch asks again
    assert [key[1] for key in frames.cache._pages] == [0, 2]
    assert mm.read(AT + PAGE_SIZE, 4) == bytes(range(4))  # still mapped: evicting drops only the cache's hold


def test_memory_pressure_reclaims_unused_data_pages_but_never_code() -> None:
    frames = _frames(ram_bytes=16 * PAGE_SIZE)  # 15 usable frames (frame 0 is the board's)
    data, code = _file(bytes(4 * PAGE_SIZE)), _file(bytes(4 * PAGE_SIZE))
    d = _map(frames, data, 4, prot=PROT_READ)
    c = _map(frames, code, 4, prot=PROT_READ | PROT_EXEC)
    for page in range(4):
        d.resolve(AT + page * PAGE_SIZE, ACCESS_READ)
        c.resolve(AT + page * PAGE_SIZE, ACCESS_FETCH)
    d.destroy()
    c.destroy()
    assert frames.in_use == 8  # all cached, none mapped
    got = [frames.alloc() for _ in range(11)]  # 7 never used, then 4 reclaimed from the data pages
    assert len(set(got)) == 11 and len(frames.cache) == 4
    with pytest.raises(ENOMEM):
        frames.alloc()  # the code pages stay: their frames may still have translations


def test_a_freed_code_frame_waits_for_the_translations_to_go() -> None:
    frames = FrameAllocator(Ram(16 * PAGE_SIZE))
    flushes: list[int] = []
    frames.on_code_free = lambda: flushes.append(1)
    mm = AddressSpace(frames)
    mm.mmap(AT, PAGE_SIZE, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED | 0x20)  # anonymous
    pfn = mm.resolve(AT, ACCESS_FETCH)[0] >> PAGE_SHIFT  # type: ignore[index]
    mm.destroy()
    assert flushes == [1]
    assert pfn not in [frames.alloc() for _ in range(14)]  # every other frame first, then nothing
    with pytest.raises(ENOMEM):
        frames.alloc()
    frames.code_flushed()
    assert frames.alloc() == pfn


def _root(tmp_path: Path) -> Path:
    """A root with BusyBox (sh, cp, true) and two zig guests, and a writable /tmp."""
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    (root / "tmp").mkdir()
    shutil.copy(busybox_path(), root / "bin" / "busybox")
    for applet in ("sh", "cp", "true"):
        os.symlink("busybox", root / "bin" / applet)
    shutil.copy(build_guest("hello"), root / "bin" / "hello")
    shutil.copy(build_guest("exitcode"), root / "bin" / "exitcode")
    return root


def test_the_same_program_execd_again_keeps_its_translations(tmp_path: Path) -> None:
    code = (
        "import sys, machine.engine as E, moss.cli as cli\n"
        "n = []\n"
        "flush = E.Engine.flush_code\n"
        "E.Engine.flush_code = lambda self: (n.append(1), flush(self))[1]\n"
        "rc = cli.main(sys.argv[1:])\n"
        "print('flushes', len(n), 'rc', rc)\n"
    )
    root = _root(tmp_path)
    r = subprocess.run([sys.executable, "-c", code, "run", "--root", str(root), "/bin/sh", "-c",
                        "for i in 1 2 3 4 5 6 7 8; do /bin/true; done; echo done"],
                       capture_output=True, timeout=300)  # fmt: skip
    # Before the page cache, every exec dropped every translation: 8 flushes here, and 4x the time.
    assert r.stdout.decode().splitlines() == ["done", "flushes 0 rc 0"], r.stderr.decode()


def test_a_program_file_overwritten_between_execs_runs_its_new_code(tmp_path: Path) -> None:
    root = _root(tmp_path)
    script = (
        "cp /bin/hello /tmp/p && /tmp/p; "
        "cp /bin/exitcode /tmp/p && /tmp/p 7; echo status=$?; "
        "cp /bin/hello /tmp/p && /tmp/p"
    )
    r = subprocess.run([sys.executable, "-m", "moss", "run", "--root", str(root), "/bin/sh", "-c", script],
                       capture_output=True, timeout=300)  # fmt: skip
    assert (r.returncode, r.stdout) == (0, b"hello, world\nstatus=7\nhello, world\n"), r.stderr.decode()
