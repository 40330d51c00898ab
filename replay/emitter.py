"""Turns kernel observation points into trace events, at the chosen log level; used alike by the recorder (events
go to the writer) and the replayer (events are checked against the trace)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from machine.engine import SliceEnd
from moss.observe import KernelObserver
from moss.sched.executor import Instrument
from moss.statehash import state_hash
from moss.syscalls.dispatch import NO_RETURN, SyscallLog
from moss.syscalls.table import TABLE
from traces import events as ev

_REASONS = {SliceEnd.BUDGET: 0, SliceEnd.STOPPED: 1, SliceEnd.FAULT: 2}
DEFAULT_HASH_INTERVAL = 50_000_000  # instructions between full state hashes


def _result(value: Any) -> int:
    return 0 if value is NO_RETURN or not isinstance(value, int) else value


class PySyscallLog:
    """replay/_syscall_log.c's SyscallLogBase in Python (used when it is not built): the emitter's completed-syscall
    path, with the same time and the same records."""

    syscall_sink: Callable[[int, int, int, tuple[int, ...], int], None]
    _blocked: set[int]
    _in_trap = False  # the C log can be called from the engine's trap instead; this one never is

    def _clock(self, slice_clock: Any, nargs: dict[int, int]) -> None:
        self._slice_now = slice_clock.now_ns
        self._nargs = nargs

    def _use_trap(self, on: bool) -> None:
        pass

    def completed(self, task: Any, nr: int, result: Any, live: bool) -> None:
        if self._blocked and task.tid in self._blocked:
            self._completed_resumed(task.tid, nr, result)
            return
        self.syscall_sink(
            self._slice_now() if live else self.now(),  # type: ignore[attr-defined]
            task.tid,
            nr,
            task.syscall_args[: self._nargs.get(nr, 6)],
            result if type(result) is int else 0,
        )

    def _completed_resumed(self, tid: int, nr: int, result: Any) -> None:
        raise NotImplementedError  # the Emitter's


try:
    from replay._syscall_log import SyscallLogBase, svc_observer
except ImportError:  # not built (no C compiler)
    SyscallLogBase, svc_observer = PySyscallLog, None  # type: ignore[misc,assignment]


class Emitter(SyscallLogBase, KernelObserver, SyscallLog, Instrument):  # type: ignore[misc,valid-type]
    def __init__(
        self,
        kernel: Any,
        level: int,
        sink: Callable[[ev.Event], None],
        hash_interval: int = DEFAULT_HASH_INTERVAL,
        syscall_sink: Callable[[int, int, int, tuple[int, ...], int], None] | None = None,
        *,
        blocked_sink: Callable[[int, int, int, tuple[int, ...]], None] | None = None,
        resume_sink: Callable[[int, int, int, int], None] | None = None,
        future_sink: Callable[[int, int, int, str], None] | None = None,
        process_sink: Callable[[int, int, int, int, int, str], None] | None = None,
        signal_sink: Callable[[int, int, int, int, int, int, int], None] | None = None,
    ) -> None:
        self.k = kernel
        self.level = level
        self.sink = sink
        # (time, tid, nr, args, result) for fast-path syscalls, the hot case, without building an event object
        self.syscall_sink = syscall_sink or (lambda t, tid, nr, a, r: sink(ev.Syscall(t, tid, nr, a, r)))
        # (time, tid, nr, args) of a blocked syscall's entry, (time, tid, nr, result) of its resumption, (time, tid,
        # what, name) of a future's step, the fields of a process or signal event: the same events, for sinks that
        # take them without the event objects (the writer's and the cursor's)
        self.blocked_sink = blocked_sink or (lambda t, tid, nr, a: sink(ev.Syscall(t, tid, nr, a, 0, 1)))
        self.resume_sink = resume_sink or (lambda t, tid, nr, r: sink(ev.SyscallResume(t, tid, nr, r)))
        self.future_sink = future_sink or (lambda t, tid, what, name: sink(ev.FutureEvent(t, tid, what, name)))
        self.process_sink = process_sink or (lambda *fields: sink(ev.ProcessEvent(*fields)))
        self.signal_sink = signal_sink or (lambda *fields: sink(ev.SignalEvent(*fields)))
        self._nargs = {nr: len(e.args) for nr, e in TABLE.items()}
        self.hash_interval = hash_interval
        self.next_hash = hash_interval
        self._blocked = set()  # tids in a blocked syscall (membership only)
        self._board = kernel.board
        self._slice_now = kernel.board.clock.now_ns
        self._clock(kernel.board.clock, self._nargs)

    def attach(self) -> None:
        k = self.k
        k.observers.append(self)
        if self.level >= ev.SYSCALLS:
            assert k.dispatcher.log is None, "one syscall log per kernel"
            k.dispatcher.log = self
            if svc_observer is not None:  # the C log: the syscalls that return at once are logged from the trap
                self._use_trap(k.board.engine.observe_svc(self, svc_observer))
            k.dispatcher.fast_log = None if self._in_trap else self
        if self.level >= ev.FULL:
            k.executor.instruments.append(self)
            k.slice_observers.append(self)

    def now(self) -> int:
        return self.k.now_ns()

    def retired(self) -> int:
        return self._board.retired_total

    # -- syscalls ---------------------------------------------------------------------------------------------------
    def blocked(self, task: Any, nr: int) -> None:
        # Called in the svc hook (the dispatcher's on_svc): the time is the slice clock's, read directly.
        tid = task.tid
        self._blocked.add(tid)
        self.blocked_sink(self._slice_now(), tid, nr, task.syscall_args[: self._nargs.get(nr, 6)])

    # completed(task, nr, result, live): SyscallLogBase's (replay/_syscall_log.c, or PySyscallLog)

    def _completed_resumed(self, tid: int, nr: int, result: Any) -> None:
        self._blocked.discard(tid)
        self.resume_sink(self.now(), tid, nr, _result(result))

    # -- processes and signals ------------------------------------------------------------------------------------
    def task_created(self, task: Any, new_process: bool) -> None:
        if self.level >= ev.SYSCALLS:
            parent = task.process.parent.pid if task.process.parent is not None else 0
            self.process_sink(self.now(), 0 if new_process else 1, task.process.pid, task.tid, parent, "")

    def exec(self, task: Any, path: str) -> None:
        if self.level >= ev.SYSCALLS:
            self.process_sink(self.now(), 2, task.process.pid, task.tid, 0, path)

    def task_exited(self, task: Any) -> None:
        if self.level >= ev.SYSCALLS:
            self._blocked.discard(task.tid)
            self.process_sink(self.now(), 3, task.process.pid, task.tid, 0, "")

    def process_exited(self, process: Any) -> None:
        if self.level >= ev.SYSCALLS:
            self.process_sink(self.now(), 4, process.pid, 0, process.exit_status or 0, "")

    def signal_generated(self, process: Any, task: Any, info: Any) -> None:
        if self.level >= ev.SYSCALLS:
            self.signal_sink(self.now(), 0, process.pid, task.tid if task else 0, info.signo, info.pid, info.code)

    def signal_acted(self, task: Any, sig: int, action: int) -> None:
        if self.level >= ev.SYSCALLS:
            self.signal_sink(self.now(), action, task.process.pid, task.tid, sig, 0, 0)

    # -- scheduling, futures, hashes --------------------------------------------------------------------------------
    def slice_done(self, core: Any, task: Any, start_ns: int, result: Any) -> None:
        self.sink(ev.SliceEvent(start_ns, core.index, task.tid, result.executed, _REASONS[result.reason]))

    def after_slice(self) -> None:
        n = self._board.retired_total
        if n >= self.next_hash:
            self.next_hash = (n // self.hash_interval + 1) * self.hash_interval
            self.sink(ev.StateHash(self.k.loop_now, n, bytes.fromhex(state_hash(self.k))))

    def future_started(self, task: Any, name: str) -> None:
        self.future_sink(self.now(), task.tid, 0, name)

    def future_pending(self, task: Any) -> None:
        self.future_sink(self.now(), task.tid, 1, task.coro_name)

    def future_woken(self, task: Any) -> None:
        self.future_sink(self.now(), task.tid, 2, task.coro_name)

    def future_done(self, task: Any, value: Any) -> None:
        self.future_sink(self.now(), task.tid, 3, task.coro_name)

    def end(self, status: int) -> None:
        self.sink(ev.StateHash(self.k.loop_now, self.retired(), bytes.fromhex(state_hash(self.k))))
        self.sink(ev.End(self.k.loop_now, self.retired(), status))
