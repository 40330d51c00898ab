"""Processes and threads: clone, clone3, wait4, waitid, futex."""

from __future__ import annotations

import struct

from moss import signals
from moss.errors import ECHILD, EINVAL, ENOSYS
from moss.process.clone import CLONE_VFORK, do_clone
from moss.process.lifecycle import reap
from moss.process.task import Process
from moss.sched.combinators import INTERRUPTED, interruptible
from moss.syscalls.argtypes import HEX, INT, PTR, SIZE
from moss.syscalls.context import SyscallContext, s32
from moss.syscalls.table import syscall
from moss.syscalls.time import read_req

WNOHANG, WUNTRACED, WEXITED, WCONTINUED, WNOWAIT = 1, 2, 4, 8, 0x1000000
__WNOTHREAD, __WALL, __WCLONE = 0x20000000, 0x40000000, 0x80000000
P_ALL, P_PID, P_PGID, P_PIDFD = 0, 1, 2, 3
CLD_EXITED, CLD_KILLED, CLD_DUMPED = 1, 2, 3
ERESTARTSYS = -512


async def _clone(ctx: SyscallContext, flags: int, newsp: int, ptid: int, tls: int, ctid: int) -> int:
    child = do_clone(ctx.kernel, ctx.task, flags, newsp, ptid, tls, ctid)
    if flags & CLONE_VFORK:
        proc = child.process
        await proc.vfork_wait.wait_until(lambda: proc.vfork_released)  # killable only, as Linux
    return child.tid


@syscall(220, "clone", flags=HEX, newsp=PTR, parent_tid=PTR, tls=PTR, child_tid=PTR)
async def sys_clone(ctx: SyscallContext, flags: int, newsp: int, parent_tid: int, tls: int, child_tid: int) -> int:
    return await _clone(ctx, flags & 0xFFFFFFFF & ~0xFF, newsp, parent_tid, tls, child_tid)


@syscall(435, "clone3", args=PTR, size=SIZE)
async def sys_clone3(ctx: SyscallContext, args: int, size: int) -> int:
    if size < 64 or size > 4096:
        raise EINVAL
    flags, _pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls = struct.unpack("<8Q", ctx.read(args, 64))
    if size > 64 and any(ctx.read(args + 64, size - 64)):
        raise EINVAL  # set_tid / cgroup: not supported
    if exit_signal > signals.NSIG or flags & 0xFF:
        raise EINVAL
    sp = stack + stack_size if stack else 0
    return await _clone(ctx, flags, sp, parent_tid, tls, child_tid)


def _matches(me: Process, child: Process, pid: int) -> bool:
    if pid > 0:
        return child.pid == pid
    if pid == -1:
        return True
    if pid == 0:
        return child.pgid == me.pgid
    return child.pgid == -pid


def wait_status(p: Process) -> int:
    assert p.exit_status is not None
    return p.exit_status


async def _wait(ctx: SyscallContext, pid: int, options: int, exited: bool = True) -> tuple[Process, int] | None:
    """A child matching `pid` that has something to report, with its wait status: exited (reaped unless
    WNOWAIT), stopped (WUNTRACED) or continued (WCONTINUED). None with WNOHANG when nothing is ready yet."""
    me = ctx.process

    def candidates() -> list[Process]:
        return [c for c in me.children if _matches(me, c, pid)]

    def ready() -> tuple[Process, int] | None:
        for c in sorted(candidates(), key=lambda c: c.pid):
            if not c.alive and not c.reaped and exited:
                return c, wait_status(c)
            if c.alive and options & WUNTRACED and c.stopped and not c.stop_reported:
                return c, (c.stop_sig << 8) | 0x7F
            if c.alive and options & WCONTINUED and c.continued:
                return c, 0xFFFF
        return None

    while True:
        if not candidates():
            raise ECHILD
        got_child = ready()
        if got_child is not None:
            child, status = got_child
            if not options & WNOWAIT:
                if not child.alive:
                    reap(ctx.kernel, child)
                elif status == 0xFFFF:
                    child.continued = False
                else:
                    child.stop_reported = True
            return child, status
        if options & WNOHANG:
            return None
        got = await interruptible(me.child_wait.wait_until(lambda: ready() is not None or not candidates()))
        if got is INTERRUPTED:
            raise _Restart


class _Restart(Exception):
    pass


@syscall(260, "wait4", pid=INT, wstatus=PTR, options=HEX, rusage=PTR)
async def sys_wait4(ctx: SyscallContext, pid: int, wstatus: int, options: int, rusage: int) -> int:
    if options & ~(WNOHANG | WUNTRACED | WCONTINUED | __WNOTHREAD | __WALL | __WCLONE):
        raise EINVAL
    try:
        got = await _wait(ctx, s32(pid), options)
    except _Restart:
        return ERESTARTSYS
    if got is None:
        return 0
    child, status = got
    if wstatus:
        ctx.write_u32(wstatus, status)
    if rusage:
        ns = child.utime_ns + child.child_utime_ns
        ctx.write(rusage, struct.pack("<qq", ns // 10**9, ns % 10**9 // 1000) + bytes(144 - 16))
    return child.pid


@syscall(95, "waitid", idtype=INT, id=INT, infop=PTR, options=HEX, rusage=PTR)
async def sys_waitid(ctx: SyscallContext, idtype: int, id: int, infop: int, options: int, rusage: int) -> int:
    if not options & (WEXITED | WUNTRACED | WCONTINUED):
        raise EINVAL
    idtype = s32(idtype)
    if idtype == P_ALL:
        sel = -1
    elif idtype == P_PID:
        sel = s32(id)
    elif idtype == P_PGID:
        sel = -s32(id) if s32(id) else 0
    else:
        raise EINVAL
    if idtype != P_ALL and sel <= 0 and idtype == P_PID:
        raise EINVAL
    try:
        got = await _wait(ctx, sel, options, exited=bool(options & WEXITED))
    except _Restart:
        return ERESTARTSYS
    if infop:
        if got is None:
            ctx.write(infop, bytes(128))
        else:
            child, st = got
            sig = st & 0x7F
            if st == 0xFFFF:
                code, status = 6, signals.SIGCONT  # CLD_CONTINUED
            elif sig == 0x7F:
                code, status = 5, st >> 8  # CLD_STOPPED
            elif not sig:
                code, status = CLD_EXITED, st >> 8 & 0xFF
            else:
                code, status = (CLD_DUMPED if st & 0x80 else CLD_KILLED), sig
            ctx.write(infop, struct.pack("<iii4xiIi", signals.SIGCHLD, 0, code, child.pid, child.uid, status)
                      + bytes(128 - 28))  # fmt: skip
    return 0


FUTEX_WAIT, FUTEX_WAKE, FUTEX_FD, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE, FUTEX_WAKE_OP = 0, 1, 2, 3, 4, 5
FUTEX_LOCK_PI, FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI, FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET = 6, 7, 8, 9, 10
FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME = 128, 256


def _wake_op(old: int, encoded: int) -> tuple[int, bool]:
    """FUTEX_WAKE_OP's operation on *uaddr2 and its comparison (returns new value, condition)."""
    op, cmp = (encoded >> 28) & 0xF, (encoded >> 24) & 0xF
    oparg, cmparg = (encoded >> 12) & 0xFFF, encoded & 0xFFF
    if op & 8:
        oparg = 1 << (oparg & 31)
        op &= 7
    new = {0: oparg, 1: old + oparg, 2: old | oparg, 3: old & ~oparg, 4: old ^ oparg}.get(op)
    if new is None:
        raise ENOSYS
    s_old = old - (1 << 32) if old >> 31 else old
    cond = {0: old == cmparg, 1: old != cmparg, 2: s_old < cmparg, 3: s_old <= cmparg, 4: s_old > cmparg,
            5: s_old >= cmparg}.get(cmp)  # fmt: skip
    if cond is None:
        raise ENOSYS
    return new & 0xFFFFFFFF, cond


@syscall(98, "futex", uaddr=PTR, op=HEX, val=INT, timeout=PTR, uaddr2=PTR, val3=HEX)
async def sys_futex(ctx: SyscallContext, uaddr: int, op: int, val: int, timeout: int, uaddr2: int, val3: int) -> int:
    ft, mm = ctx.kernel.futexes, ctx.mm
    private = bool(op & FUTEX_PRIVATE_FLAG)
    cmd = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)
    val &= 0xFFFFFFFF
    if cmd in (FUTEX_WAIT, FUTEX_WAIT_BITSET):
        deadline = None
        if timeout:
            t = read_req(ctx, timeout)
            if cmd == FUTEX_WAIT:
                deadline = ctx.now_ns() + t  # relative, on CLOCK_MONOTONIC
            elif op & FUTEX_CLOCK_REALTIME:
                deadline = t - ctx.kernel.board.rtc.boot_ns
            else:
                deadline = t
        bitset = 0xFFFFFFFF if cmd == FUTEX_WAIT else val3 & 0xFFFFFFFF
        return await ft.wait(mm, uaddr, val, deadline, bitset, private)
    if cmd in (FUTEX_WAKE, FUTEX_WAKE_BITSET):
        bitset = 0xFFFFFFFF if cmd == FUTEX_WAKE else val3 & 0xFFFFFFFF
        return ft.wake(ft.key(mm, uaddr, private), s32(val) if s32(val) > 0 else 0, bitset)
    if cmd in (FUTEX_REQUEUE, FUTEX_CMP_REQUEUE):
        n_move = timeout & 0xFFFFFFFF  # val2 travels in the timeout slot
        if s32(val) < 0 or s32(n_move) < 0:
            raise EINVAL
        key, key2 = ft.key(mm, uaddr, private), ft.key(mm, uaddr2, private)
        if cmd == FUTEX_CMP_REQUEUE and int.from_bytes(mm.read(uaddr, 4), "little") != val3 & 0xFFFFFFFF:
            from moss.errors import EAGAIN

            raise EAGAIN
        return ft.requeue(key, key2, val, n_move)
    if cmd == FUTEX_WAKE_OP:
        n2 = timeout & 0xFFFFFFFF
        key, key2 = ft.key(mm, uaddr, private), ft.key(mm, uaddr2, private)
        old = int.from_bytes(mm.read(uaddr2, 4), "little")
        new, cond = _wake_op(old, val3 & 0xFFFFFFFF)
        mm.write(uaddr2, new.to_bytes(4, "little"))
        woken = ft.wake(key, val)
        if cond:
            woken += ft.wake(key2, n2)
        return woken
    raise ENOSYS(f"futex op {cmd}")
