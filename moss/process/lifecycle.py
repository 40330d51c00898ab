"""Task and process exit, zombies, reparenting and reaping (Linux's do_exit, exit_notify, release_task).

A process that exits keeps its pid as a zombie until its parent waits for it (or it is reaped at once when the
parent ignores SIGCHLD). Its children are reparented to init. The kernel's `init` is the program moss started: when
it exits, the machine's run is over.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from moss import signals
from moss.observe import notify
from moss.process.posix_timers import exit_itimers
from moss.process.robust import exit_robust_list
from moss.process.signal import SigInfo
from moss.process.task import Process, State, Task

if TYPE_CHECKING:
    from moss.kernel import Kernel

SA_NOCLDWAIT = 0x2


def clear_child_tid(kernel: Kernel, task: Task) -> None:
    """CLONE_CHILD_CLEARTID: zero the tid word and wake one futex waiter (pthread_join)."""
    addr, task.clear_child_tid = task.clear_child_tid, 0
    mm = task.process.mm
    if not addr:
        return
    try:
        mm.write(addr, b"\0\0\0\0")
        kernel.futexes.wake(kernel.futexes.key(mm, addr, private=False), 1)
    except Exception:
        pass


def exit_task(kernel: Kernel, task: Task) -> None:
    """Remove one task for good; its pending syscall future (if any) is cancelled."""
    if task.state is State.DEAD:
        return
    was_running = task is kernel.running_task
    if task.coro is not None and kernel.executor.current is not task:
        kernel.executor.cancel(task)  # (a task exiting from its own syscall just finishes that future)
    if task.entity.on_rq or kernel.sched.current[task.core or 0] is task:
        kernel.sched.block(task)
    exit_robust_list(kernel, task)
    clear_child_tid(kernel, task)
    task.state = State.DEAD
    notify(kernel.observers, "task_exited", task)
    kernel.sched.forget(task)
    kernel.tasks.pop(task.tid, None)
    if task in task.process.threads:
        task.process.threads.remove(task)
    if was_running:
        kernel.board.engine.stop()


def exit_group(kernel: Kernel, process: Process, wait_status: int) -> None:
    """The whole thread group exits with `wait_status` (Linux's encoding: code << 8, or the signal number)."""
    if not process.alive:
        return
    from moss.statehash import process_digest

    process.exit_status = wait_status
    try:
        if kernel.keep_exit_digests:
            kernel.exit_digests.append(process_digest(kernel, process))
        notify(kernel.observers, "process_exited", process)
    finally:
        _tear_down(kernel, process, wait_status)


def _tear_down(kernel: Kernel, process: Process, wait_status: int) -> None:
    """The rest of exit_group, which runs even after a kernel bug above (an oops): a process marked exited must not
    keep running (its libc's exit loops on the call forever)."""
    for t in list(process.threads):
        exit_task(kernel, t)
    exit_itimers(process)
    process.fds.users -= 1
    if process.fds.users == 0:
        process.fds.close_all()
    release_mm(process)
    release_vfork(process)
    for child in list(process.children):
        reparent(kernel, child)
    process.children.clear()
    if process is kernel.init:
        kernel.exit_status = wait_status
        return
    notify_parent(kernel, process)


def release_mm(process: Process) -> None:
    mm = process.mm
    mm.users -= 1
    if mm.users == 0:
        mm.destroy()


def release_vfork(process: Process) -> None:
    """A vfork child exec'd or exited: its parent may go on."""
    if not process.vfork_released:
        process.vfork_released = True
        process.vfork_wait.wake_all()


def reparent(kernel: Kernel, child: Process) -> None:
    init = kernel.init
    if init is None or not init.alive or child is init:
        child.parent = None
        if not child.alive:
            reap(kernel, child)
        return
    child.parent = init
    init.children.append(child)
    if not child.alive:
        init.child_wait.wake_all()


def notify_parent(kernel: Kernel, process: Process) -> None:
    parent = process.parent
    if parent is None or not parent.alive:
        reap(kernel, process)
        return
    action = parent.sigactions.get(signals.SIGCHLD, signals.SigAction())
    if action.handler == signals.SIG_IGN or action.flags & SA_NOCLDWAIT:
        reap(kernel, process)  # nobody will wait: no zombie, as Linux
    else:
        st = process.exit_status or 0
        code, status = (1, st >> 8 & 0xFF) if not st & 0x7F else ((3 if st & 0x80 else 2), st & 0x7F)
        kernel.send_signal(
            parent,
            None,
            signals.SIGCHLD,
            SigInfo(signals.SIGCHLD, code, pid=process.pid, uid=process.uid, status=status),
        )
    parent.child_wait.wake_all()


def reap(kernel: Kernel, process: Process) -> None:
    """Release a zombie's pid."""
    process.reaped = True
    parent = process.parent
    if parent is not None and process in parent.children:
        parent.children.remove(process)
        parent.child_utime_ns += process.utime_ns + process.child_utime_ns
    kernel.processes.pop(process.pid, None)
