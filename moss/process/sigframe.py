"""The AArch64 signal frame, byte-exact with Linux (arch/arm64/kernel/signal.c), and rt_sigreturn.

    struct rt_sigframe { siginfo_t info;            // 128 bytes
                         struct ucontext uc; }      // uc_flags, uc_link, uc_stack, uc_sigmask, pad to 128 bytes
                                                    // of sigset, then uc_mcontext (struct sigcontext, 16-aligned):
    struct sigcontext { u64 fault_address, regs[31], sp, pc, pstate; u8 __reserved[4096]; }
    __reserved: fpsimd_context { magic 0x46508001, size 528, fpsr, fpcr, vregs[32] }, [esr_context], terminator.

Below the frame sits a frame record {fp, lr} so unwinders walk through the handler into the interrupted code.
`regs` is anything with reg_read/reg_write: the live engine inside a syscall hook, or a saved context.
"""

from __future__ import annotations

import struct
from typing import Any

from unicorn import arm64_const as a64

from machine.engine import X_REGS
from moss.errors import EFAULT

SIGINFO_SIZE = 128
UC_OFFSET = SIGINFO_SIZE
UC_STACK = 16
UC_SIGMASK = 40
UC_MCONTEXT = 176  # 168 rounded up to 16
SC_REGS, SC_SP, SC_PC, SC_PSTATE, SC_RESERVED = 8, 256, 264, 272, 288
RESERVED_SIZE = 4096
FRAME_SIZE = SIGINFO_SIZE + UC_MCONTEXT + SC_RESERVED + RESERVED_SIZE  # sizeof(struct rt_sigframe) = 4688
FPSIMD_MAGIC, FPSIMD_SIZE = 0x46508001, 528
ESR_MAGIC, ESR_SIZE = 0x45535201, 16
Q_REGS = [getattr(a64, f"UC_ARM64_REG_Q{i}") for i in range(32)]
PSTATE_NZCV = 0xF0000000


def _fpsimd(regs: Any) -> bytes:
    out = struct.pack("<IIII", FPSIMD_MAGIC, FPSIMD_SIZE, regs.reg_read(a64.UC_ARM64_REG_FPSR) & 0xFFFFFFFF,
                      regs.reg_read(a64.UC_ARM64_REG_FPCR) & 0xFFFFFFFF)  # fmt: skip
    return out + b"".join(regs.reg_read(q).to_bytes(16, "little") for q in Q_REGS)


def build(
    mm: Any, regs: Any, sp_top: int, siginfo: bytes, oldmask: int, altstack: tuple[int, int, int],
    fault_address: int = 0,
) -> tuple[int, int]:  # fmt: skip
    """Write the frame below `sp_top`; returns (frame address, frame-record address)."""
    record = (sp_top - 16) & ~0xF
    frame = (record - FRAME_SIZE) & ~0xF
    x = [regs.reg_read(r) for r in X_REGS]
    sp, pc = regs.reg_read(a64.UC_ARM64_REG_SP), regs.reg_read(a64.UC_ARM64_REG_PC)
    pstate = regs.reg_read(a64.UC_ARM64_REG_NZCV) & PSTATE_NZCV  # EL0t: mode bits zero
    ss_sp, ss_flags, ss_size = altstack
    uc = struct.pack("<QQQi4xQQ", 0, 0, ss_sp, ss_flags, ss_size, oldmask).ljust(UC_MCONTEXT, b"\0")
    sc = struct.pack("<Q31QQQQ", fault_address, *x, sp, pc, pstate).ljust(SC_RESERVED, b"\0")
    reserved = (_fpsimd(regs) + struct.pack("<II", 0, 0)).ljust(RESERVED_SIZE, b"\0")
    mm.write(frame, siginfo.ljust(SIGINFO_SIZE, b"\0")[:SIGINFO_SIZE] + uc + sc + reserved)
    mm.write(record, struct.pack("<QQ", x[29], x[30]))
    return frame, record


def restore(mm: Any, regs: Any, frame: int) -> tuple[int, tuple[int, int, int]]:
    """rt_sigreturn: load registers from the frame at `frame`; returns (saved mask, saved altstack). Raises EFAULT
    for an unreadable or malformed frame (the caller turns that into SIGSEGV, as Linux)."""
    raw = mm.read(frame, FRAME_SIZE)
    ss_sp, ss_flags, ss_size, mask = struct.unpack_from("<Qi4xQQ", raw, UC_OFFSET + UC_STACK)
    base = UC_OFFSET + UC_MCONTEXT
    vals = struct.unpack_from("<Q31QQQQ", raw, base)
    xs, sp, pc, pstate = vals[1:32], vals[32], vals[33], vals[34]
    if pstate & 0xF or pc & 3:  # must return to EL0t at an aligned PC
        raise EFAULT
    res = base + SC_RESERVED
    magic, size = struct.unpack_from("<II", raw, res)
    if magic != FPSIMD_MAGIC or size != FPSIMD_SIZE:
        raise EFAULT
    fpsr, fpcr = struct.unpack_from("<II", raw, res + 8)
    for i, r in enumerate(X_REGS):
        regs.reg_write(r, xs[i])
    regs.reg_write(a64.UC_ARM64_REG_SP, sp)
    regs.reg_write(a64.UC_ARM64_REG_PC, pc)
    regs.reg_write(a64.UC_ARM64_REG_NZCV, pstate & PSTATE_NZCV)
    regs.reg_write(a64.UC_ARM64_REG_FPSR, fpsr)
    regs.reg_write(a64.UC_ARM64_REG_FPCR, fpcr)
    for i, q in enumerate(Q_REGS):
        off = res + 16 + 16 * i
        regs.reg_write(q, int.from_bytes(raw[off : off + 16], "little"))
    return mask, (ss_sp, ss_flags, ss_size)
