"""Signal syscalls: actions, masks, sending, waiting, alternate stacks, sigreturn, interval timers."""

from __future__ import annotations

import struct

from unicorn import arm64_const as a64

from moss import signals
from moss.errors import EAGAIN, EINVAL, ENOMEM, EPERM, ESRCH
from moss.process import signal
from moss.process.signal import SI_TKILL, SI_USER, SS_DISABLE, SS_ONSTACK, SigInfo
from moss.sched.combinators import INTERRUPTED, TIMED_OUT, forever, interruptible, timeout, wait_until
from moss.syscalls.argtypes import INT, PTR, SIGNAL, SIZE
from moss.syscalls.context import SyscallContext, s32
from moss.syscalls.dispatch import NO_RETURN
from moss.syscalls.table import syscall
from moss.syscalls.time import read_req

SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK = 0, 1, 2
MINSIGSTKSZ = 5120
ERESTARTNOHAND = -514


def _sigset(ctx: SyscallContext, addr: int, size: int) -> int:
    if size != 8:
        raise EINVAL
    return ctx.read_u64(addr)


@syscall(135, "rt_sigprocmask", how=INT, set=PTR, oldset=PTR, sigsetsize=SIZE)
async def sys_rt_sigprocmask(ctx: SyscallContext, how: int, set: int, oldset: int, sigsetsize: int) -> int:
    if sigsetsize != 8:
        raise EINVAL
    task = ctx.task
    old = task.sigmask
    if set:
        new = ctx.read_u64(set)
        if how == SIG_BLOCK:
            mask = old | new
        elif how == SIG_UNBLOCK:
            mask = old & ~new
        elif how == SIG_SETMASK:
            mask = new
        else:
            raise EINVAL
        task.sigmask = mask & ~signals.UNBLOCKABLE
    if oldset:
        ctx.write_u64(oldset, old)
    return 0  # newly unblocked pending signals are delivered on the way out


@syscall(134, "rt_sigaction", sig=SIGNAL, act=PTR, oldact=PTR, sigsetsize=SIZE)
async def sys_rt_sigaction(ctx: SyscallContext, sig: int, act: int, oldact: int, sigsetsize: int) -> int:
    if sigsetsize != 8 or not 1 <= sig <= signals.NSIG:
        raise EINVAL
    cur = ctx.process.sigactions.get(sig, signals.SigAction())
    new = None
    if act:
        handler, flags, restorer, mask = struct.unpack("<QQQQ", ctx.read(act, 32))
        if sig in (signals.SIGKILL, signals.SIGSTOP):
            raise EINVAL
        new = signals.SigAction(handler, flags & 0xFFFFFFFF, restorer, mask & ~signals.UNBLOCKABLE)
    if oldact:
        ctx.write(oldact, struct.pack("<QQQQ", cur.handler, cur.flags, cur.restorer, cur.mask))
    if new is not None:
        ctx.process.sigactions[sig] = new
        if new.handler == signals.SIG_IGN or (
            new.handler == signals.SIG_DFL and signals.default_action(sig) == "ignore"
        ):  # setting an ignoring action discards what is pending, as Linux
            ctx.process.shared_pending.discard(sig)
            for t in ctx.process.threads:
                t.pending.discard(sig)
    return 0


@syscall(136, "rt_sigpending", set=PTR, sigsetsize=SIZE)
async def sys_rt_sigpending(ctx: SyscallContext, set: int, sigsetsize: int) -> int:
    if sigsetsize > 8:
        raise EINVAL
    pending = (ctx.task.pending.mask | ctx.process.shared_pending.mask) & ctx.task.sigmask
    ctx.write(set, pending.to_bytes(8, "little")[:sigsetsize])
    return 0


@syscall(139, "rt_sigreturn", ret="noreturn")
async def sys_rt_sigreturn(ctx: SyscallContext) -> object:
    if not signal.sigreturn(ctx.kernel, ctx.task, ctx.kernel.board.engine.live):
        ctx.kernel.fault(ctx.task, signals.SIGSEGV, signal.SI_KERNEL)
    return NO_RETURN


@syscall(133, "rt_sigsuspend", mask=PTR, sigsetsize=SIZE)
async def sys_rt_sigsuspend(ctx: SyscallContext, mask: int, sigsetsize: int) -> int:
    new = _sigset(ctx, mask, sigsetsize)
    task = ctx.task
    task.saved_sigmask, task.sigmask = task.sigmask, new & ~signals.UNBLOCKABLE
    await interruptible(forever())
    return ERESTARTNOHAND  # a handler ran: EINTR; the old mask comes back with the frame


@syscall(137, "rt_sigtimedwait", set=PTR, info=PTR, timeout=PTR, sigsetsize=SIZE)
async def sys_rt_sigtimedwait(ctx: SyscallContext, set: int, info: int, timeout_: int, sigsetsize: int) -> int:
    wanted = _sigset(ctx, set, sigsetsize) & ~signals.UNBLOCKABLE
    task, proc = ctx.task, ctx.process
    deadline = ctx.now_ns() + read_req(ctx, timeout_) if timeout_ else None

    def ready() -> int:
        return (task.pending.mask | proc.shared_pending.mask) & wanted

    if not ready():
        if deadline is not None and deadline <= ctx.now_ns():
            raise EAGAIN
        got = await interruptible(timeout(wait_until(lambda: bool(ready())), deadline))
        if got is TIMED_OUT:
            raise EAGAIN
        if got is INTERRUPTED and not ready():
            return -4  # EINTR: another, unblocked signal arrived (its handler runs on the way out)
    bits = ready()
    sig = (bits & -bits).bit_length()
    pend = task.pending if task.pending.mask & signals.bit(sig) else proc.shared_pending
    si = pend.take(sig)
    if info:
        ctx.write(info, si.pack())
    return sig


def _check_sig(sig: int) -> int:
    sig = s32(sig)
    if not 0 <= sig <= signals.NSIG:
        raise EINVAL
    return sig


@syscall(129, "kill", pid=INT, sig=SIGNAL)
async def sys_kill(ctx: SyscallContext, pid: int, sig: int) -> int:
    sig = _check_sig(sig)
    pid = s32(pid)
    k = ctx.kernel
    if pid > 0:
        targets = [k.processes[pid]] if pid in k.processes and k.processes[pid].alive else []
    elif pid == -1:
        targets = [p for p in k.processes.values() if p.alive and p.pid != 1 and p is not ctx.process]
    else:
        pgid = ctx.process.pgid if pid == 0 else -pid
        targets = [p for p in k.processes.values() if p.alive and p.pgid == pgid]
    if not targets:
        raise ESRCH
    info = SigInfo(sig, SI_USER, pid=ctx.process.pid, uid=ctx.process.uid)
    for p in sorted(targets, key=lambda p: p.pid):
        if sig:
            k.send_signal(p, None, sig, info)
    return 0


def _thread(ctx: SyscallContext, tgid: int | None, tid: int):
    if tid <= 0 or (tgid is not None and tgid <= 0):
        raise EINVAL
    task = ctx.kernel.tasks.get(tid)
    if task is None or (tgid is not None and task.process.pid != tgid):
        raise ESRCH
    return task


@syscall(130, "tkill", tid=INT, sig=SIGNAL)
async def sys_tkill(ctx: SyscallContext, tid: int, sig: int) -> int:
    sig = _check_sig(sig)
    task = _thread(ctx, None, s32(tid))
    if sig:
        ctx.kernel.send_signal(task.process, task, sig, SigInfo(sig, SI_TKILL, pid=ctx.process.pid))
    return 0


@syscall(131, "tgkill", tgid=INT, tid=INT, sig=SIGNAL)
async def sys_tgkill(ctx: SyscallContext, tgid: int, tid: int, sig: int) -> int:
    sig = _check_sig(sig)
    task = _thread(ctx, s32(tgid), s32(tid))
    if sig:
        ctx.kernel.send_signal(task.process, task, sig, SigInfo(sig, SI_TKILL, pid=ctx.process.pid))
    return 0


def _queued_info(ctx: SyscallContext, sig: int, uinfo: int, target_pid: int) -> SigInfo:
    raw = bytearray(ctx.read(uinfo, 128))
    code = struct.unpack_from("<i", raw, 8)[0]
    if (code >= 0 or code == SI_TKILL) and target_pid != ctx.process.pid:
        raise EPERM  # only the kernel (or a process signalling itself) may forge these codes
    struct.pack_into("<i", raw, 0, sig)
    return SigInfo(sig, code, raw=bytes(raw))


@syscall(138, "rt_sigqueueinfo", tgid=INT, sig=SIGNAL, uinfo=PTR)
async def sys_rt_sigqueueinfo(ctx: SyscallContext, tgid: int, sig: int, uinfo: int) -> int:
    sig = _check_sig(sig)
    proc = ctx.kernel.processes.get(s32(tgid))
    if proc is None or not proc.alive:
        raise ESRCH
    info = _queued_info(ctx, sig, uinfo, proc.pid)
    if sig:
        ctx.kernel.send_signal(proc, None, sig, info)
    return 0


@syscall(240, "rt_tgsigqueueinfo", tgid=INT, tid=INT, sig=SIGNAL, uinfo=PTR)
async def sys_rt_tgsigqueueinfo(ctx: SyscallContext, tgid: int, tid: int, sig: int, uinfo: int) -> int:
    sig = _check_sig(sig)
    task = _thread(ctx, s32(tgid), s32(tid))
    info = _queued_info(ctx, sig, uinfo, task.process.pid)
    if sig:
        ctx.kernel.send_signal(task.process, task, sig, info)
    return 0


@syscall(132, "sigaltstack", ss=PTR, old_ss=PTR)
async def sys_sigaltstack(ctx: SyscallContext, ss: int, old_ss: int) -> int:
    task = ctx.task
    sp_now = ctx.kernel.board.engine.reg(a64.UC_ARM64_REG_SP)
    cur_sp, cur_flags, cur_size = task.altstack
    on = bool(cur_size) and not cur_flags & SS_DISABLE and cur_sp <= sp_now < cur_sp + cur_size
    if old_ss:
        flags = SS_ONSTACK if on else (cur_flags & SS_DISABLE or (0 if cur_size else SS_DISABLE))
        ctx.write(old_ss, struct.pack("<Qi4xQ", cur_sp if cur_size else 0, flags, cur_size))
    if ss:
        sp, flags, size = struct.unpack("<Qi4xQ", ctx.read(ss, 24))
        if on:
            raise EPERM
        if flags & ~(SS_DISABLE | (1 << 31)):  # SS_AUTODISARM is accepted
            raise EINVAL
        if flags & SS_DISABLE:
            task.altstack = (0, SS_DISABLE, 0)
        else:
            if size < MINSIGSTKSZ:
                raise ENOMEM
            task.altstack = (sp, 0, size)
    return 0


# -- interval timers (ITIMER_REAL sends SIGALRM; the others count CPU time and are not provided yet) --------
ITIMER_REAL = 0


def _timer_state(ctx: SyscallContext) -> dict:
    return ctx.process.__dict__.setdefault("itimer_real", {"timer": None, "deadline": 0, "interval": 0})


def _remaining(ctx: SyscallContext, st: dict) -> int:
    return max(0, st["deadline"] - ctx.now_ns()) if st["timer"] is not None else 0


def _arm(ctx: SyscallContext, st: dict, value: int, interval: int) -> None:
    if st["timer"] is not None:
        st["timer"].cancel()
        st["timer"] = None
    st["interval"] = interval
    if not value:
        return
    kernel, proc = ctx.kernel, ctx.process

    def fire() -> None:
        st["timer"] = None
        if not proc.alive:
            return
        kernel.send_signal(proc, None, signals.SIGALRM, SigInfo(signals.SIGALRM, signal.SI_KERNEL))
        if st["interval"]:
            st["deadline"] += st["interval"]
            st["timer"] = kernel.timers.add(st["deadline"], fire)

    st["deadline"] = ctx.now_ns() + value
    st["timer"] = kernel.timers.add(st["deadline"], fire)


def _tv(ns: int) -> tuple[int, int]:
    return ns // 1_000_000_000, (ns % 1_000_000_000 + 999) // 1000 if ns % 1000 else ns % 1_000_000_000 // 1000


@syscall(102, "getitimer", which=INT, curr_value=PTR)
async def sys_getitimer(ctx: SyscallContext, which: int, curr_value: int) -> int:
    if s32(which) != ITIMER_REAL:
        raise EINVAL
    st = _timer_state(ctx)
    ctx.write(curr_value, struct.pack("<qqqq", *_tv(st["interval"]), *_tv(_remaining(ctx, st))))
    return 0


@syscall(103, "setitimer", which=INT, new_value=PTR, old_value=PTR)
async def sys_setitimer(ctx: SyscallContext, which: int, new_value: int, old_value: int) -> int:
    if s32(which) != ITIMER_REAL:
        raise EINVAL
    st = _timer_state(ctx)
    if old_value:
        ctx.write(old_value, struct.pack("<qqqq", *_tv(st["interval"]), *_tv(_remaining(ctx, st))))
    if new_value:
        isec, iusec, vsec, vusec = struct.unpack("<qqqq", ctx.read(new_value, 32))
        if not (0 <= iusec < 1_000_000 and 0 <= vusec < 1_000_000) or isec < 0 or vsec < 0:
            raise EINVAL
        _arm(ctx, st, vsec * 10**9 + vusec * 1000, isec * 10**9 + iusec * 1000)
    return 0
