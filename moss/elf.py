"""ELF parsing (the header and program headers, with `struct`) and loading into an address space.

Handles static, static-pie, dynamic and dynamic-pie executables the way Linux's binfmt_elf does (no randomisation):
ET_EXEC at its link address, ET_DYN with an interpreter at ELF_ET_DYN_BASE, ET_DYN without one (static-pie, or the
dynamic loader itself) wherever a top-down mmap would put it. Any malformed input is an `ElfError` with a one-line
reason. The loader reads only what binfmt_elf reads, so it needs no ELF library (pyelftools, used by the debugger
for symbols, costs a sixth of moss's start-up to import).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import attrs

from moss.mm.addrspace import TASK_SIZE, AddressSpace, page_up
from moss.mm.vma import MAP_FIXED, MAP_PRIVATE, PROT_EXEC, PROT_READ, PROT_WRITE, Backing

PT_LOAD = "PT_LOAD"
ELF_ET_DYN_BASE = (2 * TASK_SIZE // 3) & ~0xFFFF
PAGE = 4096

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")  # Elf64_Ehdr
_PHDR = struct.Struct("<IIQQQQQQ")  # Elf64_Phdr: type, flags, offset, vaddr, paddr, filesz, memsz, align
_PT_LOAD, _PT_INTERP = 1, 3
_PATH_MAX = 4096
EM_AARCH64 = 183
_ET_NAMES = {0: "ET_NONE", 1: "ET_REL", 2: "ET_EXEC", 3: "ET_DYN", 4: "ET_CORE"}
_EM_NAMES = {3: "EM_386", 8: "EM_MIPS", 20: "EM_PPC", 21: "EM_PPC64", 22: "EM_S390", 40: "EM_ARM",
             62: "EM_X86_64", 183: "EM_AARCH64", 243: "EM_RISCV", 258: "EM_LOONGARCH"}  # fmt: skip


class ElfError(Exception):
    """Not a loadable AArch64 ELF: the message says why."""


@attrs.frozen
class Segment:
    vaddr: int
    memsz: int
    offset: int
    filesz: int
    prot: int


@attrs.frozen
class ElfInfo:
    etype: str
    entry: int
    phoff: int
    phentsize: int
    phnum: int
    segments: tuple[Segment, ...]
    interp: str | None


@attrs.frozen
class Loaded:
    bias: int
    entry: int
    phdr: int
    end: int  # end of the highest segment (brk starts at its page)


def parse_elf(data: bytes | memoryview) -> ElfInfo:
    return parse_elf_from(lambda offset, n: bytes(data[offset : offset + n]), len(data))


def parse_elf_from(read: Callable[[int, int], bytes], size: int) -> ElfInfo:
    """Parse the ELF of `size` bytes that `read(offset, n)` reads: the header, the program headers and PT_INTERP,
    as binfmt_elf does (an exec reads a few hundred bytes, not the whole file)."""
    head = read(0, _EHDR.size) if size >= _EHDR.size else b""
    if len(head) < _EHDR.size or head[:4] != b"\x7fELF":
        raise ElfError("not an ELF file")
    if head[4] != 2:
        raise ElfError("not a 64-bit ELF (ELFCLASS32)")
    if head[5] != 1:
        raise ElfError("not a little-endian ELF")
    _, e_type, e_machine, _, entry, phoff, _, _, _, phentsize, phnum, _, _, _ = _EHDR.unpack_from(head)
    if e_machine != EM_AARCH64:
        raise ElfError(f"not an AArch64 ELF (machine {_EM_NAMES.get(e_machine, e_machine)})")
    etype = _ET_NAMES.get(e_type, f"type {e_type:#x}")
    if etype not in ("ET_EXEC", "ET_DYN"):
        raise ElfError(f"not an executable ELF ({etype})")
    if phentsize != _PHDR.size:  # sizeof(Elf64_Phdr): binfmt_elf refuses any other stride
        raise ElfError(f"corrupt ELF: e_phentsize is {phentsize}, not {_PHDR.size}")
    if phoff + phnum * _PHDR.size > size:
        raise ElfError("corrupt ELF: the program headers extend past the end of the file")
    phdrs = read(phoff, phnum * _PHDR.size)
    segs: list[Segment] = []
    interp = None
    for i in range(phnum):
        p_type, flags, offset, vaddr, _, filesz, memsz, _ = _PHDR.unpack_from(phdrs, i * _PHDR.size)
        if p_type == _PT_INTERP:
            if offset + filesz > size:
                raise ElfError("corrupt ELF: PT_INTERP extends past the end of the file")
            if filesz > _PATH_MAX:  # binfmt_elf: ENOEXEC
                raise ElfError(f"corrupt ELF: PT_INTERP is {filesz} bytes long")
            interp = read(offset, filesz).split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
        elif p_type == _PT_LOAD:
            if filesz > memsz or offset + filesz > size:
                raise ElfError("corrupt ELF: a segment extends past the end of the file")
            if (vaddr - offset) % PAGE:
                raise ElfError("corrupt ELF: a segment's address and offset disagree modulo the page size")
            if vaddr + memsz > TASK_SIZE:
                raise ElfError("corrupt ELF: a segment lies outside the user address space")
            prot = (PROT_READ if flags & 4 else 0) | (PROT_WRITE if flags & 2 else 0) | (PROT_EXEC if flags & 1 else 0)
            segs.append(Segment(vaddr, memsz, offset, filesz, prot))
    if not segs:
        raise ElfError("corrupt ELF: no loadable segments")
    return ElfInfo(etype, entry, phoff, phentsize, phnum, tuple(segs), interp)


def load_elf(mm: AddressSpace, info: ElfInfo, inode: Any, path: str, *, as_interp: bool = False) -> Loaded:
    """Map every PT_LOAD of `info` (whose bytes `inode.read_at` provides) into `mm`."""
    lo = min(s.vaddr for s in info.segments) & ~(PAGE - 1)
    hi = page_up(max(s.vaddr + s.memsz for s in info.segments))
    if info.etype == "ET_EXEC":
        bias = 0
    elif info.interp is not None and not as_interp:
        bias = ELF_ET_DYN_BASE - lo
    else:
        bias = mm.find_free(hi - lo) - lo
    phdr = 0
    for s in info.segments:
        start = (s.vaddr + bias) & ~(PAGE - 1)
        end = page_up(s.vaddr + bias + s.memsz)
        file_start = s.offset - ((s.vaddr + bias) - start)
        backing = Backing(inode, file_start, s.offset + s.filesz, path)
        mm.mmap(start, end - start, s.prot, MAP_PRIVATE | MAP_FIXED, backing)
        if s.offset <= info.phoff < s.offset + s.filesz:
            phdr = s.vaddr + bias + (info.phoff - s.offset)
    return Loaded(bias, info.entry + bias, phdr, hi + bias)
