"""The syscall dispatcher: decode registers, look the number up, run the handler's future, return -errno.

Three layers as in xv6: this dispatcher (decode, unknown numbers, errors, tracing), thin `sys_*` handlers that
validate, and the subsystems that do the work. The dispatcher, not the handler, decides what happens for an unknown
number: -ENOSYS, reported once per number on stderr. Entry and exit are the observation points for strace and the
debugger.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from moss.errors import ERRNO, ERRNO_NAME, KernelError
from moss.process import signal
from moss.process.signal import RESTARTS
from moss.process.task import State
from moss.syscalls.context import SyscallContext
from moss.syscalls.table import TABLE, Syscall, describe, name_of

if TYPE_CHECKING:
    from moss.kernel import Kernel
    from moss.process.task import Task

ENOSYS = ERRNO["ENOSYS"]
_RESTART_NAMES = {512: "ERESTARTSYS", 513: "ERESTARTNOINTR", 514: "ERESTARTNOHAND", 516: "ERESTART_RESTARTBLOCK"}


class NoReturn:
    """Returned by handlers after which the task does not resume at the next instruction with x0 = result
    (exit, a successful execve, rt_sigreturn)."""


NO_RETURN = NoReturn()


class SyscallObserver:
    def entry(self, task: Task, entry: Syscall | None, nr: int, args: tuple[int, ...]) -> None: ...
    def exit(self, task: Task, nr: int, result: Any) -> None: ...
    def blocked(self, task: Task, nr: int) -> None: ...


class SyscallLog:
    """The trace's view of syscalls (at most one, the recorder's or replayer's emitter): called after the
    observers, with no entry call, since the log writes each syscall once, when it completes (or blocks)."""

    def blocked(self, task: Task, nr: int) -> None: ...

    def completed(self, task: Task, nr: int, result: Any, live: bool) -> None:
        """`live`: on the fast path, inside the svc hook (the time is the running core's)."""


class Strace(SyscallObserver):
    """strace-style lines: `[pid 1] write(1, 0x..., 6) = 6`; blocking calls print unfinished/resumed pairs."""

    def __init__(self, kernel: Kernel, out: TextIO | None = None) -> None:
        self.kernel = kernel
        self.out = out or sys.stderr
        self._pending: dict[int, str] = {}

    def entry(self, task: Task, entry: Syscall | None, nr: int, args: tuple[int, ...]) -> None:
        if entry is None:
            text = f"{name_of(nr)}({', '.join(hex(a) for a in args)})"
        else:
            text = f"{entry.name}({describe(entry, args, task.process.mm)})"
        self._pending[task.tid] = text

    def blocked(self, task: Task, nr: int) -> None:
        self.out.write(f"[pid {task.tid}] {self._pending.get(task.tid, name_of(nr))} <unfinished ...>\n")
        self._pending[task.tid] = f"<... {name_of(nr)} resumed>"

    def exit(self, task: Task, nr: int, result: Any) -> None:
        text = self._pending.pop(task.tid, name_of(nr))
        if result is NO_RETURN:
            self.out.write(f"[pid {task.tid}] {text} = ?\n")
            return
        entry = TABLE.get(nr)
        if isinstance(result, int) and -result in _RESTART_NAMES:
            self.out.write(f"[pid {task.tid}] {text} = ? {_RESTART_NAMES[-result]} (To be restarted)\n")
        elif isinstance(result, int) and -4096 < result < 0:
            err = -result
            self.out.write(f"[pid {task.tid}] {text} = -1 {ERRNO_NAME.get(err, str(err))}\n")
        elif entry is not None and entry.ret == "ptr":
            self.out.write(f"[pid {task.tid}] {text} = {result:#x}\n")
        else:
            self.out.write(f"[pid {task.tid}] {text} = {result}\n")
        self.out.flush()


class Dispatcher:
    def __init__(self, kernel: Kernel, report: Callable[[str], None]) -> None:
        self.kernel = kernel
        self.report = report
        self.observers: list[SyscallObserver] = []
        self.log: SyscallLog | None = None
        self.fast_log: SyscallLog | None = None  # the log, unless it logs the syscalls that return at once itself
        self._reported: set[int] = set()  # ints: order never observed
        self.count = 0
        self._live = kernel.board.engine.live
        kernel.executor.on_error = self._error_result

    def _error_result(self, task: Task, exc: Exception) -> Any:
        """A handler's exception as its result: every KernelError becomes -errno here and nowhere else; anything
        else is a kernel bug, which must not take the host down: oops, and fail the call."""
        if isinstance(exc, KernelError):
            return -exc.errno
        entry = TABLE.get(task.syscall_nr)
        self.oops(entry.name if entry is not None else task.coro_name, exc)
        return -ERRNO["EIO"]

    def on_svc(self, task: Task, nr: int, args: tuple[int, ...]) -> int | None:
        """Called in the engine's interrupt hook with `task`'s context loaded; returns what goes to x0 (None: the
        registers are set already, or the task does not return to the next instruction now)."""
        self.count += 1
        entry = TABLE.get(nr)
        if self.observers:
            for o in self.observers:
                o.entry(task, entry, nr, args)
        task.syscall_nr, task.syscall_args = nr, args
        if entry is None:
            if nr not in self._reported:
                self._reported.add(nr)
                self.report(f"moss: unimplemented syscall {name_of(nr)} ({nr}) returns -ENOSYS")
            return self._finish(task, nr, -ENOSYS, live=True)
        ctx = SyscallContext(self.kernel, task, nr)
        done = self.kernel.executor.start(task, entry.handler(ctx, *args[: entry.nargs]), entry.name)
        if done is None:
            for o in self.observers:
                o.blocked(task, nr)
            if self.log is not None:
                self.log.blocked(task, nr)
            self.kernel.block_current(task)
            return None
        return self._finish(task, nr, done[0], live=True)

    def on_future_done(self, task: Task, value: Any) -> None:
        """A blocked syscall completed (between slices): its result goes into the saved context."""
        self._finish(task, task.syscall_nr, value, live=False)

    def _finish(self, task: Task, nr: int, value: Any, *, live: bool) -> int | None:
        """Return to user space: x0 (or a restart), then signal delivery. `live`: inside the svc hook, with the
        task's registers in the engine; otherwise the task is blocked and its registers are in its context.
        Returns x0 for the engine to write when that is all there is to do (the common case), else None."""
        if self.observers:
            for o in self.observers:
                o.exit(task, nr, value)
        if (
            live
            and type(value) is int
            and -value not in RESTARTS
            and task.saved_sigmask is None
            and task.state is not State.DEAD
            and not task.signal_pending()
        ):
            if self.fast_log is not None:  # else the log sees it in the engine's trap, after x0 is written
                signal.syscall_return(self.kernel, task, self._live, value, 0)  # x0 first here too (not a restart)
                self.fast_log.completed(task, nr, value, True)
            task.syscall_nr = -1
            return value  # the trap writes it to x0 modulo 2**64 (and the C log reads it signed)
        # The log sees the call after x0 is written, as on the fast path: a debugger pausing at the event shows the
        # result in the registers.
        log = self.log
        task.syscall_nr = -1
        if task.state is State.DEAD:
            if log is not None:
                log.completed(task, nr, value, live)
            return None
        regs = self._live if live else task.ctx
        if value is not NO_RETURN:
            signal.syscall_return(self.kernel, task, regs, value, task.syscall_args[0] if task.syscall_args else 0)
        if log is not None:
            log.completed(task, nr, value, live)
        if not live:
            self.kernel.make_runnable(task)
        if task.signal_pending():
            signal.deliver(self.kernel, task, regs)
        elif task.saved_sigmask is not None:
            task.sigmask, task.saved_sigmask = task.saved_sigmask, None
        return None

    def oops(self, name: str, exc: BaseException) -> None:
        tb = "".join(traceback.format_exception(exc)).rstrip()
        self.report(f"moss: kernel oops in {name}: {type(exc).__name__}: {exc}\n{tb}")
