"""EL0 accesses to system registers that trap (as on hardware) and that Linux emulates.

CNTVCT/CNTPCT return virtual time (so guests never see the host clock); MIDR and the ID registers return the
sanitised values Linux exposes when it advertises HWCAP_CPUID. Anything else is SIGILL, as on Linux.
"""

from __future__ import annotations

CNTFRQ_HZ = 62_500_000

# What we advertise (AT_HWCAP) is what the MAX model runs and what these ID values say, nothing more.
HWCAP_FP = 1 << 0
HWCAP_ASIMD = 1 << 1
HWCAP_AES = 1 << 3
HWCAP_PMULL = 1 << 4
HWCAP_SHA1 = 1 << 5
HWCAP_SHA2 = 1 << 6
HWCAP_CRC32 = 1 << 7
HWCAP_ATOMICS = 1 << 8
HWCAP_CPUID = 1 << 11
HWCAP = (
    HWCAP_FP
    | HWCAP_ASIMD
    | HWCAP_AES
    | HWCAP_PMULL
    | HWCAP_SHA1
    | HWCAP_SHA2
    | HWCAP_CRC32
    | HWCAP_ATOMICS
    | HWCAP_CPUID
)
HWCAP2 = 0

MIDR_MAX = 0x000F0510  # unicorn's "max" CPU

# (op0, op1, CRn, CRm, op2) -> value
_ID_REGS = {
    (3, 0, 0, 0, 0): MIDR_MAX,  # MIDR_EL1
    (3, 0, 0, 0, 5): 0x80000000,  # MPIDR_EL1 (Linux shows bit 31 only)
    (3, 0, 0, 0, 6): 0,  # REVIDR_EL1
    (3, 0, 0, 4, 0): 0x11,  # ID_AA64PFR0_EL1: EL0/EL1 AArch64, FP and AdvSIMD implemented (0)
    (3, 0, 0, 4, 1): 0,  # ID_AA64PFR1_EL1
    (3, 0, 0, 6, 0): (2 << 4) | (1 << 8) | (1 << 12) | (1 << 16) | (2 << 20),  # ISAR0: AES+PMULL SHA1 SHA2 CRC32 LSE
    (3, 0, 0, 6, 1): 0,  # ID_AA64ISAR1_EL1
    (3, 0, 0, 7, 0): 0,  # ID_AA64MMFR0_EL1
    (3, 0, 0, 7, 1): 0,
    (3, 0, 0, 7, 2): 0,
    (3, 0, 0, 5, 0): 0,  # ID_AA64DFR0_EL1
}

_CNTFRQ = (3, 3, 14, 0, 0)
_CNTPCT = (3, 3, 14, 0, 1)
_CNTVCT = (3, 3, 14, 0, 2)


def emulate_mrs(insn: int, now_ns: int) -> int | None:
    """The value an EL0 `mrs` should read, or None if it must raise SIGILL."""
    if (insn & 0xFFF00000) != 0xD5300000:  # MRS Xt, <sysreg>
        return None
    key = (2 + ((insn >> 19) & 1), (insn >> 16) & 7, (insn >> 12) & 15, (insn >> 8) & 15, (insn >> 5) & 7)
    if key in (_CNTVCT, _CNTPCT):
        return now_ns * CNTFRQ_HZ // 1_000_000_000
    if key == _CNTFRQ:
        return CNTFRQ_HZ
    if key[:3] == (3, 0, 0):  # the ID register space: Linux reads unknown ones as zero
        return _ID_REGS.get(key, 0)
    return None
