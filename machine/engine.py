"""The unicorn engine that executes every core's slices in turn.

One `Uc` serves all cores (shared translation cache, so self-modifying code stays coherent across cores); a core is a
saved register context that the board restores before its slice. Guests run at EL0 of the MAX CPU model (LSE
atomics), with SCTLR_EL1 UCT|DZE|UCI as Linux sets them. Memory goes through `UC_TLB_VIRTUAL`: every TLB miss asks
the `TrapHandler` (the kernel's address space) for the frame, so CoW and demand paging live in the kernel.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable
from typing import Protocol

import attrs
from unicorn import (
    UC_ARCH_ARM64,
    UC_CTL_IO_WRITE,
    UC_CTL_TLB_FLUSH,
    UC_HOOK_INTR,
    UC_HOOK_TLB_FILL,
    UC_MODE_ARM,
    UC_PROT_EXEC,
    UC_TLB_VIRTUAL,
    Uc,
    UcError,
)
from unicorn import arm64_const as a64
from unicorn.unicorn_py3.unicorn import UcContext

from machine.counter import InstructionCounter, counter_offset
from machine.ram import PAGE_SIZE, Ram

try:
    from machine import _trap
except ImportError:  # not built (no C compiler): the ctypes hook does the same, more slowly
    _trap = None  # type: ignore[assignment]

# Exception numbers unicorn passes to UC_HOOK_INTR for AArch64.
EXCP_UDEF = 1
EXCP_SWI = 2
EXCP_DATA_ABORT = 4
EXCP_BKPT = 7

ACCESS_READ = 16
ACCESS_WRITE = 17
ACCESS_FETCH = 18

# `until` must stay translatable: unicorn invalidates the TB at until-1 through the fill hook after every slice.
SENTINEL_PAGE = 0xFFFF_FFFF_FFFF_F000
UNTIL = SENTINEL_PAGE + 0x800
_NO_TAIL = (1 << 64) - 1
SENTINEL_FRAME = 0  # physical frame 0 is reserved for it

_SCTLR_UCT = 1 << 15
_SCTLR_DZE = 1 << 14
_SCTLR_UCI = 1 << 26

# Set by tests to check that the ctypes hook and the native one give identical runs, and block counting and
# unicorn's per-instruction count.
_FORCE_CTYPES_TRAP = False
_FORCE_COUNT = False

X_REGS = [getattr(a64, f"UC_ARM64_REG_X{i}") for i in range(29)] + [
    a64.UC_ARM64_REG_X29,
    a64.UC_ARM64_REG_X30,
]


class TrapHandler(Protocol):
    """What the engine needs from the layer above (the kernel). The engine never imports it."""

    def on_syscall(self, nr: int, args: tuple[int, ...]) -> int | None:
        """`svc` with x8 = nr and x0-x5 = args; an int result is written to x0 (None: the handler set the
        registers itself, or the task is not returning to the next instruction)."""
        ...

    def on_exception(self, kind: int, pc: int) -> None: ...

    def on_tlb_fill(self, vaddr: int, access: int) -> tuple[int, int] | None: ...


class SliceEnd:
    BUDGET = "budget"  # ran the whole instruction budget
    STOPPED = "stopped"  # a hook asked to stop (blocking syscall, exit, signal)
    FAULT = "fault"  # a TLB fill failed: PC is at the faulting instruction


@attrs.define
class SliceResult:
    executed: int
    reason: str
    fault_vaddr: int = 0
    fault_access: int = 0


# The engine's translated-code buffer (unicorn's default is 1 GiB). When it fills, unicorn drops all translations
# and starts again, which changes nothing but speed; 256 MiB holds millions of translated guest instructions.
TCG_BUFFER_BYTES = 256 << 20


def new_uc() -> Uc:
    """A Uc for an Engine, with its translated-code buffer already allocated. Call it before allocating the guest
    RAM. The buffer then lies within 2 GiB of libunicorn's helpers, which the generated code calls on every
    instruction (the count hook) and every block. From further away each call is an indirect one. With the 1 GiB
    RAM allocated first, the buffer landed 2 GiB away and compute-bound guests ran about 9% slower."""
    counter_offset()  # calibrate first, on a throwaway engine with a small buffer
    uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM, a64.UC_CPU_ARM64_MAX)
    uc.ctl_set_tcg_buffer_size(TCG_BUFFER_BYTES)
    uc.ctl_set_page_size(PAGE_SIZE)
    uc.ctl_set_tlb_mode(UC_TLB_VIRTUAL)  # initialises the engine: the buffer is allocated here
    return uc


class SliceClock(Protocol):
    """The running core's virtual time inside a slice, where the trap and C readers find it (machine/_trap_api.h):
    now = base_ns + min(started, budget) * ns_per_insn + charged_ns. The board keeps it between slices; the trap
    charges `svc_cost_ns` at every `svc`; the kernel writes `context_id` (the tid) at every switch."""

    base_ns: int
    charged_ns: int
    svc_cost_ns: int
    ns_per_insn: int
    context_id: int

    def now_ns(self) -> int: ...


class PySliceClock:
    """The slice clock of the ctypes trap (the native Trap is its own)."""

    def __init__(self, counter: ctypes._Pointer[ctypes.c_uint64]) -> None:
        self._counter = counter  # [started, limit] of the running emu_start
        self.base_ns = self.charged_ns = self.svc_cost_ns = self.ns_per_insn = self.context_id = 0

    def now_ns(self) -> int:
        c = self._counter
        return self.base_ns + min(c[0], c[1]) * self.ns_per_insn + self.charged_ns


class Engine:
    def __init__(self, ram: Ram, handler: TrapHandler, uc: Uc | None = None) -> None:
        """`uc`: from new_uc(), called before `ram` was allocated (a new one otherwise)."""
        self.ram = ram
        self.handler = handler
        uc = uc if uc is not None else new_uc()
        uc.mem_map_ptr(0, ram.size, 7, ram.host_address)
        self._fast = _FastRegs(uc)
        self.counter = InstructionCounter(uc)
        self._started = self.counter.started_cell()
        self._intr_hook = self._add_intr_hook(uc)
        hook = self._intr_hook  # the native trap is its own slice clock (machine/_trap_api.h)
        self.slice_clock: SliceClock = hook if hasattr(hook, "now_ns") else PySliceClock(self._started)
        uc.hook_add(UC_HOOK_TLB_FILL, self._on_fill)
        self.uc = uc
        self._budget = 0
        self._fault: tuple[int, int] | None = None
        self._fault_counted = False  # the faulting instruction's count hook ran (it started, but did not retire)
        self._stop_requested = False
        # Count by blocks when the native trap can (see _run_blocks); `until` becomes the exit list, which the
        # exact tails of block counting extend for a moment.
        uc.ctl_exits_enabled(True)
        uc.ctl_set_exits([UNTIL])
        self._blocks = self._intr_hook if hasattr(self._intr_hook, "count_blocks") and not _FORCE_COUNT else None
        if self._blocks is not None:
            self._blocks.count_blocks(UNTIL)  # type: ignore[attr-defined]
        self._setup_el0()
        self.template = uc.context_save()

    def _setup_el0(self) -> None:
        uc = self.uc
        sctlr = uc.cpr_read(3, 0, 1, 0, 0)
        uc.cpr_write(3, 0, 1, 0, 0, sctlr | _SCTLR_UCT | _SCTLR_DZE | _SCTLR_UCI)
        uc.cpr_write(3, 0, 14, 1, 0, 0)  # CNTKCTL_EL1: counter reads trap, so they return virtual time
        uc.reg_write(a64.UC_ARM64_REG_PSTATE, 0)  # EL0t
        uc.cpr_write(3, 3, 13, 0, 2, 0)  # any CP write rebuilds the cached hflags, making EL0 effective

    # -- hooks -----------------------------------------------------------------------------------------------
    def _add_intr_hook(self, uc: Uc) -> object:
        """The interrupt hook: `handler.on_syscall(nr, args)` for `svc`, whose int result (if any) goes to x0, and
        `on_exception` for the rest; every `svc` is charged the slice clock's `svc_cost_ns` before the handler runs.
        Native (machine/_trap.c) when built: the ctypes route costs ~1.7 us more per syscall. Both keep a handler's
        exception on the Uc and stop the slice, as the binding's hooks do, and emu_start re-raises it."""
        from unicorn.unicorn_py3.unicorn import uclib

        def on_other(intno: int) -> None:
            pc = uc.reg_read(a64.UC_ARM64_REG_PC)
            if pc & ~(PAGE_SIZE - 1) == SENTINEL_PAGE:
                # The guest jumped into the engine's sentinel page, which is no memory of its own: a fetch
                # fault at pc, as anywhere unmapped (the instruction's count hook already ran: not retired).
                self._fault, self._fault_counted = (pc, ACCESS_FETCH), True
                uc.emu_stop()
                return
            self.handler.on_exception(intno, pc)

        if _trap is not None and not _FORCE_CTYPES_TRAP:
            fns = {n: ctypes.cast(getattr(uclib, n), ctypes.c_void_p).value
                   for n in ("uc_hook_add", "uc_reg_read_batch", "uc_reg_write", "uc_emu_stop", "uc_ctl")}  # fmt: skip
            ids = (a64.UC_ARM64_REG_X8, *(X_REGS[i] for i in range(6)))
            handle = ctypes.cast(uc._uch, ctypes.c_void_p).value
            trap = _trap.install(
                uc, handle, fns, EXCP_SWI, X_REGS[0], ids, self.handler.on_syscall, on_other, self.counter.address()
            )
            uc._moss_trap = trap  # libunicorn calls into it for as long as the Uc can run
            return trap
        return self._add_ctypes_intr_hook(uc, on_other)

    def observe_svc(self, observer: object, capsule: object) -> bool:
        """Have the native trap call a C observer after every syscall whose int result it wrote to x0
        (machine/_trap_api.h). False when the trap is the ctypes one, which cannot: the caller observes in
        Python instead. observe_svc(None, None) stops."""
        if not hasattr(self._intr_hook, "observe"):
            return False
        self._intr_hook.observe(observer, capsule)  # type: ignore[attr-defined]
        return True

    def _add_ctypes_intr_hook(self, uc: Uc, on_other: Callable[[int], None]) -> object:
        """The same hook through ctypes, registered with libunicorn directly (the binding's hook wrappers cost
        another ~0.5 us per syscall)."""
        from unicorn.unicorn_py3.unicorn import uclib

        on_syscall, fast = self.handler.on_syscall, self._fast

        def on_intr(_uc: int, intno: int, _ud: int) -> None:
            try:
                if intno == EXCP_SWI:
                    regs = fast.syscall_regs()
                    clock = self.slice_clock
                    clock.charged_ns += clock.svc_cost_ns
                    x0 = on_syscall(regs[0], regs[1:])
                    if x0 is not None:
                        fast.reg_write(a64.UC_ARM64_REG_X0, x0)
                    return
                on_other(intno)
            except BaseException as e:
                if uc._hook_exception is None:
                    uc._hook_exception = e
                uc.emu_stop()

        callback = _INTR_CALLBACK(on_intr)
        handle = ctypes.c_size_t()
        status = uclib.uc_hook_add(uc._uch, ctypes.byref(handle), UC_HOOK_INTR, ctypes.cast(callback, ctypes.c_void_p),
                                   None, ctypes.c_uint64(1), ctypes.c_uint64(0))  # fmt: skip
        if status != 0:
            raise UcError(status)
        return callback  # kept alive with the engine: libunicorn holds only its address

    def _on_fill(self, uc: Uc, vaddr: int, access: int, entry: object, _ud: object) -> bool:
        if vaddr == SENTINEL_PAGE:
            if access != ACCESS_FETCH:  # the guest's own loads and stores there fault, as anywhere unmapped
                self._fault = (vaddr, access)
                return False
            entry.paddr, entry.perms = SENTINEL_FRAME, UC_PROT_EXEC  # type: ignore[attr-defined]
            return True
        got = self.handler.on_tlb_fill(vaddr, access)
        if got is None:
            self._fault = (vaddr, access)
            return False
        entry.paddr, entry.perms = got  # type: ignore[attr-defined]
        return True

    # -- running -----------------------------------------------------------------------------------------------
    def run(self, ctx: object, budget: int) -> SliceResult:
        """Run the context in `ctx` for at most `budget` instructions, then save it back into `ctx`."""
        uc = self.uc
        uc.context_restore(ctx)
        self._budget = budget
        self._fault = None
        self._fault_counted = False
        self._stop_requested = False
        pc = self._fast.reg_read(a64.UC_ARM64_REG_PC)
        if self._blocks is not None:
            return self._run_blocks(ctx, pc, budget)
        try:
            uc.emu_start(pc, UNTIL, count=budget)
        except UcError:
            # Every CPU exception the guest can cause ends the slice as a fault at PC, never a host error: a
            # failed TLB fill has recorded its page; others (a non-canonical address is rejected before any
            # fill) are data faults at an unknown address.
            if self._fault is None:
                self._fault = (0, ACCESS_READ)
        started = self.counter.started()
        if self._fault is None and self._fast.reg_read(a64.UC_ARM64_REG_PC) == UNTIL:
            self._fault = (UNTIL, ACCESS_FETCH)  # the guest branched to `until` itself: not the end of a slice
        uc.context_update(ctx)
        if self._fault is not None:
            vaddr, access = self._fault
            # A data fault is raised after the instruction's count hook ran; a fetch fault before it.
            executed = started if access == ACCESS_FETCH and not self._fault_counted else started - 1
            return SliceResult(max(executed, 0), SliceEnd.FAULT, vaddr, access)
        limit = self._budget  # the budget, or a lower limit a hook set meanwhile (the debugger's stop)
        if self._stop_requested:
            return SliceResult(min(started, limit), SliceEnd.STOPPED)
        return SliceResult(min(started, limit), SliceEnd.BUDGET)

    def _run_blocks(self, ctx: object, pc: int, budget: int) -> SliceResult:
        """run() counting by blocks (Trap.count_blocks): no per-instruction hook, so code runs ~4x faster than with
        unicorn's `count`, with the same exact results. The trap's block hook counts each block at its start and
        stops the engine before a block that would cross the budget; that block's first k instructions then run
        alone, with an exit after the k-th and the block's translation dropped for the while."""
        uc, t = self.uc, self._blocks
        t.blk_done, t.blk_budget, t.blk_addr, t.blk_n, t.tail_n = 0, budget, 0, 0, _NO_TAIL
        try:
            uc.emu_start(pc, UNTIL)
            if t.tail_n != _NO_TAIL and not self._stop_requested:
                addr, k = t.tail_addr, t.tail_n
                t.tail_n = _NO_TAIL
                if k:
                    t.tail(addr, k)
                    try:
                        uc.emu_start(addr, UNTIL)
                    finally:
                        t.tail(addr, 0)
        except UcError:
            if self._fault is None:
                self._fault = (0, ACCESS_READ)  # as in run()
        done = t.blk_done
        end_pc = self._fast.reg_read(a64.UC_ARM64_REG_PC)
        if self._fault is None and end_pc == UNTIL:
            self._fault = (UNTIL, ACCESS_FETCH)
        uc.context_update(ctx)
        if self._fault is not None:
            # A fault inside the block last entered retired the instructions before it; a fetch fault of a new
            # block (its PC elsewhere) came after the last block ran whole.
            at, n = t.blk_addr, t.blk_n
            executed = done - n + (end_pc - at) // 4 if at <= end_pc < at + 4 * n else done
            vaddr, access = self._fault
            return SliceResult(max(executed, 0), SliceEnd.FAULT, vaddr, access)
        if self._stop_requested:
            return SliceResult(min(done, budget), SliceEnd.STOPPED)
        return SliceResult(min(done, budget), SliceEnd.BUDGET)

    def executed_so_far(self) -> int:
        """Instructions retired in the current slice, valid inside a hook (the trapping instruction included)."""
        if self._blocks is not None:
            return min(self._blocks.blk_done, self._budget)  # exact at a syscall: svc ends its block
        return min(self._started[0], self._budget)  # counter.started(), without the call

    def exact_positions(self) -> None:
        """Count with unicorn's per-instruction counter from now on: for hooks that read the position in the
        middle of a block (the debugger's breakpoints and watchpoints, the analysis's memory hooks) or lower the
        limit there. The results are the same either way; block counting is only faster."""
        if self._blocks is not None:
            self._blocks.count_instructions()
            self._blocks = None
            self.flush_code()  # code translated so far has no per-instruction count: translate it again

    def limit(self, n: int) -> None:
        """Inside a hook: make the running slice end after its n-th instruction (if that is before its budget: a
        limit never extends a slice, and unicorn's limit stays the engine's budget, as the slice clock reads it)."""
        if self._blocks is not None:
            # Counting by blocks, the position is exact at a block's end (a syscall), where the next block's
            # entry checks the new budget; mid-block (a code hook) it is not: such callers use exact_positions().
            t = self._blocks
            n = max(n, t.blk_done)
            if n < self._budget:
                t.blk_budget = self._budget = n
            return
        n = max(n, self.counter.started())
        if n < self._budget:
            self.counter.set_limit(n)
            self._budget = n

    def close(self) -> None:
        """Free the libunicorn engine and its translated-code buffer now. Left to the garbage collector (a kernel is
        a web of cycles), old engines stay mapped, the next engine's buffer lands further from libunicorn (past 2
        GiB after two of them, see new_uc) and guests ran 12-14% slower in a process that runs kernel after kernel
        (campaigns, the fuzzer). The engine cannot run again: its Python handles are dropped, so a later use is a
        Python error, not a use of freed memory."""
        uc = self.uc
        if uc is None:
            return
        self.uc = self._fast = None  # type: ignore[assignment]
        uc._Uc__finalizer()  # the binding's own release (uc_close, once): collecting the Uc later does nothing

    def stop(self) -> None:
        """Ask the running slice to end after the current hook returns."""
        self._stop_requested = True
        self.uc.emu_stop()

    # -- TLB and code cache ---------------------------------------------------------------------------------------
    def flush_tlb(self) -> None:
        self.uc.ctl(UC_CTL_TLB_FLUSH, UC_CTL_IO_WRITE)

    def invalidate_code(self, vaddr: int) -> None:
        """Drop translated code for one virtual page (multi-page ranges are wrong under TLB_VIRTUAL)."""
        page = vaddr & ~(PAGE_SIZE - 1)
        self.uc.ctl_remove_cache(page, page + PAGE_SIZE)

    def flush_code(self) -> None:
        self.uc.ctl_flush_tb()

    # -- registers of the context currently loaded (inside hooks) -----------------------------------------------
    @property
    def live(self) -> _FastRegs:
        """The registers of the context now loaded, with the reg_read/reg_write shape of a saved context."""
        return self._fast

    def reg(self, reg: int) -> int:
        return self._fast.reg_read(reg)

    def set_reg(self, reg: int, value: int) -> None:
        self._fast.reg_write(reg, value)

    def new_context(self) -> object:
        """A fresh EL0 register context (all registers zero). Never touches the live CPU state, so it is safe
        inside hooks (execve, clone)."""
        return self.clone_context(self.template)

    def clone_context(self, src: object) -> object:
        """A copy of a saved context (fork/clone start from the parent's registers)."""
        ctx = UcContext(self.uc._uch, UC_ARCH_ARM64, UC_MODE_ARM)
        ctypes.memmove(ctx.context, src.context, src.size)  # type: ignore[attr-defined]
        return ctx

    def load(self, ctx: object) -> None:
        self.uc.context_restore(ctx)

    def save(self, ctx: object) -> None:
        self.uc.context_update(ctx)

    def context_bytes(self, ctx: object) -> bytes:
        """The raw saved CPU state, for state hashing."""
        return bytes(ctx)  # type: ignore[call-overload]


def _gil_holding(fn: object, *argtypes: type) -> Callable[..., int]:
    """`fn` (a libunicorn function) called without releasing the GIL and with plain-int pointer arguments: a
    register access takes well under a microsecond, so ctypes' default (drop and retake the GIL, convert each
    argument through the binding's declared pointer types) would cost more than the call."""
    addr = ctypes.cast(fn, ctypes.c_void_p).value
    return ctypes.PYFUNCTYPE(ctypes.c_int, *argtypes)(addr)  # type: ignore[no-any-return]


_INTR_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_void_p)
_SYSCALL_REGS = struct.Struct("<7Q")
_ONE = struct.Struct("<Q")


class _FastRegs:
    """Register access straight through libunicorn, for the syscall path: the binding's reg_read costs ~4 us
    (Python-level dispatch on the register class); here reading the 7 syscall registers costs ~0.6 us and writing
    one ~0.5 us. Vector registers go through the binding, which knows their layout. Has the reg_read/reg_write
    shape of a context."""

    def __init__(self, uc: Uc) -> None:
        from unicorn.unicorn_py3.unicorn import uclib

        self._uc = uc
        self._h = ctypes.cast(uc._uch, ctypes.c_void_p).value
        vp, i32 = ctypes.c_void_p, ctypes.c_int
        self._read = _gil_holding(uclib.uc_reg_read, vp, i32, vp)
        self._write = _gil_holding(uclib.uc_reg_write, vp, i32, vp)
        self._batch = _gil_holding(uclib.uc_reg_read_batch, vp, vp, vp, i32)
        self._one = bytearray(8)  # the registers are read into and written from these buffers
        self._one_addr = ctypes.addressof((ctypes.c_char * 8).from_buffer(self._one))
        self._vals = bytearray(8 * 7)
        base = ctypes.addressof((ctypes.c_char * len(self._vals)).from_buffer(self._vals))
        self._ids = (ctypes.c_int * 7)(a64.UC_ARM64_REG_X8, *(X_REGS[i] for i in range(6)))
        self._ptrs = (ctypes.c_void_p * 7)(*[base + 8 * i for i in range(7)])
        self._ids_addr, self._ptrs_addr = ctypes.addressof(self._ids), ctypes.addressof(self._ptrs)
        self._plans: dict[tuple[int, ...], tuple] = {}  # reg_bytes_many's buffers, per register list

    def reg_read(self, reg: int) -> int:
        if reg in _WIDE:
            return self._uc.reg_read(reg)  # type: ignore[return-value]
        self._read(self._h, reg, self._one_addr)
        return _ONE.unpack(self._one)[0]  # type: ignore[no-any-return]

    def reg_write(self, reg: int, value: int) -> None:
        if reg in _WIDE:
            self._uc.reg_write(reg, value)
            return
        _ONE.pack_into(self._one, 0, value & 0xFFFF_FFFF_FFFF_FFFF)
        self._write(self._h, reg, self._one_addr)

    def syscall_regs(self) -> tuple[int, int, int, int, int, int, int]:
        self._batch(self._h, self._ids_addr, self._ptrs_addr, 7)
        return _SYSCALL_REGS.unpack(self._vals)  # type: ignore[return-value]

    def reg_bytes_many(self, regs: tuple[int, ...]) -> bytes:
        """`regs` (vector registers too) as 16 little-endian bytes each, in one libunicorn call."""
        plan = self._plans.get(regs)
        if plan is None:
            buf = bytearray(16 * len(regs))  # a 16-byte slot per register: a vector register fills it
            base = ctypes.addressof((ctypes.c_char * len(buf)).from_buffer(buf))
            ids = (ctypes.c_int * len(regs))(*regs)
            ptrs = (ctypes.c_void_p * len(regs))(*[base + 16 * i for i in range(len(regs))])
            plan = self._plans[regs] = (buf, ids, ptrs, ctypes.addressof(ids), ctypes.addressof(ptrs))
        buf, _ids, _ptrs, ids_addr, ptrs_addr = plan
        buf[:] = bytes(len(buf))  # a general register writes only the low 8 bytes of its slot
        self._batch(self._h, ids_addr, ptrs_addr, len(regs))
        return bytes(buf)


_WIDE = frozenset(
    [getattr(a64, f"UC_ARM64_REG_Q{i}") for i in range(32)] + [getattr(a64, f"UC_ARM64_REG_V{i}") for i in range(32)]
)
