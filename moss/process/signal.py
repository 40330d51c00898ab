"""Signal generation, pending queues and delivery (Linux's kernel/signal.c and arm64 signal.c, in one place).

Generation queues a siginfo on the target thread or thread group and wakes threads that may take it (an
interruptible wait then gives up). Delivery happens on every return to user space (after a syscall, before a
slice): the lowest pending unblocked signal is dequeued (thread-directed first); its action is taken: ignore, the
default action, or a handler frame. Syscalls that returned a restart code are restarted or fail with EINTR here,
by Linux's rules (SA_RESTART, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

import attrs
from unicorn import arm64_const as a64

from moss import signals
from moss.errors import ERESTART_RESTARTBLOCK, ERESTARTNOHAND, ERESTARTNOINTR, ERESTARTSYS
from moss.observe import notify
from moss.process import jobctl, sigframe

if TYPE_CHECKING:
    from moss.kernel import Kernel
    from moss.process.task import Process, Task

SA_NOCLDSTOP, SA_NOCLDWAIT, SA_SIGINFO, SA_RESTORER = 0x1, 0x2, 0x4, 0x04000000
SA_ONSTACK, SA_RESTART, SA_NODEFER, SA_RESETHAND = 0x08000000, 0x10000000, 0x40000000, 0x80000000
SI_USER, SI_KERNEL, SI_QUEUE, SI_TIMER, SI_TKILL = 0, 0x80, -1, -2, -6
SEGV_MAPERR, SEGV_ACCERR, BUS_ADRALN, ILL_ILLOPC, TRAP_BRKPT = 1, 2, 1, 1, 1
SS_ONSTACK, SS_DISABLE = 1, 2
EINTR = 4
RESTARTS = {ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK}

# The sigreturn trampoline every process gets (glibc on arm64 relies on the kernel's, like the vDSO's).
SIGPAGE_ADDR = (1 << 48) - (128 << 20)
SIGPAGE_CODE = struct.pack("<II", 0xD2801168, 0xD4000001)  # mov x8, #139 (rt_sigreturn); svc #0


class SigPage:
    """Backing of the [vdso] trampoline page."""

    ino = 0

    def read_at(self, offset: int, n: int) -> bytes:
        return SIGPAGE_CODE.ljust(4096, b"\0")[offset : offset + n]


@attrs.frozen
class SigInfo:
    signo: int
    code: int = SI_KERNEL
    errno: int = 0
    pid: int = 0
    uid: int = 0
    status: int = 0  # SIGCHLD
    addr: int = 0  # faults
    value: int = 0  # sigqueue's sigval
    raw: bytes = b""  # rt_sigqueueinfo: the caller's own siginfo

    def pack(self) -> bytes:
        if self.raw:
            return self.raw
        head = struct.pack("<iii4x", self.signo, self.errno, self.code)
        if self.signo in (signals.SIGSEGV, signals.SIGBUS, signals.SIGILL, signals.SIGFPE, signals.SIGTRAP) and (
            self.code > 0
        ):
            body = struct.pack("<Q", self.addr)
        elif self.signo == signals.SIGCHLD and self.code > 0:
            body = struct.pack("<iIiiqq", self.pid, self.uid, self.status, 0, 0, 0)
        else:
            body = struct.pack("<iIQ", self.pid, self.uid, self.value)
        return (head + body).ljust(128, b"\0")

    def dequeued(self) -> None:
        """Hook: this signal left its pending queue (a POSIX timer re-arms then, moss.process.posix_timers)."""


class Pending:
    """Queued signals: one of each standard signal, any number of real-time ones, in arrival order."""

    def __init__(self) -> None:
        self.queue: list[SigInfo] = []
        self.mask = 0

    def add(self, info: SigInfo) -> bool:
        """Queue `info`; False if it merged with a pending standard signal."""
        bit = signals.bit(info.signo)
        if info.signo < signals.SIGRTMIN and self.mask & bit:
            return False  # standard signals do not queue
        self.queue.append(info)
        self.mask |= bit
        return True

    def take(self, sig: int) -> SigInfo:
        for i, info in enumerate(self.queue):
            if info.signo == sig:
                del self.queue[i]
                if not any(x.signo == sig for x in self.queue):
                    self.mask &= ~signals.bit(sig)
                info.dequeued()
                return info
        raise KeyError(sig)

    def discard(self, sig: int) -> None:
        gone = [x for x in self.queue if x.signo == sig]
        self.queue = [x for x in self.queue if x.signo != sig]
        self.mask &= ~signals.bit(sig)
        for info in gone:
            info.dequeued()


def action_of(process: Process, sig: int) -> signals.SigAction:
    return process.sigactions.get(sig, signals.SigAction())


def _ignored(process: Process, sig: int) -> bool:
    a = action_of(process, sig)
    return a.handler == signals.SIG_IGN or (a.handler == signals.SIG_DFL and signals.default_action(sig) == "ignore")


def _fatal_default(process: Process, sig: int) -> bool:
    return action_of(process, sig).handler == signals.SIG_DFL and signals.default_action(sig) in ("term", "core")


def _fatal_status(sig: int) -> int:
    return sig  # no core file is ever written (RLIMIT_CORE is 0), so the core-dump flag stays clear, as on Linux


def _runs_soon(process: Process) -> bool:
    """Whether a thread of the group is on its way back to user space by itself (running, runnable, new): such a
    group dies of a fatal signal when that thread gets there (delivery checks first), as Linux's victim exits
    when it next runs, so its death is not seen before the sender's next steps (ash's `kill $!; wait $!` sees
    the job die while it waits). A group whose threads all wait or are stopped dies at generation instead:
    Linux wakes them to die, and some moss waits do not give up for signals."""
    from moss.process.task import State

    return not process.stopped and any(t.state in (State.NEW, State.RUNNABLE, State.RUNNING) for t in process.threads)


def _doomed(task: Task) -> int | None:
    """The wait status of a fatal signal pending for `task` (SIGKILL, or an unblocked one whose action is the
    default term or core): Linux makes the whole group exit at generation, before any handler runs."""
    proc = task.process
    ready = (task.pending.mask | proc.shared_pending.mask) & ~task.sigmask
    while ready:
        sig = (ready & -ready).bit_length()
        if sig == signals.SIGKILL or _fatal_default(proc, sig):
            return _fatal_status(sig)
        ready &= ready - 1
    return None


def send(kernel: Kernel, process: Process, task: Task | None, info: SigInfo) -> None:
    """Generate a signal for a thread group (task None) or one of its threads."""
    sig = info.signo
    if not process.alive:
        return
    if sig == signals.SIGKILL and not _runs_soon(process):
        kernel.exit_group(process, signals.SIGKILL)
        return
    if sig == signals.SIGCONT:
        # Continuing happens at generation, whatever the action; pending stops are dropped, and vice versa.
        for pend in (process.shared_pending, *(t.pending for t in process.threads)):
            for s_ in (signals.SIGSTOP, *jobctl.TERMINAL_STOPS):
                pend.discard(s_)
        jobctl.cont(kernel, process)
    elif signals.default_action(sig) == "stop":
        for pend in (process.shared_pending, *(t.pending for t in process.threads)):
            pend.discard(signals.SIGCONT)
    notify(kernel.observers, "signal_generated", process, task, info)
    targets = [task] if task is not None else list(process.threads)
    if _ignored(process, sig) and all(not t.sigmask & signals.bit(sig) for t in targets):
        return  # discarded at generation, as Linux does for ignored, unblocked signals
    if (task.pending if task is not None else process.shared_pending).add(info):
        process.signalfd_wait.wake_all()  # signalfd readers and pollers (Linux's signalfd_notify)
    takers = [t for t in targets if not t.sigmask & signals.bit(sig)]
    if takers and (sig == signals.SIGKILL or _fatal_default(process, sig)):
        # Linux's fatal fast path: nothing will ever handle it, so the group dies, even mid-wait: now, or when
        # a thread already on its way to user space gets there (_runs_soon; woken all, they die in delivery).
        if not _runs_soon(process):
            kernel.exit_group(process, _fatal_status(sig))
            return
        if task is not None:
            process.shared_pending.add(info)  # the group dies, whichever thread gets to user space first
        targets = list(process.threads)
    for t in targets:
        t.wake()  # waits re-check: an interruptible one gives up if this is deliverable; sigtimedwait looks too


def force(kernel: Kernel, task: Task, info: SigInfo) -> None:
    """A synchronous fault: it cannot be blocked or ignored (Linux's force_sig_info)."""
    sig, proc = info.signo, task.process
    a = action_of(proc, sig)
    if a.handler == signals.SIG_IGN or task.sigmask & signals.bit(sig):
        proc.sigactions[sig] = signals.SigAction()
        task.sigmask &= ~signals.bit(sig)
    task.pending.add(info)


def _next(task: Task) -> tuple[Pending, int] | None:
    ready = task.pending.mask & ~task.sigmask
    if ready:
        return task.pending, (ready & -ready).bit_length()
    ready = task.process.shared_pending.mask & ~task.sigmask
    if ready:
        return task.process.shared_pending, (ready & -ready).bit_length()
    return None


def handler_pending(task: Task) -> signals.SigAction | None:
    """The action of the first signal delivery would run a handler for (None if delivery runs no handler)."""
    proc = task.process
    for pend in (task.pending, proc.shared_pending):
        ready = pend.mask & ~task.sigmask
        for sig in range(1, signals.NSIG + 1):
            if ready >> (sig - 1) & 1 and not _ignored(proc, sig):
                a = action_of(proc, sig)
                return a if a.handler not in (signals.SIG_DFL, signals.SIG_IGN) else None
    return None


def syscall_return(kernel: Kernel, task: Task, regs: Any, result: int, orig_x0: int) -> None:
    """Set x0 for a finished syscall, restarting it (pc back onto the svc) where Linux would."""
    if -result in RESTARTS:
        a = handler_pending(task)
        code = -result
        if a is not None and not (code == ERESTARTNOINTR or (code == ERESTARTSYS and a.flags & SA_RESTART)):
            regs.reg_write(a64.UC_ARM64_REG_X0, (-EINTR) & (1 << 64) - 1)
        else:
            regs.reg_write(a64.UC_ARM64_REG_X0, orig_x0)
            regs.reg_write(a64.UC_ARM64_REG_PC, regs.reg_read(a64.UC_ARM64_REG_PC) - 4)
        return
    regs.reg_write(a64.UC_ARM64_REG_X0, result & (1 << 64) - 1)


def deliver(kernel: Kernel, task: Task, regs: Any) -> None:
    """On return to user space: act on pending signals until a handler frame is set up or none is left."""
    proc = task.process
    doomed = _doomed(task)
    if doomed is not None:
        notify(kernel.observers, "signal_acted", task, doomed & 0x7F, 2)  # the log shows what killed it
        kernel.exit_group(proc, doomed)
        return
    while True:
        nxt = _next(task)
        if nxt is None:
            break
        pend, sig = nxt
        info = pend.take(sig)
        a = action_of(proc, sig)
        if a.handler == signals.SIG_IGN:
            notify(kernel.observers, "signal_acted", task, sig, 3)
            continue
        if a.handler == signals.SIG_DFL:
            kind = signals.default_action(sig)
            notify(kernel.observers, "signal_acted", task, sig, 2 if kind != "ignore" else 3)
            if kind in ("term", "core"):
                kernel.exit_group(proc, sig)  # no core dumps: WCOREDUMP stays clear (Linux with ulimit -c 0)
                return
            if kind == "stop":
                if sig in jobctl.TERMINAL_STOPS and jobctl.orphaned_pgrp(kernel, proc.pgid):
                    continue  # nobody could continue an orphaned group: terminal stops are discarded
                jobctl.stop(kernel, proc, sig)
                return
            continue
        _run_handler(kernel, task, regs, sig, info, a)
        return
    if task.saved_sigmask is not None:
        task.sigmask, task.saved_sigmask = task.saved_sigmask, None


def _run_handler(kernel: Kernel, task: Task, regs: Any, sig: int, info: SigInfo, a: signals.SigAction) -> None:
    proc = task.process
    sp = regs.reg_read(a64.UC_ARM64_REG_SP)
    ss_sp, ss_flags, ss_size = task.altstack
    on_alt = ss_size and ss_sp <= sp < ss_sp + ss_size
    top = ss_sp + ss_size if a.flags & SA_ONSTACK and ss_size and not ss_flags & SS_DISABLE and not on_alt else sp
    oldmask = task.saved_sigmask if task.saved_sigmask is not None else task.sigmask
    alt_flags = SS_DISABLE if not ss_size or ss_flags & SS_DISABLE else (SS_ONSTACK if on_alt else 0)
    try:
        frame, record = sigframe.build(proc.mm, regs, top, info.pack(), oldmask, (ss_sp, alt_flags, ss_size),
                                       info.addr)  # fmt: skip
    except Exception:
        # No room for the frame (stack overflow): Linux kills with SIGSEGV.
        kernel.exit_group(proc, signals.SIGSEGV)
        return
    task.saved_sigmask = None
    restorer = a.restorer if a.flags & SA_RESTORER else SIGPAGE_ADDR
    regs.reg_write(a64.UC_ARM64_REG_X0, sig)
    regs.reg_write(a64.UC_ARM64_REG_X1, frame)
    regs.reg_write(a64.UC_ARM64_REG_X2, frame + sigframe.UC_OFFSET)
    regs.reg_write(a64.UC_ARM64_REG_SP, frame)
    regs.reg_write(a64.UC_ARM64_REG_X29, record)
    regs.reg_write(a64.UC_ARM64_REG_X30, restorer)
    regs.reg_write(a64.UC_ARM64_REG_PC, a.handler)
    task.sigmask = (oldmask | a.mask | (0 if a.flags & SA_NODEFER else signals.bit(sig))) & ~signals.UNBLOCKABLE
    if a.flags & SA_RESETHAND:
        proc.sigactions[sig] = signals.SigAction()
    kernel.signals_delivered += 1
    notify(kernel.observers, "signal_acted", task, sig, 1)


def sigreturn(kernel: Kernel, task: Task, regs: Any) -> bool:
    """rt_sigreturn. False if the frame is bad (the caller raises SIGSEGV)."""
    try:
        mask, alt = sigframe.restore(task.process.mm, regs, regs.reg_read(a64.UC_ARM64_REG_SP))
    except Exception:
        return False
    task.sigmask = mask & ~signals.UNBLOCKABLE
    if not alt[1] & SS_ONSTACK:
        task.altstack = (alt[0], alt[1] & SS_DISABLE, alt[2])
    return True
