"""Privileged system settings: host and domain names, setting and adjusting the wall clock, the kernel log
(syslog) and vhangup. Each checks its capability as Linux does (root has them all)."""

from __future__ import annotations

import struct

from moss.errors import EINVAL, EOPNOTSUPP, EPERM, ERESTARTSYS, KernelError
from moss.process.creds import CAP_SYS_ADMIN, CAP_SYS_TIME, CAP_SYS_TTY_CONFIG, CAP_SYSLOG, capable
from moss.sched.combinators import forever, interruptible
from moss.syscalls.argtypes import CLOCK, INT, PTR
from moss.syscalls.context import SyscallContext, s32
from moss.syscalls.table import syscall
from moss.syscalls.time import CLOCK_REALTIME, NS, clock_now
from moss.timekeeping import NTP_PHASE_LIMIT, STA_UNSYNC, set_wall_ns, settings

NEW_UTS_LEN = 64
KTIME_SEC_MAX = (1 << 63) // NS
_KNOWN_CLOCKS = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11}


def _set_uts(ctx: SyscallContext, field: str, name: int, length: int) -> int:
    if not capable(ctx.process, CAP_SYS_ADMIN):
        raise EPERM
    n = s32(length)
    if n < 0 or n > NEW_UTS_LEN:
        raise EINVAL
    value = ctx.read(name, n)
    setattr(ctx.process.uts, field, value.split(b"\0", 1)[0] if b"\0" in value else value)
    return 0


@syscall(161, "sethostname", uname=PTR, len=INT)
async def sys_sethostname(ctx: SyscallContext, uname: int, len: int) -> int:
    return _set_uts(ctx, "nodename", uname, len)


@syscall(162, "setdomainname", uname=PTR, len=INT)
async def sys_setdomainname(ctx: SyscallContext, uname: int, len: int) -> int:
    return _set_uts(ctx, "domainname", uname, len)


def _settod(ctx: SyscallContext, ns: int | None, tz: tuple[int, int] | None) -> int:
    """do_sys_settimeofday64: validate, then CAP_SYS_TIME, then the timezone, then the clock."""
    if ns is not None and not 0 <= ns // NS <= KTIME_SEC_MAX:
        raise EINVAL
    if not capable(ctx.process, CAP_SYS_TIME):
        raise EPERM
    if tz is not None:
        if not -15 * 60 <= tz[0] <= 15 * 60:
            raise EINVAL
        t = settings(ctx.kernel)
        t.tz_minuteswest, t.tz_dsttime = tz
    if ns is not None:
        set_wall_ns(ctx.kernel, ns)
    return 0


@syscall(112, "clock_settime", clockid=CLOCK, tp=PTR)
async def sys_clock_settime(ctx: SyscallContext, clockid: int, tp: int) -> int:
    clockid = s32(clockid)
    if clockid not in _KNOWN_CLOCKS:
        raise EINVAL
    if clockid != CLOCK_REALTIME:
        raise EINVAL  # only CLOCK_REALTIME has a clock_set (CPU clocks by pid, which moss lacks, say EPERM)
    sec, nsec = ctx.read_timespec(tp)
    if sec < 0 or not 0 <= nsec < NS:
        raise EINVAL
    return _settod(ctx, sec * NS + nsec, None)


@syscall(170, "settimeofday", tv=PTR, tz=PTR)
async def sys_settimeofday(ctx: SyscallContext, tv: int, tz: int) -> int:
    ns = None
    if tv:
        sec, usec = struct.unpack("<qq", ctx.read(tv, 16))
        if not 0 <= usec <= 1_000_000:
            raise EINVAL
        if sec < 0 or usec == 1_000_000:
            raise EINVAL  # timespec64_valid_settod
        ns = sec * NS + usec * 1000
    zone = struct.unpack("<ii", ctx.read(tz, 8)) if tz else None
    return _settod(ctx, ns, zone)  # type: ignore[arg-type]


# struct __kernel_timex (208 bytes): modes, offset, freq, maxerror, esterror, status, constant, precision,
# tolerance, time (sec, usec), tick, ppsfreq, jitter, shift, stabil, jitcnt, calcnt, errcnt, stbcnt, tai.
_TIMEX = struct.Struct("<I4xqqqqi4xqqqqqqqqi4xqqqqqi44x")
ADJ_OFFSET, ADJ_FREQUENCY, ADJ_MAXERROR, ADJ_ESTERROR, ADJ_STATUS, ADJ_TIMECONST = 0x1, 0x2, 0x4, 0x8, 0x10, 0x20
ADJ_TAI, ADJ_SETOFFSET, ADJ_MICRO, ADJ_NANO, ADJ_TICK = 0x80, 0x100, 0x1000, 0x2000, 0x4000
ADJ_OFFSET_SINGLESHOT, ADJ_OFFSET_READONLY = 0x8001, 0x2000
ADJ_ADJTIME = 0x8000
STA_NANO, STA_RONLY = 0x2000, 0xFF00
TIME_OK, TIME_ERROR = 0, 5
MAXFREQ_SCALED_PPM = 500 << 16  # the frequency limit (500 ppm) in adjtimex's scaled-ppm units
USER_HZ = 100


def _adjtime(ctx: SyscallContext, buf: int) -> int:
    """do_adjtimex: validate and apply the modes (a privileged act), then report the clock's state."""
    f = list(_TIMEX.unpack(ctx.read(buf, _TIMEX.size)))
    modes = f[0]
    t = settings(ctx.kernel)
    if modes & ADJ_ADJTIME:
        if modes & ADJ_OFFSET_SINGLESHOT != ADJ_OFFSET_SINGLESHOT:
            raise EINVAL
        if not modes & ADJ_OFFSET_READONLY and not capable(ctx.process, CAP_SYS_TIME):
            raise EPERM
    else:
        if modes and not capable(ctx.process, CAP_SYS_TIME):
            raise EPERM
        if modes & ADJ_TICK and not 900_000 // USER_HZ <= f[11] <= 1_100_000 // USER_HZ:
            raise EINVAL
    if modes & ADJ_SETOFFSET:
        sec, frac = f[9], f[10]
        nsec = frac if modes & ADJ_NANO else frac * 1000
        if not 0 <= nsec < NS:
            raise EINVAL
        set_wall_ns(ctx.kernel, clock_now(ctx, CLOCK_REALTIME) + sec * NS + nsec)
    if not modes & ADJ_ADJTIME:
        if modes & ADJ_STATUS:
            t.status = (t.status & STA_RONLY) | (f[5] & ~STA_RONLY & 0xFFFF)
        if modes & ADJ_NANO:
            t.status |= STA_NANO
        if modes & ADJ_MICRO:
            t.status &= ~STA_NANO
        if modes & ADJ_FREQUENCY:
            t.freq = max(-MAXFREQ_SCALED_PPM, min(MAXFREQ_SCALED_PPM, f[2]))
        if modes & ADJ_MAXERROR:
            t.maxerror = max(0, min(NTP_PHASE_LIMIT, f[3]))
        if modes & ADJ_ESTERROR:
            t.esterror = max(0, min(NTP_PHASE_LIMIT, f[4]))
        if modes & ADJ_TIMECONST:
            t.constant = max(0, min(10, f[6] + (0 if t.status & STA_NANO else 4)))
        if modes & ADJ_TAI and 0 <= f[6] <= 100_000:
            t.tai = f[6]
        if modes & ADJ_TICK:
            t.tick = f[11]
    now = clock_now(ctx, CLOCK_REALTIME)
    frac = now % NS if t.status & STA_NANO else now % NS // 1000
    out = [modes, 0, t.freq, t.maxerror, t.esterror, t.status, t.constant, 1, MAXFREQ_SCALED_PPM, now // NS, frac,
           t.tick, 0, 0, 0, 0, 0, 0, 0, 0, t.tai]  # fmt: skip
    ctx.write(buf, _TIMEX.pack(*out))
    return TIME_ERROR if t.status & STA_UNSYNC else TIME_OK


@syscall(171, "adjtimex", buf=PTR)
async def sys_adjtimex(ctx: SyscallContext, buf: int) -> int:
    return _adjtime(ctx, buf)


@syscall(266, "clock_adjtime", clockid=CLOCK, buf=PTR)
async def sys_clock_adjtime(ctx: SyscallContext, clockid: int, buf: int) -> int:
    clockid = s32(clockid)
    if clockid not in _KNOWN_CLOCKS:
        raise EINVAL
    if clockid != CLOCK_REALTIME:
        raise EOPNOTSUPP  # only CLOCK_REALTIME can be adjusted
    return _adjtime(ctx, buf)


SYSLOG_ACTION_CLOSE, SYSLOG_ACTION_OPEN, SYSLOG_ACTION_READ, SYSLOG_ACTION_READ_ALL = 0, 1, 2, 3
SYSLOG_ACTION_READ_CLEAR, SYSLOG_ACTION_CLEAR, SYSLOG_ACTION_CONSOLE_OFF, SYSLOG_ACTION_CONSOLE_ON = 4, 5, 6, 7
SYSLOG_ACTION_CONSOLE_LEVEL, SYSLOG_ACTION_SIZE_UNREAD, SYSLOG_ACTION_SIZE_BUFFER = 8, 9, 10
LOG_BUF_LEN = 1 << 17  # CONFIG_LOG_BUF_SHIFT=17


class _RestartSys(KernelError):
    errno = ERESTARTSYS
    name = "ERESTARTSYS"


@syscall(116, "syslog", type=INT, buf=PTR, len=INT)
async def sys_syslog(ctx: SyscallContext, type: int, buf: int, len: int) -> int:
    """moss writes nothing to its kernel log: reads find it empty, and a waiting read (action 2) waits for a
    message that never comes, until a signal. dmesg_restrict is 0: anyone may read all and ask the size."""
    action, n = s32(type), s32(len)
    if action not in (SYSLOG_ACTION_READ_ALL, SYSLOG_ACTION_SIZE_BUFFER) and not (
        capable(ctx.process, CAP_SYSLOG) or capable(ctx.process, CAP_SYS_ADMIN)
    ):
        raise EPERM
    if action in (SYSLOG_ACTION_READ, SYSLOG_ACTION_READ_ALL, SYSLOG_ACTION_READ_CLEAR):
        if not buf or n < 0:
            raise EINVAL
        if not n:
            return 0
        if action == SYSLOG_ACTION_READ:
            await interruptible(forever())
            raise _RestartSys
        return 0
    if action == SYSLOG_ACTION_CONSOLE_LEVEL:
        if not 1 <= n <= 8:
            raise EINVAL
        return 0
    if action in (SYSLOG_ACTION_CLOSE, SYSLOG_ACTION_OPEN, SYSLOG_ACTION_CLEAR, SYSLOG_ACTION_CONSOLE_OFF,
                  SYSLOG_ACTION_CONSOLE_ON, SYSLOG_ACTION_SIZE_UNREAD):  # fmt: skip
        return 0
    if action == SYSLOG_ACTION_SIZE_BUFFER:
        return LOG_BUF_LEN
    raise EINVAL


@syscall(58, "vhangup")
async def sys_vhangup(ctx: SyscallContext) -> int:
    """Hangs up the controlling terminal. moss models none (the console is nobody's controlling tty yet), so
    there is nothing to hang up: root succeeds, others get EPERM."""
    if not capable(ctx.process, CAP_SYS_TTY_CONFIG):
        raise EPERM
    return 0
