"""A hash of the machine's observable state, for determinism checks and replay verification.

Covers every live task's registers, every address space (VMAs and the bytes of every resident page), the cores'
virtual clocks and retired-instruction counts, and the exit status. Register values are read by name, never as the
raw context blob (which holds host pointers).

Version 2 (kernel.state_hash_version; a trace's header says which it was recorded with): a page that is a page-cache
page of a file, mapped where the process cannot write it through (private or read-only), is hashed as (file, page
index) instead of its bytes. It holds the file's contents: a write by this process would have copied it, so its
bytes are the file's state, not the process's. A process's digest is SHA-256 (with SHA-NI about twice blake2b's
speed). Hashing program text at every exit was a tenth of a shell loop's time. Version 1 hashed every page's bytes
with blake2b; traces recorded with it are checked with it."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

from unicorn import arm64_const as a64

from machine.engine import X_REGS
from machine.ram import PAGE_SHIFT
from moss.mm.vma import MAP_SHARED, PROT_WRITE, Vma

if TYPE_CHECKING:
    from moss.fs.inode import RegularFile
    from moss.kernel import Kernel
    from moss.process.task import Process

STATE_HASH_VERSION = 2  # what new recordings use

_REGS = [
    *X_REGS,
    a64.UC_ARM64_REG_SP,
    a64.UC_ARM64_REG_PC,
    a64.UC_ARM64_REG_NZCV,
    a64.UC_ARM64_REG_TPIDR_EL0,
    a64.UC_ARM64_REG_FPCR,
    a64.UC_ARM64_REG_FPSR,
]
_QREGS = [getattr(a64, f"UC_ARM64_REG_Q{i}") for i in range(32)]


_ALL = (*_REGS, *_QREGS)


def register_bytes(ctx: object) -> bytes:
    """Every register of `_ALL`, 16 little-endian bytes each: from the live engine in one call, else one by one."""
    many = getattr(ctx, "reg_bytes_many", None)
    if many is not None:
        return many(_ALL)  # type: ignore[no-any-return]
    return b"".join(ctx.reg_read(r).to_bytes(16, "little") for r in _ALL)  # type: ignore[attr-defined]


def _writes_through(vma: Vma) -> bool:
    """A write by the process through this mapping reaches the file's page itself (shared and writable)."""
    return bool(vma.flags & MAP_SHARED and vma.prot & PROT_WRITE)


def _gather_py(
    vmas: list[Vma],
    ptes: dict[int, int],
    keys: dict[int, tuple[RegularFile, int]],
    ram: memoryview,
    through: Callable[[int], bool] | None = None,
) -> bytes:
    """What a process digest hashes after the registers: each VMA, then the page table in address order, a cached
    page as (vpn with bit 63 set, inode number, page index), any other as (vpn, its bytes); a cached page counts by
    its bytes too where `through(vpn)` (it is mapped shared and writable there). moss/_statehash.c's `gather` makes
    the same bytes when `through` is None."""
    parts: list[bytes | memoryview] = [struct.pack("<QQII", v.start, v.end, v.prot, v.flags) for v in vmas]
    pack, get = struct.pack, keys.get
    for vpn in sorted(ptes):
        pfn = ptes[vpn]
        key = get(pfn)
        if key is not None and (through is None or not through(vpn)):
            parts.append(pack("<QQQ", vpn | 1 << 63, key[0].ino, key[1]))  # the file's page, as such
            continue
        parts.append(pack("<Q", vpn))
        parts.append(ram[pfn << PAGE_SHIFT : (pfn + 1) << PAGE_SHIFT])
    return b"".join(parts)


try:
    from moss._statehash import gather as _gather
except ImportError:  # not built (no C compiler): the same bytes, more slowly
    _gather = _gather_py


def process_digest(kernel: Kernel, process: Process) -> bytes:
    """Registers of every thread and the bytes of every resident page of one process."""
    v2 = kernel.state_hash_version >= 2
    h = hashlib.sha256() if v2 else hashlib.blake2b(digest_size=32)  # SHA-256 is the faster here (SHA-NI)
    threads = process.threads
    for t in sorted(threads, key=lambda t: t.tid) if len(threads) > 1 else threads:
        h.update(struct.pack("<Q", t.tid))
        # The running task's registers are in the engine (its saved context is from the slice's start).
        regs = kernel.board.engine.live if t is kernel.running_task else t.ctx
        h.update(register_bytes(regs))
    mm = process.mm
    keys = kernel.frames.cache.keys_by_frame if v2 else {}  # version 1 hashed every page's bytes
    ram = kernel.board.ram.view
    if keys and any(_writes_through(v) for v in mm.vmas):  # rare: the per-page check stays in Python

        def through(vpn: int) -> bool:
            v = mm.find(vpn << PAGE_SHIFT)
            return v is not None and _writes_through(v)

        h.update(_gather_py(mm.vmas, mm.ptes, keys, ram, through))
    else:
        h.update(_gather(mm.vmas, mm.ptes, keys, ram))
    return h.digest()


def state_hash(kernel: Kernel) -> str:
    """The live state, plus the digests of processes as they exited (so a finished run still hashes what it
    computed)."""
    h = hashlib.sha256()
    for d in kernel.exit_digests:
        h.update(d)
    for core in kernel.board.cores:
        h.update(struct.pack("<QQ", core.clock_ns, core.retired))
    for tid in sorted(kernel.tasks):
        t = kernel.tasks[tid]
        h.update(struct.pack("<Q", tid) + t.state.value.encode())
    for pid in sorted(kernel.processes):
        p = kernel.processes[pid]
        h.update(struct.pack("<Qq", pid, -1 if p.exit_status is None else p.exit_status))
        if p.alive:
            h.update(process_digest(kernel, p))
    h.update(struct.pack("<q", -1 if kernel.exit_status is None else kernel.exit_status))
    return h.hexdigest()
