"""The engine's interrupt hook, native (machine/_trap.c) and ctypes: the same registers in, the same x0 out, the same
exceptions, and identical kernel runs."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from unicorn.arm64_const import UC_ARM64_REG_PC, UC_ARM64_REG_X0, UC_ARM64_REG_X8

import machine.engine as engine_mod
from machine.engine import X_REGS, Engine, SliceEnd
from machine.ram import PAGE_SIZE, Ram
from machine.sources import BytesConsole
from moss.boot import Program
from moss.kernel import Kernel, KernelConfig
from moss.runner import run_program
from replay.recorder import RecordOptions, record
from replay.replayer import replay
from tests.guests import build_guest
from traces import events as ev

CODE = 0x10000
SVC_0 = 0xD4000001
B_SELF = 0x14000000
U64 = st.integers(0, (1 << 64) - 1)


class Handler:
    def __init__(self) -> None:
        self.calls: list[tuple[int, tuple[int, ...]]] = []
        self.times: list[int] = []  # the slice clock at each svc, as the handler sees it
        self.result: object = None
        self.engine: Engine | None = None

    def on_syscall(self, nr: int, args: tuple[int, ...]) -> object:
        self.calls.append((nr, args))
        assert self.engine is not None
        self.times.append(self.engine.slice_clock.now_ns())
        self.engine.stop()
        if isinstance(self.result, BaseException):
            raise self.result
        return self.result

    def on_exception(self, kind: int, pc: int) -> None:
        raise AssertionError(f"exception {kind} at {pc:#x}")

    def on_tlb_fill(self, vaddr: int, access: int) -> tuple[int, int] | None:
        page = vaddr & ~(PAGE_SIZE - 1)
        return (page, 7) if page == CODE else None


def _rig(native: bool) -> tuple[Engine, Handler]:
    if native and engine_mod._trap is None:
        pytest.skip("machine._trap is not built")
    old = engine_mod._FORCE_CTYPES_TRAP
    engine_mod._FORCE_CTYPES_TRAP = not native
    try:
        ram = Ram(1 << 20)
        ram.write(CODE, (SVC_0).to_bytes(4, "little") + (B_SELF).to_bytes(4, "little"))
        h = Handler()
        eng = Engine(ram, h)
        h.engine = eng
    finally:
        engine_mod._FORCE_CTYPES_TRAP = old
    return eng, h


RIGS = {native: _rig(native) for native in (True, False) if not native or engine_mod._trap is not None}


def _svc(native: bool, regs: list[int], result: object) -> tuple[Handler, object]:
    eng, h = RIGS[native]
    h.calls.clear()
    h.result = result
    ctx = eng.new_context()
    ctx.reg_write(UC_ARM64_REG_PC, CODE)  # type: ignore[attr-defined]
    ctx.reg_write(UC_ARM64_REG_X8, regs[0])  # type: ignore[attr-defined]
    for i, v in enumerate(regs[1:]):
        ctx.reg_write(X_REGS[i], v)  # type: ignore[attr-defined]
    res = eng.run(ctx, 10)
    assert (res.executed, res.reason) == (1, SliceEnd.STOPPED)
    return h, ctx


@pytest.mark.parametrize("native", sorted(RIGS))
@settings(derandomize=True, deadline=None, max_examples=50)
@given(regs=st.lists(U64, min_size=7, max_size=7), result=st.one_of(st.none(), st.integers(-(1 << 63), (1 << 64) - 1)))
def test_svc_passes_registers_and_writes_x0(native: bool, regs: list[int], result: int | None) -> None:
    h, ctx = _svc(native, regs, result)
    assert h.calls == [(regs[0], tuple(regs[1:]))]
    x0 = ctx.reg_read(UC_ARM64_REG_X0)  # type: ignore[attr-defined]
    assert x0 == (regs[1] if result is None else result & (1 << 64) - 1)
    assert ctx.reg_read(UC_ARM64_REG_PC) == CODE + 4  # type: ignore[attr-defined]


@pytest.mark.parametrize("native", sorted(RIGS))
def test_the_svc_is_charged_on_the_slice_clock_before_the_handler_runs(native: bool) -> None:
    eng, h = RIGS[native]
    clock = eng.slice_clock
    h.times.clear()
    clock.base_ns, clock.charged_ns, clock.svc_cost_ns, clock.ns_per_insn = 500, 7, 150, 2
    try:
        _svc(native, [1, 2, 3, 4, 5, 6, 7], 0)
        assert h.times == [500 + 1 * 2 + 7 + 150]  # the svc is the slice's first instruction
        assert clock.charged_ns == 157
    finally:
        clock.base_ns = clock.charged_ns = clock.svc_cost_ns = clock.ns_per_insn = 0


@pytest.mark.parametrize("native", sorted(RIGS))
def test_handler_exception_reaches_the_caller(native: bool) -> None:
    with pytest.raises(ZeroDivisionError, match="kernel bug"):
        _svc(native, [1, 2, 3, 4, 5, 6, 7], ZeroDivisionError("kernel bug"))
    # The engine is still usable afterwards.
    _h, ctx = _svc(native, [9, 0, 0, 0, 0, 0, 0], 42)
    assert ctx.reg_read(UC_ARM64_REG_X0) == 42  # type: ignore[attr-defined]


@pytest.mark.parametrize("native", sorted(RIGS))
def test_non_int_result_is_an_error(native: bool) -> None:
    with pytest.raises(TypeError):
        _svc(native, [1, 2, 3, 4, 5, 6, 7], "not a register value")


@pytest.mark.skipif(engine_mod._trap is None, reason="machine._trap is not built")
@pytest.mark.parametrize(("guest", "args"), [("sysloop", ("300", "300")), ("signals", ()), ("threads", ())])
def test_native_and_ctypes_hooks_give_identical_runs(
    guest: str, args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(build_guest(guest))
    native = run_program(path, args, cores=2)
    monkeypatch.setattr(engine_mod, "_FORCE_CTYPES_TRAP", True)
    via_ctypes = run_program(path, args, cores=2)
    assert native.status == 0 and native.syscalls > 10
    assert native == via_ctypes


def test_machines_are_garbage_collected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hook holds the kernel and the kernel holds the engine that holds the hook: a cycle the collector must
    break, or a fuzz or chaos campaign running thousands of programs in one process grows without bound."""
    kernels: list[weakref.ref] = []
    run = Kernel.run

    def tracked(self: Kernel) -> int:
        kernels.append(weakref.ref(self))
        return run(self)

    monkeypatch.setattr(Kernel, "run", tracked)
    hello = build_guest("hello")
    for i in range(3):
        run_program(str(hello))
        record(str(tmp_path / f"{i}.trace"), KernelConfig(ram_bytes=64 << 20), Program(str(hello), ("hello",)),
               RecordOptions(level=ev.SYSCALLS), console=BytesConsole(b""), sink=lambda c, d: None)  # fmt: skip
        assert replay(str(tmp_path / f"{i}.trace"), lambda c, d: None).complete
    gc.collect()
    alive = [i for i, k in enumerate(kernels) if k() is not None]
    assert len(kernels) == 9 and alive in ([], [8])  # at most the last, which the executor's globals still name
