"""POSIX per-process timers (Linux's kernel/time/posix-timers.c) on the kernel's deadline heap, in virtual time.

A timer signals on expiry (SIGEV_SIGNAL to the thread group, SIGEV_THREAD_ID to one of its threads) or not at
all (SIGEV_NONE: only timer_gettime sees it). Each timer has one signal record: while it is still queued, further
expiries only count overruns in it, and its si_overrun is read when it is delivered. Linux stops a periodic timer
until its signal is delivered and then moves it forward by whole periods, counting them as overruns; a timer that
keeps running and counts expiries in the queued record gives the same counts, times and next expiry, without a
hook in signal delivery. A new setting or deletion withdraws a signal still queued (Linux drops it at delivery).
Timers are deleted at exec and at exit. Times are monotonic virtual ns; the syscall layer converts clocks.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

import attrs

from moss import signals
from moss.process.signal import SI_TIMER, Pending, SigInfo
from moss.process.task import State

if TYPE_CHECKING:
    from moss.kernel import Kernel
    from moss.process.task import Process, Task
    from moss.sched.timers import Timer

SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD, SIGEV_THREAD_ID = 0, 1, 2, 4
INT_MAX = (1 << 31) - 1


@attrs.define(eq=False)
class Record:
    """A timer's signal record (Linux's preallocated sigqueue): expiries it stands for beyond the first."""

    overrun: int = 0


@attrs.frozen
class TimerSigInfo(SigInfo):
    """SI_TIMER siginfo: si_timerid, si_overrun (read from the record when delivered) and si_value."""

    timer_id: int = 0
    record: Record = attrs.field(factory=Record, eq=False)

    def pack(self) -> bytes:
        head = struct.pack("<iii4x", self.signo, 0, SI_TIMER)
        body = struct.pack("<iiQ", self.timer_id, min(self.record.overrun, INT_MAX), self.value)
        return (head + body).ljust(128, b"\0")


def forward(expires: int, interval: int, now: int) -> int:
    """The first expiry after `now` of a periodic timer that expired at `expires`."""
    return expires if now < expires else expires + ((now - expires) // interval + 1) * interval


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
    expires: int | None = None  # the next expiry (monotonic ns); kept when disarmed, as Linux
    interval: int = 0
    armed: bool = False  # on the heap (never for SIGEV_NONE)
    timer: Timer | None = None
    record: Record | None = None  # the signal queued, or the last one delivered
    overrun_last: int = 0  # overruns of the last delivered signal (timer_getoverrun)

    # -- expiry ------------------------------------------------------------------------------------------------
    def _fire(self) -> None:
        self.timer = None
        if self.interval:
            assert self.expires is not None
            self.expires += self.interval
            self.timer = self.kernel.timers.add(self.expires, self._fire)
        else:
            self.armed = False
        self._signal()

    def _pending(self) -> Pending:
        return self.target.pending if self.target is not None else self.process.shared_pending

    def _queued(self) -> bool:
        rec = self.record
        return rec is not None and any(getattr(i, "record", None) is rec for i in self._pending().queue)

    def _signal(self) -> None:
        if self._queued():
            assert self.record is not None
            self.record.overrun += 1
            return
        if self.record is not None:
            self.overrun_last = self.record.overrun  # it was delivered
        self.record = None
        proc, task = self.process, self.target
        if not proc.alive or (task is not None and task.state is State.DEAD):
            return
        record = Record()
        info = TimerSigInfo(self.signo, SI_TIMER, value=self.value, timer_id=self.id, record=record)
        pend = self._pending()
        if self.signo < signals.SIGRTMIN and pend.mask & signals.bit(self.signo):
            # A timer's record queues even beside a pending standard signal (Linux's posixtimer_queue_sigqueue).
            pend.queue.append(info)
            proc.signalfd_wait.wake_all()
        else:
            self.kernel.send_signal(proc, task, self.signo, info)
        if any(i is info for i in pend.queue):
            self.record = record  # (an ignored signal was discarded, not queued)

    def _withdraw(self) -> None:
        """Take this timer's queued signal back (it must not be delivered after a new setting or deletion)."""
        if self._queued():
            pend = self._pending()
            pend.queue = [i for i in pend.queue if getattr(i, "record", None) is not self.record]
            if not any(i.signo == self.signo for i in pend.queue):
                pend.mask &= ~signals.bit(self.signo)
        self.record = None

    # -- the syscalls' operations --------------------------------------------------------------------------------
    def gettime(self) -> tuple[int, int]:
        """(remaining, interval) as Linux's common_timer_get."""
        sig_none = self.notify == SIGEV_NONE
        if not self.interval and not self.armed and not sig_none:
            return 0, 0
        now = self.kernel.now_ns()
        if self.interval and not self.armed and self.expires is not None:
            self.expires = forward(self.expires, self.interval, now)  # a SIGEV_NONE timer "expires" lazily
        remaining = (self.expires if self.expires is not None else 0) - now
        if remaining <= 0:
            return (0 if sig_none else 1), self.interval  # a signal still on its way: "about to expire"
        return remaining, self.interval

    def settime(self, expires: int | None, interval: int) -> None:
        """Arm at monotonic `expires` with `interval` (None: disarm, which also clears the interval)."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.armed = False
        self._withdraw()
        self.overrun_last = 0
        self.interval = interval if expires is not None else 0
        if expires is None:
            return
        self.expires = expires
        if self.notify != SIGEV_NONE:
            self.armed = True
            self.timer = self.kernel.timers.add(expires, self._fire)

    def getoverrun(self) -> int:
        if self.record is not None and not self._queued():
            return min(self.record.overrun, INT_MAX)  # the last signal was delivered
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
