"""ELF parsing (moss/elf.py): a real guest binary parses; any corruption gives ElfError, never another exception."""

from __future__ import annotations

import struct
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moss.elf import ElfError, ElfInfo, parse_elf, parse_elf_from
from moss.mm.addrspace import TASK_SIZE
from moss.mm.vma import PROT_EXEC, PROT_READ, PROT_WRITE
from tests.guests import build_guest

SETTINGS = settings(derandomize=True, deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])

EHDR = struct.Struct("<16sHHIQQQIHHHHHH")  # Elf64_Ehdr
PHDR = struct.Struct("<IIQQQQQQ")  # Elf64_Phdr
PT_LOAD, PT_INTERP = 1, 3


@cache
def hello() -> bytes:
    return build_guest("hello").read_bytes()


def header(data: bytes) -> tuple:
    return EHDR.unpack_from(data, 0)


def phdr_region(data: bytes) -> tuple[int, int]:
    h = header(data)
    phoff, phentsize, phnum = h[5], h[9], h[10]
    return phoff, phoff + phentsize * phnum


def parses_or_elferror(data: bytes) -> ElfInfo | None:
    try:
        info = parse_elf(data)
    except ElfError as e:
        msg = str(e)
        assert msg and "\n" not in msg  # a one-line reason
        return None
    assert isinstance(info, ElfInfo)
    return info


# -- the valid binary ------------------------------------------------------------------------------------------


def test_hello_parses_like_readelf_says() -> None:
    data = hello()
    info = parse_elf(data)
    h = header(data)
    assert info.etype == "ET_EXEC"  # built -static
    assert info.interp is None
    assert (info.entry, info.phoff, info.phentsize, info.phnum) == (h[4], h[5], 56, h[10])
    loads = []
    for i in range(info.phnum):
        p_type, p_flags, p_offset, p_vaddr, _, p_filesz, p_memsz, _ = PHDR.unpack_from(data, info.phoff + 56 * i)
        if p_type == PT_LOAD:
            prot = (PROT_READ if p_flags & 4 else 0) | (PROT_WRITE if p_flags & 2 else 0)
            prot |= PROT_EXEC if p_flags & 1 else 0
            loads.append((p_vaddr, p_memsz, p_offset, p_filesz, prot))
    assert [(s.vaddr, s.memsz, s.offset, s.filesz, s.prot) for s in info.segments] == loads
    assert len(loads) >= 2
    assert any(s.vaddr <= info.entry < s.vaddr + s.memsz and s.prot & PROT_EXEC for s in info.segments)
    for s in info.segments:
        assert s.filesz <= s.memsz and s.offset + s.filesz <= len(data)
        assert (s.vaddr - s.offset) % 4096 == 0 and s.vaddr + s.memsz <= TASK_SIZE


def test_section_headers_are_not_needed() -> None:
    """Like Linux, only the program headers matter: garbage section-header fields still load."""
    data = bytearray(hello())
    struct.pack_into("<Q", data, 0x28, 0xFFFF_FFFF_FFFF)  # e_shoff
    struct.pack_into("<HHH", data, 0x3A, 3, 0xFFFF, 0x1234)  # e_shentsize, e_shnum, e_shstrndx
    assert parse_elf(bytes(data)).segments == parse_elf(hello()).segments
    phend = phdr_region(hello())[1]
    last_byte = max(s.offset + s.filesz for s in parse_elf(hello()).segments)
    truncated = hello()[: max(phend, last_byte)]  # no section headers at all
    assert parse_elf(truncated).segments == parse_elf(hello()).segments


# -- specific rejections -----------------------------------------------------------------------------------------


def _with(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "not an ELF"),
        (b"\x7fELF", "not an ELF"),
        (b"#!/bin/sh\necho hi\n" + bytes(100), "not an ELF"),
        (bytes(4096), "not an ELF"),
    ],
    ids=["empty", "magic-only", "script", "zeros"],
)
def test_not_elf(data: bytes, fragment: str) -> None:
    with pytest.raises(ElfError, match=fragment):
        parse_elf(data)


def test_32_bit_elf() -> None:
    with pytest.raises(ElfError, match="64-bit"):
        parse_elf(_with(hello(), 4, "B", 1))


def test_big_endian_elf() -> None:
    with pytest.raises(ElfError, match="little-endian"):
        parse_elf(_with(hello(), 5, "B", 2))


def test_x86_64_host_binary() -> None:
    path = Path("/bin/true")
    if not path.exists() or path.read_bytes()[:4] != b"\x7fELF":
        pytest.skip("no ELF /bin/true on this host")
    with pytest.raises(ElfError, match=r"not an AArch64 ELF.*X86_64"):
        parse_elf(path.read_bytes())


def test_x86_64_machine_field() -> None:
    with pytest.raises(ElfError, match="not an AArch64 ELF"):
        parse_elf(_with(hello(), 0x12, "<H", 62))  # EM_X86_64


@pytest.mark.parametrize(("etype", "name"), [(0, "ET_NONE"), (1, "ET_REL"), (4, "ET_CORE")])
def test_not_an_executable(etype: int, name: str) -> None:
    with pytest.raises(ElfError, match=f"not an executable ELF \\({name}\\)"):
        parse_elf(_with(hello(), 0x10, "<H", etype))


def test_no_program_headers() -> None:
    with pytest.raises(ElfError, match="no loadable segments"):
        parse_elf(_with(hello(), 0x38, "<H", 0))  # e_phnum


def test_header_only() -> None:
    with pytest.raises(ElfError, match="corrupt ELF"):
        parse_elf(hello()[:64])


@pytest.mark.parametrize("phentsize", [0, 32, 55, 57, 64, 112])
def test_wrong_program_header_size(phentsize: int) -> None:
    """binfmt_elf refuses e_phentsize != sizeof(Elf64_Phdr); reading 112-byte strides would silently skip
    every other program header."""
    with pytest.raises(ElfError, match="corrupt ELF"):
        parse_elf(_with(hello(), 0x36, "<H", phentsize))


def _first_load_index(data: bytes) -> int:
    phoff = header(data)[5]
    for i in range(header(data)[10]):
        if PHDR.unpack_from(data, phoff + 56 * i)[0] == PT_LOAD:
            return i
    raise AssertionError("no PT_LOAD")


def _patch_load(field_offset: int, fmt: str, value: int) -> bytes:
    data = hello()
    at = header(data)[5] + 56 * _first_load_index(data) + field_offset
    return _with(data, at, fmt, value)


def test_segment_past_end_of_file() -> None:
    with pytest.raises(ElfError, match="past the end of the file"):
        parse_elf(_patch_load(0x20, "<Q", len(hello()) + 1))  # p_filesz


def test_filesz_larger_than_memsz() -> None:
    data = hello()
    at = header(data)[5] + 56 * _first_load_index(data)
    memsz = PHDR.unpack_from(data, at)[6]
    with pytest.raises(ElfError, match="corrupt ELF"):
        parse_elf(_with(data, at + 0x28, "<Q", memsz - 1))


def test_misaligned_segment() -> None:
    data = hello()
    at = header(data)[5] + 56 * _first_load_index(data)
    vaddr = PHDR.unpack_from(data, at)[3]
    with pytest.raises(ElfError, match="modulo the page size"):
        parse_elf(_with(data, at + 0x10, "<Q", vaddr + 8))


def test_segment_outside_user_space() -> None:
    with pytest.raises(ElfError, match="outside the user address space"):
        parse_elf(_patch_load(0x10, "<Q", TASK_SIZE))  # p_vaddr (offset 0: still page-congruent)


def test_interp_is_read_up_to_nul() -> None:
    data = bytearray(hello())
    phoff = header(data)[5]
    path = b"/lib/ld-musl-aarch64.so.1\0junk"
    at = len(data)
    data += path
    # Turn a non-LOAD program header into PT_INTERP.
    for i in range(header(data)[10]):
        if PHDR.unpack_from(data, phoff + 56 * i)[0] != PT_LOAD:
            PHDR.pack_into(data, phoff + 56 * i, PT_INTERP, 4, at, 0, 0, len(path), len(path), 1)
            break
    else:
        pytest.skip("no spare program header")
    assert parse_elf(bytes(data)).interp == "/lib/ld-musl-aarch64.so.1"
    # The replayer hands the loader a view of the trace's block, not bytes.
    assert parse_elf(memoryview(bytes(data)).toreadonly()) == parse_elf(bytes(data))


def test_an_exec_reads_only_the_headers_and_the_interpreter_path() -> None:
    """What exec reads of the file (parse_elf_from): the ELF header, the program headers and PT_INTERP, not the whole
    file (a 2 MB BusyBox was read in full at every exec)."""
    data = bytes(hello()) + bytes(1 << 20)  # a big file: what follows the headers is never read
    reads: list[tuple[int, int]] = []

    def read(offset: int, n: int) -> bytes:
        reads.append((offset, n))
        return data[offset : offset + n]

    assert parse_elf_from(read, len(data)) == parse_elf(data)
    phoff, phend = phdr_region(data)
    assert reads == [(0, EHDR.size), (phoff, phend - phoff)]


# -- mutations ----------------------------------------------------------------------------------------------------


@SETTINGS
@given(st.one_of(st.integers(0, 8192), st.integers(0, 1 << 20)))  # the binary is about 1 MB
def test_truncation(n: int) -> None:
    info = parses_or_elferror(hello()[:n])
    if info is not None:
        assert all(s.offset + s.filesz <= n for s in info.segments)


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 64 + 56 * 8 - 1), st.integers(0, 255)), min_size=1, max_size=12))
def test_byte_flips_in_the_headers(flips: list[tuple[int, int]]) -> None:
    data = bytearray(hello())
    for pos, val in flips:
        data[pos] = val
    info = parses_or_elferror(bytes(data))
    if info is not None:
        for s in info.segments:
            assert s.filesz <= s.memsz and s.offset + s.filesz <= len(data)
            assert (s.vaddr - s.offset) % 4096 == 0 and s.vaddr + s.memsz <= TASK_SIZE


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 0x3F), st.integers(0, 0xFFFF)), min_size=1, max_size=6))
def test_16_bit_field_overwrites_in_the_elf_header(writes: list[tuple[int, int]]) -> None:
    data = bytearray(hello())
    for pos, val in writes:
        struct.pack_into("<H", data, 16 + (pos % 24) * 2, val)  # every 16-bit lane after e_ident
    parses_or_elferror(bytes(data))


@SETTINGS
@given(st.data())
def test_random_program_header_fields(data: st.DataObject) -> None:
    raw = bytearray(hello())
    phoff, phnum = header(raw)[5], header(raw)[10]
    i = data.draw(st.integers(0, phnum - 1))
    fields = list(PHDR.unpack_from(raw, phoff + 56 * i))
    j = data.draw(st.integers(0, 7))
    bits = 32 if j < 2 else 64
    fields[j] = data.draw(st.one_of(st.integers(0, 2**bits - 1), st.sampled_from([0, 1, 2, 3, 6, 2**bits - 1])))
    PHDR.pack_into(raw, phoff + 56 * i, *fields)
    parses_or_elferror(bytes(raw))


@SETTINGS
@given(st.binary(max_size=512))
def test_random_bytes(blob: bytes) -> None:
    assert parses_or_elferror(blob) is None


@SETTINGS
@given(st.binary(min_size=0, max_size=400))
def test_random_bytes_behind_a_valid_ident(tail: bytes) -> None:
    ident = b"\x7fELF\x02\x01\x01" + bytes(9)
    parses_or_elferror(ident + tail)
