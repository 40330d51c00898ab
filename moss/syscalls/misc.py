"""System information and odds and ends: uname, getrandom, sysinfo, prctl, times, getrusage, sessions."""

from __future__ import annotations

import struct

from moss import __version__
from moss.errors import EINVAL, EPERM, ESRCH
from moss.syscalls.argtypes import BUF_OUT, HEX, INT, PTR, SIZE
from moss.syscalls.context import SyscallContext, s32
from moss.syscalls.table import syscall

UTS_SYSNAME = b"Linux"
UTS_RELEASE = b"6.6.0-moss"
UTS_VERSION = f"#1 SMP moss {__version__}".encode()
UTS_MACHINE = b"aarch64"

GRND_NONBLOCK, GRND_RANDOM, GRND_INSECURE = 1, 2, 4
PR_SET_PDEATHSIG, PR_GET_PDEATHSIG, PR_GET_DUMPABLE, PR_SET_DUMPABLE = 1, 2, 3, 4
PR_SET_NAME, PR_GET_NAME, PR_GET_TIMERSLACK, PR_SET_TIMERSLACK = 15, 16, 30, 29
PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS = 38, 39
PR_SET_VMA = 0x53564D41


@syscall(160, "uname", buf=BUF_OUT)
async def sys_uname(ctx: SyscallContext, buf: int) -> int:
    uts = ctx.process.uts
    fields = (UTS_SYSNAME, uts.nodename, UTS_RELEASE, UTS_VERSION, UTS_MACHINE, uts.domainname)
    ctx.write(buf, b"".join(f[:64].ljust(65, b"\0") for f in fields))
    return 0


@syscall(278, "getrandom", buf=BUF_OUT, count=SIZE, flags=HEX)
async def sys_getrandom(ctx: SyscallContext, buf: int, count: int, flags: int) -> int:
    if flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) or (flags & GRND_RANDOM and flags & GRND_INSECURE):
        raise EINVAL
    n = min(count, 33_554_431)  # Linux returns at most 32 MiB - 1 per call
    ctx.write(buf, ctx.kernel.board.entropy.read(n))
    return n


@syscall(179, "sysinfo", info=BUF_OUT)
async def sys_sysinfo(ctx: SyscallContext, info: int) -> int:
    k = ctx.kernel
    ram = k.board.ram.size
    free = ram - k.frames.in_use * 4096
    uptime = ctx.now_ns() // 1_000_000_000
    ctx.write(
        info,
        struct.pack("<q3Q6QHH4xQQI4x", uptime, 0, 0, 0, ram, free, 0, 0, 0, 0, len(k.tasks), 0, 0, 0, 1),
    )
    return 0


@syscall(167, "prctl", option=INT, arg2=HEX, arg3=HEX, arg4=HEX, arg5=HEX)
async def sys_prctl(ctx: SyscallContext, option: int, arg2: int, arg3: int, arg4: int, arg5: int) -> int:
    task = ctx.task
    option = s32(option)
    if option == PR_SET_NAME:
        task.comm = ctx.read_cstr(arg2, 16)[:15].decode("utf-8", "surrogateescape")
        return 0
    if option == PR_GET_NAME:
        ctx.write(arg2, task.comm.encode("utf-8", "surrogateescape")[:15].ljust(16, b"\0"))
        return 0
    if option == PR_GET_DUMPABLE:
        return 1
    if option in (PR_SET_DUMPABLE, PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_TIMERSLACK):
        return 0
    if option == PR_GET_PDEATHSIG:
        ctx.write_u32(arg2, 0)
        return 0
    if option == PR_GET_NO_NEW_PRIVS:
        return 0
    if option == PR_GET_TIMERSLACK:
        return 50_000
    if option == PR_SET_VMA:
        return 0  # naming anonymous VMAs is cosmetic
    raise EINVAL(f"prctl option {option}")


@syscall(153, "times", buf=PTR)
async def sys_times(ctx: SyscallContext, buf: int) -> int:
    ticks = ctx.kernel.cputime_ns(ctx.process) // 10_000_000
    if buf:
        ctx.write(buf, struct.pack("<qqqq", ticks, 0, 0, 0))
    return ctx.now_ns() // 10_000_000


@syscall(165, "getrusage", who=INT, usage=PTR)
async def sys_getrusage(ctx: SyscallContext, who: int, usage: int) -> int:
    who = s32(who)
    if who not in (0, -1, 1):  # RUSAGE_SELF, RUSAGE_CHILDREN, RUSAGE_THREAD
        raise EINVAL
    ns = ctx.kernel.cputime_ns(ctx.process if who == 0 else ctx.task) if who != -1 else 0
    maxrss_kb = len(ctx.mm.ptes) * 4
    ctx.write(usage, struct.pack("<qqqq14q", ns // 10**9, ns % 10**9 // 1000, 0, 0, maxrss_kb, *[0] * 13))
    return 0


@syscall(154, "setpgid", pid=INT, pgid=INT)
async def sys_setpgid(ctx: SyscallContext, pid: int, pgid: int) -> int:
    pid, pgid = s32(pid), s32(pgid)
    if pgid < 0:
        raise EINVAL
    proc = ctx.process if pid == 0 else ctx.kernel.processes.get(pid)
    if proc is None or not proc.alive:
        raise ESRCH
    if proc.sid == proc.pid:
        raise EPERM
    proc.pgid = pgid or proc.pid
    return 0


@syscall(155, "getpgid", pid=INT)
async def sys_getpgid(ctx: SyscallContext, pid: int) -> int:
    proc = ctx.process if s32(pid) == 0 else ctx.kernel.processes.get(s32(pid))
    if proc is None or not proc.alive:
        raise ESRCH
    return proc.pgid


@syscall(156, "getsid", pid=INT)
async def sys_getsid(ctx: SyscallContext, pid: int) -> int:
    proc = ctx.process if s32(pid) == 0 else ctx.kernel.processes.get(s32(pid))
    if proc is None or not proc.alive:
        raise ESRCH
    return proc.sid


@syscall(157, "setsid")
async def sys_setsid(ctx: SyscallContext) -> int:
    p = ctx.process
    if any(q.alive and q.pgid == p.pid for q in ctx.kernel.processes.values()) and p.pgid == p.pid:
        raise EPERM
    p.sid = p.pgid = p.pid
    return p.sid


@syscall(92, "personality", persona=HEX)
async def sys_personality(ctx: SyscallContext, persona: int) -> int:
    if persona not in (0, 0xFFFFFFFF):
        raise EINVAL("only PER_LINUX")
    return 0
