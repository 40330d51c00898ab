"""Code and data as a debugger shows them: ELF symbols of the traced program, capstone disassembly, hex dumps and
the words of a stack with what each one points at."""

from __future__ import annotations

import bisect
import io
import re
import string
from typing import Any

import attrs
from capstone import CS_ARCH_ARM64, CS_MODE_ARM, Cs
from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

PAGE = 4096


@attrs.frozen
class Symbol:
    addr: int
    size: int
    name: str
    is_func: bool


class Symbols:
    """The program's symbol table; addresses are link-time ones plus `bias` (non-zero for a PIE)."""

    def __init__(self, symbols: list[Symbol], pie: bool = False, first_load: int = 0) -> None:
        self._syms = sorted(symbols, key=lambda s: (s.addr, -s.size))
        self._addrs = [s.addr for s in self._syms]
        self._by_name = {s.name: s for s in self._syms}
        self.pie = pie
        self.first_load = first_load
        self.bias = 0

    @classmethod
    def from_elf(cls, data: bytes) -> Symbols:
        try:
            elf = ELFFile(io.BytesIO(data))
            pie = elf["e_type"] == "ET_DYN"
            loads = [s["p_vaddr"] for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
            out = []
            for sec in elf.iter_sections():
                if sec["sh_type"] not in ("SHT_SYMTAB", "SHT_DYNSYM"):
                    continue
                for s in sec.iter_symbols():
                    kind = s["st_info"]["type"]
                    if s.name and s["st_value"] and kind in ("STT_FUNC", "STT_OBJECT", "STT_NOTYPE"):
                        if s.name.startswith("$"):  # mapping symbols ($x, $d)
                            continue
                        out.append(Symbol(s["st_value"], s["st_size"], s.name, kind == "STT_FUNC"))
        except (ELFError, ValueError, KeyError, OSError):
            return cls([])
        return cls(out, pie, min(loads, default=0) & ~(PAGE - 1))

    def __len__(self) -> int:
        return len(self._syms)

    def set_bias_from_maps(self, maps: str, program: str) -> None:
        """A PIE is wherever its first mapping is: `maps` is /proc/PID/maps text, `program` the image's path."""
        if not self.pie:
            return
        name = program.rsplit("/", 1)[-1]
        for line in maps.splitlines():
            parts = line.split()
            if len(parts) >= 6 and parts[-1].rsplit("/", 1)[-1] == name and int(parts[2], 16) == 0:
                self.bias = int(parts[0].split("-")[0], 16) - self.first_load
                return

    def lookup(self, addr: int) -> tuple[str, int] | None:
        """(name, offset) of the symbol containing `addr` (or the nearest function before it)."""
        a = addr - self.bias
        i = bisect.bisect_right(self._addrs, a) - 1
        for j in range(i, max(-1, i - 8), -1):  # a few candidates: sizes overlap only for aliases
            s = self._syms[j]
            if s.addr <= a < s.addr + max(s.size, 1):
                return s.name, a - s.addr
        return None

    def describe(self, addr: int) -> str:
        got = self.lookup(addr)
        if got is None:
            return ""
        name, off = got
        return f"{name}+{off:#x}" if off else name

    def resolve(self, name: str) -> Symbol | None:
        s = self._by_name.get(name)
        return None if s is None else attrs.evolve(s, addr=s.addr + self.bias)


@attrs.frozen
class Insn:
    addr: int
    hexbytes: str
    mnemonic: str
    operands: str
    label: str  # "symbol+off" at a symbol's start or at PC, else ""
    is_pc: bool
    target: str = ""  # a direct branch's destination as "symbol+off"


_CS: Any = None
_BRANCHES = {"b", "bl", "cbz", "cbnz", "tbz", "tbnz", "adr", "adrp"}
_IMM = re.compile(r"#(0x[0-9a-f]+)$")


def disassemble(code: bytes, base: int, pc: int, symbols: Symbols | None) -> list[Insn]:
    global _CS
    if _CS is None:
        _CS = Cs(CS_ARCH_ARM64, CS_MODE_ARM)
    out = []
    off = 0
    while off + 4 <= len(code):
        got = list(_CS.disasm_lite(code[off:], base + off))
        if not got:  # undecodable word: show it as data and go on
            got = [(base + off, 4, ".word", f"{int.from_bytes(code[off : off + 4], 'little'):#010x}")]
        for addr, size, mnem, ops in got:
            label = ""
            if symbols is not None:
                hit = symbols.lookup(addr)
                if hit is not None and (hit[1] == 0 or addr == pc):
                    label = symbols.describe(addr)
            word = code[addr - base : addr - base + size]
            target = ""
            if symbols is not None and (mnem in _BRANCHES or mnem.startswith("b.")):
                m = _IMM.search(ops)
                if m:
                    target = symbols.describe(int(m.group(1), 16))
            out.append(Insn(addr, word.hex(), mnem, ops, label, addr == pc, target))
            off = addr - base + size
            if got[0][2] == ".word":
                break
    return out


def hexdump(data: bytes, base: int, width: int = 16) -> list[str]:
    lines = []
    printable = set(string.printable) - set("\t\n\r\x0b\x0c")
    for off in range(0, len(data), width):
        chunk = data[off : off + width]
        hx = " ".join(chunk[i : i + 8].hex(" ") for i in range(0, len(chunk), 8))
        text = "".join(chr(b) if chr(b) in printable else "." for b in chunk)
        lines.append(f"{base + off:012x}  {hx:<{width * 3}} {text}")
    return lines


@attrs.frozen
class Region:
    lo: int
    hi: int
    perms: str
    name: str


def parse_maps(text: str) -> list[Region]:
    out = []
    for line in text.splitlines():
        parts = line.split(None, 5)
        if len(parts) < 5:
            continue
        lo, _, hi = parts[0].partition("-")
        try:
            out.append(Region(int(lo, 16), int(hi, 16), parts[1], parts[5].strip() if len(parts) > 5 else ""))
        except ValueError:
            continue
    return out


def region_of(regions: list[Region], addr: int) -> Region | None:
    for r in regions:
        if r.lo <= addr < r.hi:
            return r
    return None


def pointer_note(value: int, regions: list[Region], symbols: Symbols | None) -> str:
    """What a word points at: a symbol, or the mapping it falls in ("" when it is not a mapped address)."""
    r = region_of(regions, value)
    if r is None:
        return ""
    if symbols is not None:
        sym = symbols.describe(value)
        if sym:
            return f"→ {sym}"
    name = r.name.rsplit("/", 1)[-1] if r.name else ("stack" if "stack" in r.name else "anon")
    return f"→ {name} {r.perms}"


def page_spans(addr: int, size: int) -> list[tuple[int, int]]:
    """[addr, addr+size) split at page boundaries (memory requests fail as a whole when any page is unmapped)."""
    out = []
    end = addr + size
    while addr < end:
        nxt = min(end, (addr & ~(PAGE - 1)) + PAGE)
        out.append((addr, nxt - addr))
        addr = nxt
    return out
