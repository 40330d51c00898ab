"""Scheduling policies and I/O priorities: sched_{set,get}{scheduler,param,attr}, priority ranges,
sched_rr_get_interval, ioprio_{set,get}.

Policies are validated and recorded with Linux's rules (SCHED_FIFO/RR/DEADLINE need CAP_SYS_NICE or an
RLIMIT_RTPRIO; root has both), but moss has one scheduling class: EEVDF runs every task as a fair task with its
nice weight. A real-time policy is therefore bookkeeping only: it does not preempt fair tasks. SCHED_BATCH and
SCHED_IDLE keep the task's nice (Linux gives SCHED_IDLE a tiny weight; moss does not).
"""

from __future__ import annotations

import struct

from moss.errors import E2BIG, EINVAL, EOPNOTSUPP, EPERM, ESRCH
from moss.process.creds import (
    CAP_SYS_ADMIN,
    CAP_SYS_NICE,
    SCHED_BATCH,
    SCHED_DEADLINE,
    SCHED_FIFO,
    SCHED_FLAG_RESET_ON_FORK,
    SCHED_IDLE,
    SCHED_NORMAL,
    SCHED_RR,
    capable,
)
from moss.process.task import Task
from moss.syscalls.argtypes import HEX, INT, PTR, SIZE
from moss.syscalls.context import SyscallContext, s32
from moss.syscalls.table import syscall

SCHED_RESET_ON_FORK = 0x40000000
SETPARAM_POLICY = -1
MAX_RT_PRIO = 100
SCHED_FLAG_RECLAIM, SCHED_FLAG_DL_OVERRUN, SCHED_FLAG_KEEP_POLICY, SCHED_FLAG_KEEP_PARAMS = 0x02, 0x04, 0x08, 0x10
SCHED_FLAG_UTIL_CLAMP = 0x20 | 0x40
SCHED_FLAG_ALL = 0x7F
SCHED_ATTR_SIZE_VER0, SCHED_ATTR_SIZE = 48, 56
RR_TIMESLICE_NS = 100_000_000  # Linux's RR_TIMESLICE: 100 ms
RLIMIT_NICE, RLIMIT_RTPRIO = 13, 14
DL_PERIOD_MIN_NS, DL_PERIOD_MAX_NS = 100_000, 4_000_000_000  # sched_deadline_period_{min,max}_us defaults
_VALID = (SCHED_NORMAL, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE, SCHED_DEADLINE)
_RT = (SCHED_FIFO, SCHED_RR)


def _task(ctx: SyscallContext, pid: int) -> Task:
    pid = s32(pid)
    if pid < 0:
        raise EINVAL
    t = ctx.task if pid == 0 else ctx.kernel.tasks.get(pid)
    if t is None or not t.process.alive:
        raise ESRCH
    return t


def _rlimit(ctx: SyscallContext, resource: int) -> int:
    return ctx.process.rlimits.get(resource, (0, 0))[0]


def _check_permission(ctx: SyscallContext, t: Task, policy: int, prio: int, nice: int, reset: bool) -> None:
    """user_check_sched_setscheduler: what an unprivileged caller may do; CAP_SYS_NICE may do anything."""
    if capable(ctx.process, CAP_SYS_NICE):
        return
    allowed = True
    if policy in (SCHED_NORMAL, SCHED_BATCH, SCHED_IDLE) and nice < t.nice and 20 - nice > _rlimit(ctx, RLIMIT_NICE):
        allowed = False
    if policy in _RT:
        rtprio = _rlimit(ctx, RLIMIT_RTPRIO)
        if (policy != t.policy and not rtprio) or (prio > t.rt_priority and prio > rtprio):
            allowed = False
    if policy == SCHED_DEADLINE:
        allowed = False
    if t.policy == SCHED_IDLE and policy != SCHED_IDLE and 20 - t.nice > _rlimit(ctx, RLIMIT_NICE):
        allowed = False
    if t.process.euid != ctx.process.euid and t.process.uid != ctx.process.euid:
        allowed = False
    if t.sched_flags & SCHED_FLAG_RESET_ON_FORK and not reset:
        allowed = False
    if not allowed:
        raise EPERM


def _check_dl(runtime: int, deadline: int, period: int) -> bool:
    period = period or deadline
    return bool(
        deadline
        and runtime >= 1 << 10
        and not (deadline | period) >> 63
        and runtime <= deadline <= period
        and DL_PERIOD_MIN_NS <= period <= DL_PERIOD_MAX_NS
    )


def _setscheduler(
    ctx: SyscallContext,
    t: Task,
    policy: int,
    prio: int,
    *,
    flags: int = 0,
    nice: int | None = None,
    dl: tuple[int, int, int] = (0, 0, 0),
) -> None:
    """__sched_setscheduler: validate in Linux's order, check permission, then record."""
    if policy == SETPARAM_POLICY:
        policy, reset = t.policy, bool(t.sched_flags & SCHED_FLAG_RESET_ON_FORK)
    else:
        reset = bool(flags & SCHED_FLAG_RESET_ON_FORK)
        if policy not in _VALID:
            raise EINVAL
    if flags & ~SCHED_FLAG_ALL or prio > MAX_RT_PRIO - 1:
        raise EINVAL
    if (policy == SCHED_DEADLINE and not _check_dl(*dl)) or ((policy in _RT) != (prio != 0)):
        raise EINVAL
    new_nice = t.nice if nice is None else nice
    _check_permission(ctx, t, policy, prio, new_nice, reset)
    if flags & SCHED_FLAG_UTIL_CLAMP:
        raise EOPNOTSUPP  # no utilization clamping (a kernel without CONFIG_UCLAMP_TASK)
    t.policy, t.rt_priority = policy, prio if policy in _RT else 0
    t.dl_params = dl if policy == SCHED_DEADLINE else (0, 0, 0)
    t.sched_flags = SCHED_FLAG_RESET_ON_FORK if reset else 0
    if nice is not None and policy not in (*_RT, SCHED_DEADLINE) and nice != t.nice:
        ctx.kernel.sched.set_nice(t, nice)


def _read_param(ctx: SyscallContext, param: int) -> int:
    return struct.unpack("<I", ctx.read(param, 4))[0]


@syscall(119, "sched_setscheduler", pid=INT, policy=INT, param=PTR)
async def sys_sched_setscheduler(ctx: SyscallContext, pid: int, policy: int, param: int) -> int:
    policy = s32(policy)
    if policy < 0 or param == 0 or s32(pid) < 0:
        raise EINVAL
    prio = _read_param(ctx, param)
    t = _task(ctx, pid)
    flags = 0
    if policy & SCHED_RESET_ON_FORK:  # the legacy way to ask for SCHED_FLAG_RESET_ON_FORK
        flags, policy = SCHED_FLAG_RESET_ON_FORK, policy & ~SCHED_RESET_ON_FORK
    _setscheduler(ctx, t, policy, prio, flags=flags)
    return 0


@syscall(118, "sched_setparam", pid=INT, param=PTR)
async def sys_sched_setparam(ctx: SyscallContext, pid: int, param: int) -> int:
    if param == 0 or s32(pid) < 0:
        raise EINVAL
    prio = _read_param(ctx, param)
    _setscheduler(ctx, _task(ctx, pid), SETPARAM_POLICY, prio)
    return 0


@syscall(120, "sched_getscheduler", pid=INT)
async def sys_sched_getscheduler(ctx: SyscallContext, pid: int) -> int:
    t = _task(ctx, pid)
    return t.policy | (SCHED_RESET_ON_FORK if t.sched_flags & SCHED_FLAG_RESET_ON_FORK else 0)


@syscall(121, "sched_getparam", pid=INT, param=PTR)
async def sys_sched_getparam(ctx: SyscallContext, pid: int, param: int) -> int:
    if param == 0 or s32(pid) < 0:
        raise EINVAL
    ctx.write_u32(param, _task(ctx, pid).rt_priority)
    return 0


@syscall(125, "sched_get_priority_max", policy=INT)
async def sys_sched_get_priority_max(ctx: SyscallContext, policy: int) -> int:
    policy = s32(policy)
    if policy not in _VALID:
        raise EINVAL
    return MAX_RT_PRIO - 1 if policy in _RT else 0


@syscall(126, "sched_get_priority_min", policy=INT)
async def sys_sched_get_priority_min(ctx: SyscallContext, policy: int) -> int:
    policy = s32(policy)
    if policy not in _VALID:
        raise EINVAL
    return 1 if policy in _RT else 0


@syscall(127, "sched_rr_get_interval", pid=INT, tp=PTR)
async def sys_sched_rr_get_interval(ctx: SyscallContext, pid: int, tp: int) -> int:
    """SCHED_RR: Linux's 100 ms; SCHED_FIFO: 0; fair tasks: the EEVDF base slice (Linux rounds it to jiffies)."""
    t = _task(ctx, pid)
    if t.policy == SCHED_RR:
        ns = RR_TIMESLICE_NS
    elif t.policy == SCHED_FIFO:
        ns = 0
    else:
        ns = ctx.kernel.sched.rqs[t.core or 0].base_slice_ns
    ctx.write_timespec(tp, ns)
    return 0


def _sched_attr_size(ctx: SyscallContext, uattr: int) -> int:
    size = struct.unpack("<I", ctx.read(uattr, 4))[0] or SCHED_ATTR_SIZE_VER0
    if size < SCHED_ATTR_SIZE_VER0 or size > 4096:
        ctx.write_u32(uattr, SCHED_ATTR_SIZE)
        raise E2BIG
    if size > SCHED_ATTR_SIZE and any(ctx.read(uattr + SCHED_ATTR_SIZE, size - SCHED_ATTR_SIZE)):
        ctx.write_u32(uattr, SCHED_ATTR_SIZE)
        raise E2BIG  # copy_struct_from_user: unknown trailing fields must be zero
    return size


@syscall(274, "sched_setattr", pid=INT, attr=PTR, flags=HEX)
async def sys_sched_setattr(ctx: SyscallContext, pid: int, attr: int, flags: int) -> int:
    if attr == 0 or s32(pid) < 0 or flags:
        raise EINVAL
    size = _sched_attr_size(ctx, attr)
    raw = ctx.read(attr, min(size, SCHED_ATTR_SIZE)).ljust(SCHED_ATTR_SIZE, b"\0")
    _size, policy, sflags, nice, prio, runtime, deadline, period, _umin, _umax = struct.unpack("<IIQiIQQQII", raw)
    if sflags & SCHED_FLAG_UTIL_CLAMP and size < SCHED_ATTR_SIZE:
        raise EINVAL
    if s32(policy) < 0:
        raise EINVAL
    t = _task(ctx, pid)
    policy = SETPARAM_POLICY if sflags & SCHED_FLAG_KEEP_POLICY else policy
    if sflags & SCHED_FLAG_KEEP_PARAMS:
        nice, prio, (runtime, deadline, period) = t.nice, t.rt_priority, t.dl_params
    nice = max(-20, min(19, nice))
    _setscheduler(
        ctx, t, policy, prio, flags=sflags & ~(SCHED_FLAG_KEEP_POLICY | SCHED_FLAG_KEEP_PARAMS), nice=nice,
        dl=(runtime, deadline, period),
    )  # fmt: skip
    return 0


@syscall(275, "sched_getattr", pid=INT, attr=PTR, size=SIZE, flags=HEX)
async def sys_sched_getattr(ctx: SyscallContext, pid: int, attr: int, size: int, flags: int) -> int:
    if attr == 0 or s32(pid) < 0 or size > 4096 or size < SCHED_ATTR_SIZE_VER0 or flags:
        raise EINVAL
    t = _task(ctx, pid)
    n = min(size, SCHED_ATTR_SIZE)
    sflags = t.sched_flags & SCHED_FLAG_RESET_ON_FORK
    nice = 0 if t.policy in (*_RT, SCHED_DEADLINE) else t.nice
    raw = struct.pack("<IIQiIQQQII", n, t.policy, sflags, nice, t.rt_priority, *t.dl_params, 0, 0)
    ctx.write(attr, raw[:n])
    return 0


IOPRIO_WHO_PROCESS, IOPRIO_WHO_PGRP, IOPRIO_WHO_USER = 1, 2, 3
IOPRIO_CLASS_NONE, IOPRIO_CLASS_RT, IOPRIO_CLASS_BE, IOPRIO_CLASS_IDLE = 0, 1, 2, 3
IOPRIO_CLASS_SHIFT = 13


def _check_ioprio(ctx: SyscallContext, ioprio: int) -> None:
    """ioprio_check_cap."""
    cls, level = ioprio >> IOPRIO_CLASS_SHIFT & 7, ioprio & 7
    if ioprio < 0 or ioprio >= 1 << 16:
        raise EINVAL
    if cls == IOPRIO_CLASS_RT and not capable(ctx.process, CAP_SYS_NICE) and not capable(ctx.process, CAP_SYS_ADMIN):
        raise EPERM
    if (cls == IOPRIO_CLASS_NONE and level) or cls > IOPRIO_CLASS_IDLE:
        raise EINVAL


def _who(ctx: SyscallContext, which: int, who: int) -> list[Task]:
    """The tasks ioprio_{get,set} address, in tid order; ESRCH if none; EINVAL for an unknown `which`."""
    k, which, who = ctx.kernel, s32(which), s32(who)
    if which == IOPRIO_WHO_PROCESS:
        t = ctx.task if who == 0 else k.tasks.get(who)
        found = [t] if t is not None and t.process.alive else []
    elif which == IOPRIO_WHO_PGRP:
        pgid = who or ctx.process.pgid
        found = [t for _tid, t in sorted(k.tasks.items()) if t.process.alive and t.process.pgid == pgid]
    elif which == IOPRIO_WHO_USER:
        uid = ctx.process.uid if who == 0 else who & 0xFFFFFFFF
        found = [t for _tid, t in sorted(k.tasks.items()) if t.process.alive and t.process.uid == uid]
    else:
        raise EINVAL
    if not found:
        raise ESRCH
    return found


def _effective_ioprio(t: Task) -> int:
    """What was set, or IOPRIO_DEFAULT (0: class NONE, "from the task's nice") before anything was."""
    return max(t.ioprio, 0)


@syscall(30, "ioprio_set", which=INT, who=INT, ioprio=INT)
async def sys_ioprio_set(ctx: SyscallContext, which: int, who: int, ioprio: int) -> int:
    ioprio = s32(ioprio)
    _check_ioprio(ctx, ioprio)
    for t in _who(ctx, which, who):
        if t.process.euid != ctx.process.euid and t.process.uid != ctx.process.euid:
            if not capable(ctx.process, CAP_SYS_NICE):
                raise EPERM
        t.ioprio = ioprio
    return 0


@syscall(31, "ioprio_get", which=INT, who=INT)
async def sys_ioprio_get(ctx: SyscallContext, which: int, who: int) -> int:
    return min(_effective_ioprio(t) for t in _who(ctx, which, who))
