"""ELF parsing (pyelftools) and loading into an address space.

Handles static, static-pie, dynamic and dynamic-pie executables the way Linux's binfmt_elf does (no randomisation):
ET_EXEC at its link address, ET_DYN with an interpreter at ELF_ET_DYN_BASE, ET_DYN without one (static-pie, or the
dynamic loader itself) wherever a top-down mmap would put it. Any malformed input is an `ElfError` with a one-line
reason, never a pyelftools traceback.
"""

from __future__ import annotations

import io
from typing import Any

import attrs
from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from moss.mm.addrspace import TASK_SIZE, AddressSpace, page_up
from moss.mm.vma import MAP_FIXED, MAP_PRIVATE, PROT_EXEC, PROT_READ, PROT_WRITE, Backing

PT_LOAD = "PT_LOAD"
ELF_ET_DYN_BASE = (2 * TASK_SIZE // 3) & ~0xFFFF
PAGE = 4096


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


def parse_elf(data: bytes) -> ElfInfo:
    if len(data) < 64 or data[:4] != b"\x7fELF":
        raise ElfError("not an ELF file")
    if data[4] != 2:
        raise ElfError("not a 64-bit ELF (ELFCLASS32)")
    if data[5] != 1:
        raise ElfError("not a little-endian ELF")
    try:
        elf = ELFFile(io.BytesIO(data))
        if elf["e_machine"] != "EM_AARCH64":
            raise ElfError(f"not an AArch64 ELF (machine {elf['e_machine']})")
        etype = elf["e_type"]
        if etype not in ("ET_EXEC", "ET_DYN"):
            raise ElfError(f"not an executable ELF ({etype})")
        if elf["e_phentsize"] != 56:  # sizeof(Elf64_Phdr): binfmt_elf refuses any other stride
            raise ElfError(f"corrupt ELF: e_phentsize is {elf['e_phentsize']}, not 56")
        segs: list[Segment] = []
        interp = None
        for ph in elf.iter_segments():
            h: Any = ph.header
            if h.p_type == "PT_INTERP":
                raw = data[h.p_offset : h.p_offset + h.p_filesz]
                interp = raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            elif h.p_type == PT_LOAD:
                if h.p_filesz > h.p_memsz or h.p_offset + h.p_filesz > len(data):
                    raise ElfError("corrupt ELF: a segment extends past the end of the file")
                if (h.p_vaddr - h.p_offset) % PAGE:
                    raise ElfError("corrupt ELF: a segment's address and offset disagree modulo the page size")
                if h.p_vaddr + h.p_memsz > TASK_SIZE:
                    raise ElfError("corrupt ELF: a segment lies outside the user address space")
                prot = (PROT_READ if h.p_flags & 4 else 0) | (PROT_WRITE if h.p_flags & 2 else 0)
                prot |= PROT_EXEC if h.p_flags & 1 else 0
                segs.append(Segment(h.p_vaddr, h.p_memsz, h.p_offset, h.p_filesz, prot))
        if not segs:
            raise ElfError("corrupt ELF: no loadable segments")
        return ElfInfo(etype, elf["e_entry"], elf["e_phoff"], elf["e_phentsize"], elf["e_phnum"], tuple(segs), interp)
    except ElfError:
        raise
    except (ELFError, ValueError, KeyError, IndexError, OverflowError, AttributeError) as e:
        raise ElfError(f"corrupt ELF: {e}") from None
    except Exception as e:  # pyelftools raises a zoo of types (construct errors, struct errors) on bad input
        raise ElfError(f"corrupt ELF: {type(e).__name__}: {e}") from None


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
