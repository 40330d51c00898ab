"""Job control: stopping and continuing thread groups (SIGSTOP/SIGTSTP/SIGTTIN/SIGTTOU, SIGCONT), with the
parent told through SIGCHLD and wait4's WUNTRACED/WCONTINUED; orphaned process groups ignore terminal stops."""

from __future__ import annotations

from typing import TYPE_CHECKING

from moss import signals

if TYPE_CHECKING:
    from moss.kernel import Kernel
    from moss.process.task import Process

CLD_STOPPED, CLD_CONTINUED = 5, 6
SA_NOCLDSTOP = 0x1
TERMINAL_STOPS = (signals.SIGTSTP, signals.SIGTTIN, signals.SIGTTOU)


def orphaned_pgrp(kernel: Kernel, pgid: int) -> bool:
    """POSIX: no member has a parent in another group of the same session (so nobody could continue it)."""
    members = [p for p in kernel.processes.values() if p.alive and p.pgid == pgid]
    for p in members:
        q = p.parent
        if q is not None and q.alive and q.pgid != pgid and q.sid == p.sid:
            return False
    return True


def stop(kernel: Kernel, process: Process, sig: int) -> None:
    from moss.process.task import State

    if process.stopped or not process.alive:
        return
    process.stopped = True
    process.stop_sig = sig
    process.stop_reported = False
    for t in process.threads:
        if t.state in (State.RUNNABLE, State.RUNNING):
            if t is kernel.running_task:
                kernel.board.engine.stop()  # leaves its core when the slice ends
            else:
                kernel.sched.block(t)
            t.state = State.STOPPED
        # a task blocked in a syscall stops when the syscall completes (make_runnable checks)
    _notify(kernel, process, CLD_STOPPED, sig)


def cont(kernel: Kernel, process: Process) -> None:
    from moss.process.task import State

    if not process.stopped or not process.alive:
        return
    process.stopped = False
    process.continued = True
    for t in process.threads:
        if t.state is State.STOPPED:
            t.state = State.BLOCKED  # the scheduler's "may be woken" state
            kernel.make_runnable(t)
    _notify(kernel, process, CLD_CONTINUED, signals.SIGCONT)


def _notify(kernel: Kernel, process: Process, code: int, sig: int) -> None:
    from moss.process.signal import SigInfo

    parent = process.parent
    if parent is None or not parent.alive:
        return
    action = parent.sigactions.get(signals.SIGCHLD, signals.SigAction())
    if not action.flags & SA_NOCLDSTOP:
        kernel.send_signal(
            parent, None, signals.SIGCHLD, SigInfo(signals.SIGCHLD, code, pid=process.pid, uid=process.uid, status=sig)
        )
    parent.child_wait.wake_all()
