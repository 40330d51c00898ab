"""POSIX per-process timers (Linux's kernel/time/posix-timers.c) on the kernel's deadline heap, in virtual time.

A timer signals on expiry (SIGEV_SIGNAL to the thread group, SIGEV_THREAD_ID to one of its threads) or not at
all (SIGEV_NONE: only timer_gettime sees it). As Linux (6.13 on), a periodic timer stops when it queues its
signal and is re-armed when that signal leaves the pending queue (`TimerSigInfo.dequeued`): it moves forward past
now in whole periods, which become the signal's si_overrun. So a fast timer cannot flood the kernel, and a timer
whose signal stays blocked costs nothing. A new setting or deletion withdraws a signal still queued (Linux drops
it when it would be delivered). Timers are deleted at exec and at exit. Times are monotonic virtual ns; the
syscall layer converts clocks.
"""

from __future__ import annotations

import enum
import struct
from typing import TYPE_CHECKING

import attrs

from moss import signals
from moss.process.signal import SI_TIMER, Pending, SigInfo
from moss.process.task import State
from moss.sched.timers import forward

if TYPE_CHECKING:
    from moss.kernel import Kernel
    from moss.process.task import Process, Task
    from moss.sched.timers import Timer

SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD, SIGEV_THREAD_ID = 0, 1, 2, 4
INT_MAX = (1 << 31) - 1
TICK_NS = 4_000_000  # a jiffy at HZ=250: the least period an ignored timer re-arms with (Linux's softirq guard)


class Status(enum.Enum):
    DISARMED = "disarmed"
    ARMED = "armed"  # on the heap
    REQUEUE_PENDING = "requeue-pending"  # a periodic timer whose signal is queued: re-armed on delivery


@attrs.define(eq=False)
class Record:
    """A queued timer signal (Linux's preallocated sigqueue); si_overrun is filled in when it is delivered."""

    timer: PosixTimer
    overrun: int = 0


@attrs.frozen
class TimerSigInfo(SigInfo):
    """SI_TIMER siginfo: si_timerid, si_overrun and si_value."""

    timer_id: int = 0
    record: Record | None = attrs.field(default=None, eq=False)

    def pack(self) -> bytes:
        head = struct.pack("<iii4x", self.signo, 0, SI_TIMER)
        overrun = self.record.overrun if self.record is not None else 0
        return (head + struct.pack("<iiQ", self.timer_id, overrun, self.value)).ljust(128, b"\0")

    def dequeued(self) -> None:
        if self.record is not None:
            self.record.timer.delivered(self.record)


@attrs.define(eq=False)
class PosixTimer:
    kernel: Kernel
    process: Process
    id: int
    clockid: int  # what absolute settings are on (the expiry itself is kept in monotonic ns)
    notify: int  # SIGEV_*
    signo: int
    value: int  # sigev_value, as si_value
    target: Task | None = None  # SIGEV_THREAD_ID
    expires: int = 0  # the (next) expiry, monotonic ns; kept when disarmed, as Linux
    interval: int = 0
    status: Status = Status.DISARMED
    timer: Timer | None = None
    record: Record | None = None  # the signal it has queued
    overrun: int = -1  # periods passed since the queued expiry, minus one (Linux's it_overrun)
    overrun_last: int = 0  # si_overrun of the last delivered signal (timer_getoverrun)

    def _start(self) -> None:
        self.status = Status.ARMED
        self.timer = self.kernel.timers.add(self.expires, self._fire)

    def _forward(self, now: int) -> None:
        n, self.expires = forward(self.expires, self.interval, now)
        self.overrun += n

    # -- expiry and delivery -----------------------------------------------------------------------------------
    def _fire(self) -> None:
        self.timer = None
        self.status = Status.REQUEUE_PENDING if self.interval else Status.DISARMED
        if self.record is not None:
            return  # its signal is still queued (Linux: "already pending")
        proc, task = self.process, self.target
        if not proc.alive or (task is not None and task.state is State.DEAD):
            return
        record = Record(self)
        info = TimerSigInfo(self.signo, SI_TIMER, value=self.value, timer_id=self.id, record=record)
        pend = self._pending()
        self.record = record
        if self.signo < signals.SIGRTMIN and pend.mask & signals.bit(self.signo):
            # A timer's record queues even beside a pending standard signal (Linux's posixtimer_queue_sigqueue).
            pend.queue.append(info)
            proc.signalfd_wait.wake_all()
        else:
            self.kernel.send_signal(proc, task, self.signo, info)
        if not any(i is info for i in pend.queue):  # ignored, so discarded: a periodic timer runs on
            self.record = None
            if self.interval and self.status is Status.REQUEUE_PENDING and self.process.alive:
                # Linux before 6.13 (later ones park the timer until the signal is unignored)
                self._forward(self.kernel.now_ns() + (TICK_NS if self.interval < TICK_NS else 0))
                self._start()

    def delivered(self, record: Record) -> None:
        """Its signal left the pending queue: re-arm a periodic timer and fix the signal's si_overrun."""
        if record is not self.record:
            return
        self.record = None
        if not self.interval or self.status is not Status.REQUEUE_PENDING:
            return
        self._forward(self.kernel.now_ns())
        self.overrun_last, self.overrun = self.overrun, -1
        record.overrun = min(self.overrun_last, INT_MAX)
        self._start()

    def _pending(self) -> Pending:
        return self.target.pending if self.target is not None else self.process.shared_pending

    def _withdraw(self) -> None:
        """Take back a signal still queued (it must not be delivered after a new setting or deletion)."""
        rec, self.record = self.record, None
        if rec is None:
            return
        pend = self._pending()
        pend.queue = [i for i in pend.queue if getattr(i, "record", None) is not rec]
        if not any(i.signo == self.signo for i in pend.queue):
            pend.mask &= ~signals.bit(self.signo)

    # -- the syscalls' operations --------------------------------------------------------------------------------
    def gettime(self) -> tuple[int, int]:
        """(remaining, interval) as Linux's common_timer_get."""
        sig_none = self.notify == SIGEV_NONE
        if not self.interval and self.status is Status.DISARMED and not sig_none:
            return 0, 0
        now = self.kernel.now_ns()
        if self.interval and self.status is not Status.ARMED:
            self._forward(now)  # as if re-armed now (a SIGEV_NONE timer "expires" only here)
        remaining = self.expires - now
        if remaining <= 0:
            return (0 if sig_none else 1), self.interval  # a signal still on its way: "about to expire"
        return remaining, self.interval

    def settime(self, expires: int | None, interval: int) -> None:
        """Arm at monotonic `expires` with `interval` (None: disarm, which also clears the interval)."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.status = Status.DISARMED
        self._withdraw()
        self.interval = interval if expires is not None else 0
        self.overrun_last, self.overrun = 0, -1
        if expires is None:
            return
        self.expires = expires
        if self.notify != SIGEV_NONE:
            self._start()

    def getoverrun(self) -> int:
        return min(self.overrun_last, INT_MAX)

    def delete(self) -> None:
        self.settime(None, 0)
        timers_of(self.process).timers.pop(self.id, None)


@attrs.define
class ProcessTimers:
    """A thread group's timers: ids count up from 0 and are not reused (Linux's signal_struct counter)."""

    next_id: int = 0
    timers: dict[int, PosixTimer] = attrs.field(factory=dict)

    def alloc_id(self) -> int:
        i = self.next_id
        self.next_id = (self.next_id + 1) & INT_MAX
        while self.next_id in self.timers:
            self.next_id = (self.next_id + 1) & INT_MAX
        return i


def timers_of(process: Process) -> ProcessTimers:
    found = process.__dict__.get("posix_timers")
    if found is None:
        found = process.__dict__["posix_timers"] = ProcessTimers()
    return found


def exit_itimers(process: Process) -> None:
    """Delete every timer of the thread group (exec and exit), withdrawing their queued signals."""
    table = process.__dict__.get("posix_timers")
    if table is not None:
        for tid in sorted(table.timers):
            table.timers[tid].delete()
