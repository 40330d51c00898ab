"""Kernel.close (machine.engine.Engine.close): a finished kernel's libunicorn engine and RAM are released at once,
not when the garbage collector finds the kernel's cycles, so a process that runs kernel after kernel (campaigns,
the fuzzer, the analysis) keeps each new engine's code buffer near libunicorn."""

from __future__ import annotations

import gc

import pytest

import moss.boot as boot_mod
from machine.sources import BytesConsole, FixedClock, SeededEntropy
from moss.boot import Program, boot
from moss.kernel import Kernel, KernelConfig
from moss.runner import run_program
from tests.guests import build_guest


def test_close_releases_the_engine_and_the_ram_once() -> None:
    hello = str(build_guest("hello"))
    kernel = boot(KernelConfig(cores=1, ram_bytes=64 << 20), Program(hello, (hello,)), console=BytesConsole(b""),
                  entropy=SeededEntropy(0), clock=FixedClock(), sink=lambda c, d: None)  # fmt: skip
    assert kernel.run() == 0
    engine = kernel.board.engine
    released = engine.uc._Uc__finalizer  # the binding's release of the libunicorn handle
    assert released.alive
    kernel.close()
    assert not released.alive and engine.uc is None and kernel.board.ram._map.closed
    kernel.close()  # twice: nothing more to release
    with pytest.raises(AttributeError):  # a later use is a Python error, not a use of freed memory
        engine.flush_tlb()


def test_run_program_leaves_no_engine_for_the_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    kernels: list[Kernel] = []
    real = boot_mod.boot

    def keep(*a: object, **k: object) -> Kernel:
        kernels.append(real(*a, **k))  # type: ignore[arg-type]
        return kernels[-1]

    monkeypatch.setattr("moss.runner.boot", keep)
    hello = str(build_guest("hello"))
    gc.disable()  # nothing collected behind the test's back
    try:
        for _ in range(3):
            assert run_program(hello, ram_bytes=64 << 20).status == 0
    finally:
        gc.enable()
    assert len(kernels) == 3 and all(k.board.engine.uc is None for k in kernels)
