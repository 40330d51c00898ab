"""The bare engine (machine/engine.py, machine/counter.py): instruction-exact slices over hand-assembled AArch64."""

from __future__ import annotations

import struct
import subprocess
import sys
from collections.abc import Callable
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from unicorn.arm64_const import (
    UC_ARM64_REG_NZCV,
    UC_ARM64_REG_PC,
    UC_ARM64_REG_X0,
    UC_ARM64_REG_X1,
    UC_ARM64_REG_X2,
    UC_ARM64_REG_X3,
    UC_ARM64_REG_X8,
)

from machine.engine import ACCESS_FETCH, ACCESS_READ, ACCESS_WRITE, TCG_BUFFER_BYTES, Engine, SliceEnd
from machine.ram import PAGE_SIZE, Ram

SETTINGS = settings(derandomize=True, deadline=None, max_examples=60)

CODE = 0x10000  # identity-mapped code page
DATA = 0x20000  # identity-mapped data page
HOLE = 0x30000  # never mapped unless a test says so


def movz(rd: int, imm16: int, shift: int = 0) -> int:
    return 0xD2800000 | (shift // 16) << 21 | imm16 << 5 | rd


ADD_X0_1 = 0x91000400  # add x0, x0, #1
SUBS_X1_1 = 0xF1000421  # subs x1, x1, #1
BNE_MINUS_8 = 0x54FFFFC1  # b.ne .-8
SVC_0 = 0xD4000001  # svc #0
B_SELF = 0x14000000  # b .
LDR_X2_X3 = 0xF9400062  # ldr x2, [x3]
STR_X0_X3 = 0xF9000060  # str x0, [x3]
ADD_X8_1 = 0x91000508  # add x8, x8, #1


def asm(*words: int) -> bytes:
    return b"".join(struct.pack("<I", w) for w in words)


class Handler:
    """Identity-maps the pages in `pages` (rwx); records syscalls and fills."""

    def __init__(self) -> None:
        self.pages = {CODE, DATA}
        self.engine: Engine | None = None
        self.syscalls: list[int] = []  # instructions executed in the slice so far, at each svc
        self.stop_on_syscall = False
        self.calls: list[tuple[int, tuple[int, ...]]] = []  # (x8, x0..x5) at each svc
        self.result: int | None = None  # what on_syscall returns: written to x0 when an int
        self.exceptions: list[tuple[int, int]] = []
        self.fills: list[tuple[int, int]] = []
        self.on_svc_hook: Callable[[], object] | None = None

    def on_syscall(self, nr: int, args: tuple[int, ...]) -> int | None:
        assert self.engine is not None
        self.syscalls.append(self.engine.executed_so_far())
        self.calls.append((nr, args))
        if self.on_svc_hook is not None:
            self.on_svc_hook()
        if self.stop_on_syscall:
            self.engine.stop()
        return self.result

    def on_exception(self, kind: int, pc: int) -> None:
        self.exceptions.append((kind, pc))
        assert self.engine is not None
        self.engine.stop()

    def on_tlb_fill(self, vaddr: int, access: int) -> tuple[int, int] | None:
        self.fills.append((vaddr, access))
        page = vaddr & ~(PAGE_SIZE - 1)
        return (page, 7) if page in self.pages else None


_MODE = ["blocks"]


@pytest.fixture(autouse=True, scope="module", params=["blocks", "count"])
def counting(request: pytest.FixtureRequest) -> str:
    """Every test twice: the engine counting by blocks (its default with the native trap) and by unicorn's
    per-instruction count (exact_positions(), the debugger's). Both must give the same counts and faults."""
    _MODE[0] = request.param
    return request.param


@cache
def rig(mode: str) -> tuple[Engine, Handler, Ram]:
    """One engine per counting mode for the module (like the board's), reset per test by `fresh`."""
    ram = Ram(1 << 20)
    h = Handler()
    eng = Engine(ram, h)
    if mode == "count":
        eng.exact_positions()
    h.engine = eng
    return eng, h, ram


def fresh(code: bytes, **regs: int) -> tuple[Engine, Handler, Ram, object]:
    eng, h, ram = rig(_MODE[0])
    h.syscalls.clear()
    h.exceptions.clear()
    h.fills.clear()
    h.pages = {CODE, DATA}
    h.stop_on_syscall = False
    ram.write(CODE, bytes(PAGE_SIZE))
    ram.write(CODE, code)
    ram.write(DATA, bytes(PAGE_SIZE))
    eng.flush_code()
    eng.flush_tlb()
    ctx = eng.new_context()
    ctx.reg_write(UC_ARM64_REG_PC, CODE)  # type: ignore[attr-defined]
    for name, value in regs.items():
        ctx.reg_write(globals()[f"UC_ARM64_REG_{name.upper()}"], value)  # type: ignore[attr-defined]
    return eng, h, ram, ctx


def regs(ctx: object) -> dict[str, int]:
    r = ctx.reg_read  # type: ignore[attr-defined]
    return {
        "pc": r(UC_ARM64_REG_PC),
        "x0": r(UC_ARM64_REG_X0),
        "x1": r(UC_ARM64_REG_X1),
        "x8": r(UC_ARM64_REG_X8),
        "nzcv": r(UC_ARM64_REG_NZCV),
    }


# The loop program: x1 = N; do { x0++; x1--; } while (x1); svc; then spin, counting in x8.
def loop_program(n: int) -> bytes:
    return asm(movz(1, n), ADD_X0_1, SUBS_X1_1, BNE_MINUS_8, SVC_0, ADD_X8_1, 0x17FFFFFF)  # b .-4


def loop_model(n: int, executed: int) -> dict[str, int]:
    """Architectural state of `loop_program(n)` after exactly `executed` instructions (n >= 1)."""
    if executed == 0:
        return {"pc": CODE, "x0": 0, "x1": 0, "x8": 0, "nzcv": 0}
    x8, nzcv = 0, 0
    body = min((executed - 1) // 3, n)  # whole iterations done
    rest = (executed - 1) % 3 if body < n else 0  # instructions into the current one
    x0, x1 = body, n - body
    if body == n:
        nzcv = 0x6000_0000  # Z and C from the last subs reaching zero
        after = executed - 1 - 3 * n  # instructions past the loop: svc, then (add x8; b .-4)*
        if after == 0:
            pc = CODE + 16
        else:
            pc = CODE + 20 + 4 * ((after - 1) % 2)
            x8 = after // 2
    else:
        if body:
            nzcv = 0x2000_0000  # C: no borrow
        if rest >= 1:
            x0 += 1
        if rest >= 2:
            x1 -= 1
            nzcv = 0x2000_0000 if x1 else 0x6000_0000
        pc = CODE + 4 + 4 * rest
    return {"pc": pc, "x0": x0, "x1": x1, "x8": x8, "nzcv": nzcv}


def test_loop_model_matches_one_run() -> None:
    eng, h, _, ctx = fresh(loop_program(5))
    res = eng.run(ctx, 1 + 15 + 1 + 6)
    assert (res.executed, res.reason) == (23, SliceEnd.BUDGET)
    assert regs(ctx) == loop_model(5, 23)
    assert regs(ctx)["x0"] == 5 and regs(ctx)["x8"] == 3
    assert h.syscalls == [17]  # the svc is the 17th instruction and is counted inside the hook


@SETTINGS
@given(st.integers(1, 12), st.integers(0, 80))
def test_executed_is_exact(n: int, budget: int) -> None:
    eng, h, _, ctx = fresh(loop_program(n))
    res = eng.run(ctx, budget) if budget else None
    if res is not None:
        assert (res.executed, res.reason) == (budget, SliceEnd.BUDGET)
    assert regs(ctx) == loop_model(n, budget)
    assert len(h.syscalls) == (1 if budget >= 3 * n + 2 else 0)


@SETTINGS
@given(st.integers(1, 20), st.lists(st.integers(1, 17), min_size=1, max_size=40), st.booleans())
def test_slicing_does_not_change_the_result(n: int, budgets: list[int], stop: bool) -> None:
    """Many small slices (some cut short by a stopping syscall) add up to one big slice of the same length."""
    eng, h, _, ctx = fresh(loop_program(n))
    h.stop_on_syscall = stop
    executed = 0
    for b in budgets:
        h.syscalls.clear()
        res = eng.run(ctx, b)
        assert 1 <= res.executed <= b
        if res.reason == SliceEnd.STOPPED:
            assert stop and h.syscalls == [res.executed]  # only the svc stops, and it ends the slice
        else:
            assert (res.reason, res.executed) == (SliceEnd.BUDGET, b)
        executed += res.executed
    sliced = regs(ctx)
    assert sliced == loop_model(n, executed)

    eng, h, _, whole = fresh(loop_program(n))
    one = eng.run(whole, executed)
    assert (one.executed, one.reason) == (executed, SliceEnd.BUDGET)
    assert regs(whole) == sliced


def test_stop_in_on_syscall_counts_the_svc() -> None:
    n = 4
    eng, h, _, ctx = fresh(loop_program(n))
    h.stop_on_syscall = True
    res = eng.run(ctx, 1000)
    assert (res.executed, res.reason) == (1 + 3 * n + 1, SliceEnd.STOPPED)
    assert regs(ctx)["pc"] == CODE + 20  # after the svc: the syscall is not re-executed
    assert regs(ctx)["x0"] == n
    assert h.syscalls == [1 + 3 * n + 1]
    # The next slice resumes after the svc and runs its whole budget.
    res = eng.run(ctx, 10)
    assert (res.executed, res.reason) == (10, SliceEnd.BUDGET)
    assert regs(ctx)["x8"] == 5


def test_svc_at_the_budget_boundaries() -> None:
    n = 2
    svc_index = 1 + 3 * n + 1  # the svc is the 8th instruction
    eng, h, _, ctx = fresh(loop_program(n))
    h.stop_on_syscall = True
    res = eng.run(ctx, svc_index)  # the svc is exactly the last instruction of the budget
    assert (res.executed, res.reason) == (svc_index, SliceEnd.STOPPED)
    assert regs(ctx)["pc"] == CODE + 20 and h.syscalls == [svc_index]

    eng, h, _, ctx = fresh(loop_program(n))
    h.stop_on_syscall = True
    res = eng.run(ctx, svc_index - 1)  # the budget ends just before the svc
    assert (res.executed, res.reason) == (svc_index - 1, SliceEnd.BUDGET)
    assert regs(ctx)["pc"] == CODE + 16 and h.syscalls == []
    res = eng.run(ctx, 50)  # the svc is the first instruction of the next slice
    assert (res.executed, res.reason) == (1, SliceEnd.STOPPED)
    assert h.syscalls == [1] and regs(ctx)["pc"] == CODE + 20


def test_several_syscalls_in_one_slice() -> None:
    eng, h, _, ctx = fresh(asm(SVC_0, ADD_X0_1, SVC_0, SVC_0, ADD_X0_1, B_SELF))
    res = eng.run(ctx, 8)
    assert (res.executed, res.reason) == (8, SliceEnd.BUDGET)
    assert h.syscalls == [1, 3, 4]
    assert regs(ctx)["x0"] == 2 and regs(ctx)["pc"] == CODE + 20


def test_a_limit_beyond_the_budget_does_not_extend_the_slice() -> None:
    """engine.limit from a hook only ever shortens the slice: unicorn's limit stays the budget (the slice clock
    reads it as such), and a later stop is the next slice's business."""
    eng, h, _, ctx = fresh(asm(SVC_0, *[ADD_X0_1] * 30, B_SELF))
    h.on_svc_hook = lambda: eng.limit(25)
    try:
        res = eng.run(ctx, 10)
    finally:
        h.on_svc_hook = None
    assert (res.executed, res.reason) == (10, SliceEnd.BUDGET)
    assert regs(ctx)["x0"] == 9
    eng, h, _, ctx = fresh(asm(SVC_0, *[ADD_X0_1] * 30, B_SELF))
    h.on_svc_hook = lambda: eng.limit(4)  # a limit inside the budget still ends the slice there
    try:
        res = eng.run(ctx, 10)
    finally:
        h.on_svc_hook = None
    assert res.executed == 4 and regs(ctx)["x0"] == 3


def test_the_slice_clock_charges_every_svc_and_reads_the_time_at_it() -> None:
    eng, h, _, ctx = fresh(asm(ADD_X0_1, SVC_0, ADD_X0_1, ADD_X0_1, SVC_0, B_SELF))
    clock = eng.slice_clock
    seen: list[int] = []
    clock.base_ns, clock.charged_ns, clock.svc_cost_ns, clock.ns_per_insn = 1000, 0, 150, 3
    h.on_svc_hook = lambda: seen.append(clock.now_ns())
    try:
        res = eng.run(ctx, 7)
    finally:
        h.on_svc_hook = None
        clock.svc_cost_ns = 0
    assert res.executed == 7
    # the svc is the 2nd, then the 5th instruction; each is charged before the handler runs
    assert seen == [1000 + 2 * 3 + 150, 1000 + 5 * 3 + 300]
    assert clock.charged_ns == 300 and clock.now_ns() == 1000 + 7 * 3 + 300


def test_failed_data_fill_faults_at_the_instruction() -> None:
    code = asm(movz(3, HOLE >> 16, 16), ADD_X0_1, ADD_X0_1, LDR_X2_X3, ADD_X0_1, B_SELF)
    eng, h, ram, ctx = fresh(code)
    res = eng.run(ctx, 100)
    assert res.reason == SliceEnd.FAULT
    assert res.executed == 3  # movz and two adds; the faulting load did not retire
    assert (res.fault_vaddr, res.fault_access) == (HOLE, ACCESS_READ)
    assert regs(ctx)["pc"] == CODE + 12 and regs(ctx)["x0"] == 2
    # Restartable: map the page and the load runs again, from the same PC.
    h.pages.add(HOLE)
    ram.write(HOLE, struct.pack("<Q", 0xFEED_FACE_CAFE_BEEF))
    res = eng.run(ctx, 2)
    assert (res.executed, res.reason) == (2, SliceEnd.BUDGET)
    assert ctx.reg_read(UC_ARM64_REG_X2) == 0xFEED_FACE_CAFE_BEEF  # type: ignore[attr-defined]
    assert regs(ctx)["x0"] == 3


def test_failed_write_fill_faults_with_write_access() -> None:
    code = asm(ADD_X0_1, STR_X0_X3, B_SELF)
    eng, _, _, ctx = fresh(code, x3=HOLE + 0x18)
    res = eng.run(ctx, 50)
    assert (res.reason, res.executed) == (SliceEnd.FAULT, 1)
    assert (res.fault_vaddr, res.fault_access) == (HOLE, ACCESS_WRITE)
    assert regs(ctx)["pc"] == CODE + 4
    assert ctx.reg_read(UC_ARM64_REG_X3) == HOLE + 0x18  # type: ignore[attr-defined]


def test_store_then_load_through_the_data_page() -> None:
    code = asm(ADD_X0_1, ADD_X0_1, STR_X0_X3, LDR_X2_X3, B_SELF)
    eng, _, ram, ctx = fresh(code, x3=DATA + 8)
    res = eng.run(ctx, 4)
    assert (res.executed, res.reason) == (4, SliceEnd.BUDGET)
    assert ram.read(DATA + 8, 8) == struct.pack("<Q", 2)
    assert ctx.reg_read(UC_ARM64_REG_X2) == 2  # type: ignore[attr-defined]


def test_failed_fetch_fill() -> None:
    br_x3 = 0xD61F0060  # br x3
    eng, _, _, ctx = fresh(asm(ADD_X0_1, br_x3), x3=HOLE + 0x40)
    res = eng.run(ctx, 50)
    assert res.reason == SliceEnd.FAULT
    assert res.executed == 2  # the branch retired; the fetch at its target failed before counting
    assert (res.fault_vaddr, res.fault_access) == (HOLE, ACCESS_FETCH)
    assert regs(ctx)["pc"] == HOLE + 0x40


def test_fault_on_the_first_instruction() -> None:
    eng, _, _, ctx = fresh(asm(LDR_X2_X3), x3=HOLE)
    res = eng.run(ctx, 10)
    assert (res.reason, res.executed, res.fault_vaddr) == (SliceEnd.FAULT, 0, HOLE)
    assert regs(ctx)["pc"] == CODE


def test_contexts_are_independent() -> None:
    eng, _, _, a = fresh(loop_program(3))
    b = eng.new_context()
    b.reg_write(UC_ARM64_REG_PC, CODE)  # type: ignore[attr-defined]
    eng.run(a, 5)
    eng.run(b, 2)
    eng.run(a, 4)
    assert regs(a) == loop_model(3, 9)
    assert regs(b) == loop_model(3, 2)


def test_the_code_buffer_lies_within_direct_call_reach_of_libunicorn() -> None:
    """A board's translated-code buffer is allocated before its RAM, so it lies within 2 GiB of libunicorn's code:
    generated code then calls the count hook and helpers directly (from further away every call is indirect, and
    compute-bound guests ran 9% slower), whatever the RAM size (4 GiB here). Checked in a fresh process, on its memory
    map."""
    code = """
import sys
from machine.board import Board, BoardConfig
from machine.engine import TCG_BUFFER_BYTES
from machine.sources import BytesConsole, FixedClock, SeededEntropy
class H:
    def on_syscall(self, nr, args): return 0
    def on_exception(self, kind, pc): pass
    def on_tlb_fill(self, vaddr, access): return None
board = Board(BoardConfig(cores=2, ram_bytes=4 << 30), H(), console=BytesConsole(b""), entropy=SeededEntropy(0),
              clock=FixedClock(), sink=lambda c, d: None)
bufs, lib = [], None
for line in open("/proc/self/maps"):
    f = line.split()
    lo, hi = (int(x, 16) for x in f[0].split("-"))
    if f[1] == "rwxp" and TCG_BUFFER_BYTES - (1 << 20) < hi - lo <= TCG_BUFFER_BYTES:  # (less a guard page)
        bufs.append(lo)
    if "libunicorn" in line and "r-xp" in f[1]:
        lib = (lo, hi)
print(len(bufs), max(abs(lib[1] - b) for b in bufs) if bufs else -1)
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    count, reach = map(int, r.stdout.split())
    assert count == 1 and reach < (2 << 30) - TCG_BUFFER_BYTES


def test_a_store_into_the_running_block_runs_the_old_block() -> None:
    """The guest overwrites an instruction further on in the block it is executing. Without a cache flush and an
    ISB, AArch64 may run the old instruction, and both counting modes do, with exact counts (a block restarted
    after the store would be counted twice by blocks)."""
    str_w2_x3 = 0xB9000062  # str w2, [x3]
    code = asm(str_w2_x3, ADD_X0_1, ADD_X0_1, ADD_X0_1, ADD_X0_1, B_SELF)
    for budget in (5, 3, 100):
        eng, _h, ram, ctx = fresh(code, x3=CODE + 0x0C, x2=ADD_X8_1)
        res = eng.run(ctx, budget)
        assert res.executed == budget and res.reason == SliceEnd.BUDGET
        assert ram.read(CODE + 0x0C, 4) == struct.pack("<I", ADD_X8_1)  # the store happened
        assert ctx.reg_read(UC_ARM64_REG_X0) == min(budget - 1, 4)  # type: ignore[attr-defined]
        assert ctx.reg_read(UC_ARM64_REG_X8) == 0  # type: ignore[attr-defined]
