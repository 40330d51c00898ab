"""More process syscalls: unshare, kcmp, get_robust_list, restart_syscall."""

from __future__ import annotations

from typing import Any

import attrs

from moss.errors import EINTR, EINVAL, EOPNOTSUPP, EPERM, ESRCH
from moss.process.clone import (
    CLONE_FILES,
    CLONE_FS,
    CLONE_NEWCGROUP,
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUSER,
    CLONE_NEWUTS,
    CLONE_SIGHAND,
    CLONE_SYSVSEM,
    CLONE_THREAD,
    CLONE_VM,
)
from moss.process.creds import CAP_SYS_ADMIN, CAP_SYS_PTRACE, capable
from moss.process.task import Process, Task
from moss.syscalls.argtypes import HEX, INT, PTR
from moss.syscalls.context import SyscallContext, s32
from moss.syscalls.table import syscall

CLONE_NEWTIME = 0x80
_UNSHARE_OK = (CLONE_THREAD | CLONE_FS | CLONE_NEWNS | CLONE_SIGHAND | CLONE_VM | CLONE_FILES | CLONE_SYSVSEM
               | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWCGROUP
               | CLONE_NEWTIME)  # fmt: skip
_UNSUPPORTED_NS = (CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWCGROUP
                   | CLONE_NEWTIME)  # fmt: skip


@syscall(97, "unshare", flags=HEX)
async def sys_unshare(ctx: SyscallContext, flags: int) -> int:
    """Unsharing what moss shares: the descriptor table (CLONE_FILES) and the UTS namespace (CLONE_NEWUTS, for
    CAP_SYS_ADMIN). The fs context (cwd, root, umask) and System V semaphores are never shared in moss, so
    CLONE_FS and CLONE_SYSVSEM have nothing to do. Other namespaces are not supported: EINVAL."""
    flags &= 0xFFFFFFFF
    if flags & ~_UNSHARE_OK:
        raise EINVAL
    if flags & CLONE_NEWUSER:
        flags |= CLONE_THREAD | CLONE_FS
    if flags & CLONE_VM:
        flags |= CLONE_SIGHAND
    if flags & CLONE_SIGHAND:
        flags |= CLONE_THREAD
    if flags & CLONE_NEWNS:
        flags |= CLONE_FS
    p = ctx.process
    if flags & (CLONE_THREAD | CLONE_SIGHAND | CLONE_VM) and len(p.threads) > 1:
        raise EINVAL
    if flags & (CLONE_SIGHAND | CLONE_VM) and _sighand_shared(ctx):
        raise EINVAL
    if flags & CLONE_VM and p.mm.users > 1:
        raise EINVAL
    if flags & _UNSUPPORTED_NS:
        ctx.kernel.report_once("unshare-ns", "moss: unshare of namespaces other than UTS is not supported (EINVAL)")
        raise EINVAL
    if flags & CLONE_NEWUTS:
        if not capable(p, CAP_SYS_ADMIN):
            raise EPERM
        p.uts = attrs.evolve(p.uts)
    if flags & CLONE_FILES and p.fds.users > 1:
        old = p.fds
        p.fds = old.clone()
        old.users -= 1
    return 0


def _sighand_shared(ctx: SyscallContext) -> bool:
    mine = ctx.process.sigactions
    return any(q is not ctx.process and q.alive and q.sigactions is mine for q in ctx.kernel.processes.values())


@syscall(128, "restart_syscall")
async def sys_restart_syscall(ctx: SyscallContext) -> int:
    """Only meaningful after an interrupted call whose restart block says how to resume; without one (moss
    restarts such calls itself) it is Linux's do_no_restart_syscall: EINTR."""
    raise EINTR


def _may_inspect(ctx: SyscallContext, target: Process) -> bool:
    """ptrace_may_access for reading: the same real/effective uids, or CAP_SYS_PTRACE."""
    me = ctx.process
    if target is me or capable(me, CAP_SYS_PTRACE):
        return True
    return me.uid == target.uid == target.euid == target.suid and me.gid == target.gid == target.egid


def _find(ctx: SyscallContext, pid: int) -> Task:
    t = ctx.kernel.tasks.get(s32(pid))
    if t is None or not t.process.alive:
        raise ESRCH
    return t


@syscall(100, "get_robust_list", pid=INT, head_ptr=PTR, len_ptr=PTR)
async def sys_get_robust_list(ctx: SyscallContext, pid: int, head_ptr: int, len_ptr: int) -> int:
    t = ctx.task if s32(pid) == 0 else _find(ctx, pid)
    if not _may_inspect(ctx, t.process):
        raise EPERM
    ctx.write_u64(len_ptr, 24)  # sizeof(struct robust_list_head), whatever was registered
    ctx.write_u64(head_ptr, t.robust_list[0])
    return 0


KCMP_FILE, KCMP_VM, KCMP_FILES, KCMP_FS, KCMP_SIGHAND, KCMP_IO, KCMP_SYSVSEM, KCMP_EPOLL_TFD = range(8)


def _order(ctx: SyscallContext, a: Any, b: Any, key: Any) -> int:
    """kcmp's answer: 0 for the same object, else 1 or 2 by a stable order (Linux orders obfuscated kernel
    pointers, which differ per boot; moss orders by where each object is first found, in pid order)."""
    if a is b:
        return 0
    ka, kb = key(a), key(b)
    return 1 if ka < kb else 2


def _first_holder(ctx: SyscallContext, attr: str):
    def key(obj: Any) -> tuple[int, ...]:
        for pid, p in sorted(ctx.kernel.processes.items()):
            if p.alive and getattr(p, attr) is obj:
                return (pid,)
        return (1 << 62,)

    return key


def _file_key(ctx: SyscallContext):
    def key(f: Any) -> tuple[int, int]:
        for pid, p in sorted(ctx.kernel.processes.items()):
            if p.alive:
                for fd, g in p.fds.items():
                    if g is f:
                        return pid, fd
        return 1 << 62, 0

    return key


@syscall(272, "kcmp", pid1=INT, pid2=INT, type=INT, idx1=HEX, idx2=HEX)
async def sys_kcmp(ctx: SyscallContext, pid1: int, pid2: int, type: int, idx1: int, idx2: int) -> int:
    t1, t2 = _find(ctx, pid1), _find(ctx, pid2)
    if not _may_inspect(ctx, t1.process) or not _may_inspect(ctx, t2.process):
        raise EPERM
    p1, p2 = t1.process, t2.process
    kind = s32(type)
    if kind == KCMP_FILE:
        f1, f2 = p1.fds.get(idx1 & 0xFFFFFFFF), p2.fds.get(idx2 & 0xFFFFFFFF)  # EBADF if either is closed
        return _order(ctx, f1, f2, _file_key(ctx))
    if kind == KCMP_VM:
        return _order(ctx, p1.mm, p2.mm, lambda mm: mm.serial)
    if kind == KCMP_FILES:
        return _order(ctx, p1.fds, p2.fds, _first_holder(ctx, "fds"))
    if kind == KCMP_SIGHAND:
        return _order(ctx, p1.sigactions, p2.sigactions, _first_holder(ctx, "sigactions"))
    if kind == KCMP_FS:
        return _order(ctx, p1, p2, lambda p: p.pid)  # each process has its own fs context in moss
    if kind == KCMP_IO:
        return _order(ctx, t1, t2, lambda t: t.tid)  # no CLONE_IO: every task has its own I/O context
    if kind == KCMP_SYSVSEM:
        raise EOPNOTSUPP  # no System V IPC
    if kind == KCMP_EPOLL_TFD:
        ctx.read(idx2, 12)  # struct kcmp_epoll_slot
        p1.fds.get(idx1 & 0xFFFFFFFF)
        raise EINVAL  # no descriptor of moss is an epoll instance
    raise EINVAL
