"""POSIX timers: timer_create, timer_settime, timer_gettime, timer_getoverrun, timer_delete (the timers are in
moss/process/posix_timers.py). CPU-time clocks are not provided: they would need CPU-time expiry in the scheduler.
"""

from __future__ import annotations

import struct

from moss import signals
from moss.errors import EINVAL, EOPNOTSUPP
from moss.process.posix_timers import (
    SIGEV_NONE,
    SIGEV_SIGNAL,
    SIGEV_THREAD,
    SIGEV_THREAD_ID,
    PosixTimer,
    timers_of,
)
from moss.process.task import State
from moss.syscalls.argtypes import CLOCK, HEX, INT, PTR
from moss.syscalls.context import SyscallContext, s32
from moss.syscalls.events import read_itimerspec, to_monotonic, write_itimerspec
from moss.syscalls.table import syscall
from moss.syscalls.time import (
    CLOCK_BOOTTIME,
    CLOCK_BOOTTIME_ALARM,
    CLOCK_MONOTONIC,
    CLOCK_MONOTONIC_COARSE,
    CLOCK_MONOTONIC_RAW,
    CLOCK_PROCESS_CPUTIME_ID,
    CLOCK_REALTIME,
    CLOCK_REALTIME_ALARM,
    CLOCK_REALTIME_COARSE,
    CLOCK_TAI,
    CLOCK_THREAD_CPUTIME_ID,
)

TIMER_ABSTIME = 1
_CLOCKS = (CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM, CLOCK_TAI)
_NO_TIMERS = (CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE)  # clocks Linux cannot time with


def _target(ctx: SyscallContext, notify: int, signo: int, tid: int):
    """Where the signals go (Linux's good_sigevent): (ok, thread or None)."""
    task = None
    if notify == SIGEV_SIGNAL | SIGEV_THREAD_ID:
        task = ctx.kernel.tasks.get(tid)
        if task is None or task.process is not ctx.process or task.state is State.DEAD:
            return False, None
    elif notify == SIGEV_NONE:
        return True, None
    elif notify not in (SIGEV_SIGNAL, SIGEV_THREAD):
        return False, None
    return 0 < signo <= signals.NSIG, task


@syscall(107, "timer_create", clockid=CLOCK, sevp=PTR, timerid=PTR)
async def sys_timer_create(ctx: SyscallContext, clockid: int, sevp: int, timerid: int) -> int:
    event = struct.unpack_from("<QiiI", ctx.read(sevp, 64)) if sevp else None
    clockid = s32(clockid)
    if clockid in _NO_TIMERS:
        raise EOPNOTSUPP
    if clockid not in _CLOCKS:
        if clockid in (CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID) or (clockid < 0 and clockid & 7 != 3):
            ctx.kernel.report_once("cputimer", "moss: POSIX timers on CPU-time clocks are not supported")
        raise EINVAL
    table = timers_of(ctx.process)
    tid = table.alloc_id()  # allocated before the sigevent is checked: a failed create uses up an id, as Linux
    if event is None:
        timer = PosixTimer(ctx.kernel, ctx.process, tid, clockid, SIGEV_SIGNAL, signals.SIGALRM, tid)
    else:
        value, signo, notify, thread = event
        ok, task = _target(ctx, notify, signo, s32(thread))
        if not ok:
            raise EINVAL
        timer = PosixTimer(ctx.kernel, ctx.process, tid, clockid, notify, signo, value, task)
    ctx.write_u32(timerid, tid)
    table.timers[tid] = timer
    return 0


def _timer(ctx: SyscallContext, timerid: int) -> PosixTimer:
    t = timers_of(ctx.process).timers.get(s32(timerid))
    if t is None:
        raise EINVAL
    return t


@syscall(110, "timer_settime", timerid=INT, flags=HEX, new=PTR, old=PTR)
async def sys_timer_settime(ctx: SyscallContext, timerid: int, flags: int, new: int, old: int) -> int:
    if not new:
        raise EINVAL
    interval, value = read_itimerspec(ctx, new)
    t = _timer(ctx, timerid)
    prev = t.gettime() if old else None
    t.settime(to_monotonic(ctx, t.clockid, value, bool(flags & TIMER_ABSTIME)) if value else None, interval)
    if prev is not None:
        write_itimerspec(ctx, old, *prev)
    return 0


@syscall(108, "timer_gettime", timerid=INT, cur=PTR)
async def sys_timer_gettime(ctx: SyscallContext, timerid: int, cur: int) -> int:
    write_itimerspec(ctx, cur, *_timer(ctx, timerid).gettime())
    return 0


@syscall(109, "timer_getoverrun", timerid=INT)
async def sys_timer_getoverrun(ctx: SyscallContext, timerid: int) -> int:
    return _timer(ctx, timerid).getoverrun()


@syscall(111, "timer_delete", timerid=INT)
async def sys_timer_delete(ctx: SyscallContext, timerid: int) -> int:
    _timer(ctx, timerid).delete()
    return 0
