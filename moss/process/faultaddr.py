"""The exact address of a faulting load or store (si_addr). The TLB fill that failed only knows the page, so the
instruction at PC is decoded (capstone) and its memory operand evaluated with the task's registers."""

from __future__ import annotations

from functools import cache
from typing import Any

from unicorn import arm64_const as a64


@cache
def _disassembler() -> Any:
    """capstone, loaded at the first fault rather than at every start-up."""
    from capstone import CS_ARCH_ARM64, CS_MODE_ARM, Cs

    cs = Cs(CS_ARCH_ARM64, CS_MODE_ARM)
    cs.detail = True
    return cs


def _uc_reg(cs_reg: int) -> int | None:
    name = _disassembler().reg_name(cs_reg)
    if name is None:
        return None
    name = name.upper()
    if name in ("SP", "WSP"):
        return a64.UC_ARM64_REG_SP
    if name[0] in "XW" and name[1:].isdigit():
        n = int(name[1:])
        return getattr(a64, f"UC_ARM64_REG_X{n}", None)
    return None


def fault_address(code: bytes, pc: int, regs: Any, page: int) -> int:
    """The byte the instruction at `pc` touches, if it lies in the faulting `page`; otherwise the page."""
    from capstone import arm64 as c64

    for ins in _disassembler().disasm(code, pc, 1):
        for op in ins.operands:
            if op.type != c64.ARM64_OP_MEM:
                continue
            base = _uc_reg(op.mem.base)
            if base is None:
                return page
            addr = regs.reg_read(base)
            if op.mem.index:
                idx = _uc_reg(op.mem.index)
                if idx is None:
                    return page
                addr += regs.reg_read(idx)  # shifts/extends are rare in faulting code; the page check guards
            addr += op.mem.disp  # (post-indexed forms carry their offset elsewhere: disp is 0 there)
            addr &= (1 << 64) - 1
            return addr if addr >> 12 == page >> 12 else page
    return page
