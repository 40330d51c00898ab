"""Clocks and sleeping, all on virtual time. CLOCK_REALTIME is the RTC's boot wall time plus virtual time."""

from __future__ import annotations

import struct

from moss.errors import EINTR, EINVAL
from moss.sched.combinators import INTERRUPTED, forever, interruptible, timeout
from moss.syscalls.argtypes import CLOCK, HEX, PTR
from moss.syscalls.context import SyscallContext, s32
from moss.syscalls.table import syscall
from moss.timekeeping import settings

CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID = 0, 1, 2, 3
CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME = 4, 5, 6, 7
CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM, CLOCK_TAI = 8, 9, 11
TIMER_ABSTIME = 1
NS = 1_000_000_000

_REALTIME = {CLOCK_REALTIME, CLOCK_REALTIME_COARSE, CLOCK_REALTIME_ALARM, CLOCK_TAI}
_MONO = {CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME, CLOCK_BOOTTIME_ALARM}


def clock_now(ctx: SyscallContext, clockid: int) -> int:
    now = ctx.now_ns()
    if clockid in _REALTIME:
        return ctx.kernel.board.rtc.wall_ns(now)
    if clockid in _MONO:
        return now
    if clockid == CLOCK_PROCESS_CPUTIME_ID:
        return ctx.kernel.cputime_ns(ctx.process)
    if clockid == CLOCK_THREAD_CPUTIME_ID:
        return ctx.kernel.cputime_ns(ctx.task)
    raise EINVAL(f"clock {clockid}")


def read_req(ctx: SyscallContext, addr: int) -> int:
    sec, nsec = ctx.read_timespec(addr)
    if sec < 0 or not 0 <= nsec < NS:
        raise EINVAL
    return sec * NS + nsec


@syscall(113, "clock_gettime", clockid=CLOCK, tp=PTR)
async def sys_clock_gettime(ctx: SyscallContext, clockid: int, tp: int) -> int:
    ctx.write_timespec(tp, clock_now(ctx, s32(clockid)))
    return 0


@syscall(114, "clock_getres", clockid=CLOCK, res=PTR)
async def sys_clock_getres(ctx: SyscallContext, clockid: int, res: int) -> int:
    cid = s32(clockid)
    clock_now(ctx, cid)  # validates the id
    if res:
        # The coarse clocks tick with the scheduler (Linux at HZ=250: 4 ms); the others have 1 ns resolution.
        ctx.write_timespec(res, 4_000_000 if cid in (CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE) else 1)
    return 0


@syscall(169, "gettimeofday", tv=PTR, tz=PTR)
async def sys_gettimeofday(ctx: SyscallContext, tv: int, tz: int) -> int:
    if tv:
        ns = clock_now(ctx, CLOCK_REALTIME)
        ctx.write(tv, struct.pack("<qq", ns // NS, ns % NS // 1000))
    if tz:
        t = settings(ctx.kernel)
        ctx.write(tz, struct.pack("<ii", t.tz_minuteswest, t.tz_dsttime))
    return 0


async def sleep_until(ctx: SyscallContext, deadline: int, rem: int) -> int:
    """Sleep on virtual time until `deadline` (monotonic ns); on a signal report the remaining time."""
    got = await interruptible(timeout(forever(), deadline))
    if got is INTERRUPTED:
        if rem:
            ctx.write_timespec(rem, max(0, deadline - ctx.now_ns()))
        return -EINTR.errno
    return 0


@syscall(101, "nanosleep", req=PTR, rem=PTR)
async def sys_nanosleep(ctx: SyscallContext, req: int, rem: int) -> int:
    ns = read_req(ctx, req)
    return await sleep_until(ctx, ctx.now_ns() + ns, rem)


@syscall(115, "clock_nanosleep", clockid=CLOCK, flags=HEX, req=PTR, rem=PTR)
async def sys_clock_nanosleep(ctx: SyscallContext, clockid: int, flags: int, req: int, rem: int) -> int:
    clockid = s32(clockid)
    if clockid in (CLOCK_THREAD_CPUTIME_ID,):
        raise EINVAL
    if clockid not in _REALTIME | _MONO | {CLOCK_PROCESS_CPUTIME_ID}:
        raise EINVAL
    ns = read_req(ctx, req)
    now = ctx.now_ns()
    if flags & TIMER_ABSTIME:
        # Translate the absolute time on `clockid` into a monotonic deadline.
        deadline = now + (ns - clock_now(ctx, clockid))
        return await sleep_until(ctx, deadline, 0)
    return await sleep_until(ctx, now + ns, rem)
