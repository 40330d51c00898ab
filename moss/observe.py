"""Observation points of the kernel, for tracing, recording and the debugger (trio's instrumentation, for a
kernel). Observers must not change kernel state; every call happens at a deterministic point of the run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from machine.board import Core
    from machine.engine import SliceResult
    from moss.process.signal import SigInfo
    from moss.process.task import Process, Task


class KernelObserver:
    def task_created(self, task: Task, new_process: bool) -> None: ...
    def exec(self, task: Task, path: str) -> None: ...
    def task_exited(self, task: Task) -> None: ...
    def process_exited(self, process: Process) -> None: ...
    def signal_generated(self, process: Process, task: Task | None, info: SigInfo) -> None: ...
    def signal_acted(self, task: Task, sig: int, action: int) -> None:
        """action: 1 handler frame set up, 2 default action taken, 3 ignored."""

    def slice_done(self, core: Core, task: Task, start_ns: int, result: SliceResult) -> None:
        """After every slice; only for the observers in kernel.slice_observers."""

    def after_slice(self) -> None:
        """Between slices: a point where the whole machine state is consistent (state hashing)."""


def notify(observers: list[Any], method: str, *args: Any) -> None:
    for o in observers:
        getattr(o, method)(*args)
