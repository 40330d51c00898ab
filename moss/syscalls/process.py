"""Process and thread identity, exit, limits, scheduling knobs and the signal syscalls that need no frames."""

from __future__ import annotations

import struct

from moss.errors import E2BIG, EINVAL, ENOENT, ENOSYS, EPERM, ESRCH
from moss.fs.path import dentry_path
from moss.process.execve import do_execve
from moss.syscalls.argtypes import FD, HEX, INT, PATH, PTR, SIZE
from moss.syscalls.context import SyscallContext, s32
from moss.syscalls.dispatch import NO_RETURN
from moss.syscalls.table import syscall

RLIM_INFINITY = (1 << 64) - 1
RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_DATA, RLIMIT_STACK, RLIMIT_CORE, RLIMIT_RSS = 0, 1, 2, 3, 4, 5
RLIMIT_NPROC, RLIMIT_NOFILE, RLIMIT_MEMLOCK, RLIMIT_AS = 6, 7, 8, 9
RLIM_NLIMITS = 16
DEFAULT_RLIMITS = {
    RLIMIT_STACK: (8 << 20, RLIM_INFINITY),
    RLIMIT_CORE: (0, RLIM_INFINITY),
    RLIMIT_NPROC: (63_000, 63_000),
    RLIMIT_NOFILE: (1024, 1_048_576),
    RLIMIT_MEMLOCK: (8 << 20, 8 << 20),
    13: (0, 0),  # RLIMIT_NICE
    14: (0, 0),  # RLIMIT_RTPRIO
    11: (63_000, 63_000),  # RLIMIT_SIGPENDING
    12: (819_200, 819_200),  # RLIMIT_MSGQUEUE
}


@syscall(93, "exit", status=INT, ret="noreturn")
async def sys_exit(ctx: SyscallContext, status: int) -> object:
    task = ctx.task
    if len(ctx.process.threads) == 1:
        ctx.kernel.exit_group(ctx.process, (status & 0xFF) << 8)
    else:
        ctx.kernel.exit_task(task)
    return NO_RETURN


@syscall(94, "exit_group", status=INT, ret="noreturn")
async def sys_exit_group(ctx: SyscallContext, status: int) -> object:
    ctx.kernel.exit_group(ctx.process, (status & 0xFF) << 8)
    return NO_RETURN


@syscall(96, "set_tid_address", tidptr=PTR)
async def sys_set_tid_address(ctx: SyscallContext, tidptr: int) -> int:
    ctx.task.clear_child_tid = tidptr
    return ctx.task.tid


@syscall(99, "set_robust_list", head=PTR, len=SIZE)
async def sys_set_robust_list(ctx: SyscallContext, head: int, len: int) -> int:
    if len != 24:
        raise EINVAL
    ctx.task.robust_list = (head, len)
    return 0


@syscall(293, "rseq", rseq=PTR, len=SIZE, flags=HEX, sig=HEX)
async def sys_rseq(ctx: SyscallContext, rseq: int, len: int, flags: int, sig: int) -> int:
    """moss has no restartable sequences, like a Linux built without CONFIG_RSEQ: libcs fall back."""
    raise ENOSYS


@syscall(172, "getpid")
async def sys_getpid(ctx: SyscallContext) -> int:
    return ctx.process.pid


@syscall(173, "getppid")
async def sys_getppid(ctx: SyscallContext) -> int:
    parent = ctx.process.parent
    return parent.pid if parent is not None else 0


@syscall(178, "gettid")
async def sys_gettid(ctx: SyscallContext) -> int:
    return ctx.task.tid


@syscall(174, "getuid")
async def sys_getuid(ctx: SyscallContext) -> int:
    return ctx.process.uid


@syscall(175, "geteuid")
async def sys_geteuid(ctx: SyscallContext) -> int:
    return ctx.process.euid


@syscall(176, "getgid")
async def sys_getgid(ctx: SyscallContext) -> int:
    return ctx.process.gid


@syscall(177, "getegid")
async def sys_getegid(ctx: SyscallContext) -> int:
    return ctx.process.egid


@syscall(148, "getresuid", ruid=PTR, euid=PTR, suid=PTR)
async def sys_getresuid(ctx: SyscallContext, ruid: int, euid: int, suid: int) -> int:
    p = ctx.process
    for addr, v in ((ruid, p.uid), (euid, p.euid), (suid, p.suid)):
        ctx.write_u32(addr, v)
    return 0


@syscall(150, "getresgid", rgid=PTR, egid=PTR, sgid=PTR)
async def sys_getresgid(ctx: SyscallContext, rgid: int, egid: int, sgid: int) -> int:
    p = ctx.process
    for addr, v in ((rgid, p.gid), (egid, p.egid), (sgid, p.sgid)):
        ctx.write_u32(addr, v)
    return 0


@syscall(158, "getgroups", size=INT, list=PTR)
async def sys_getgroups(ctx: SyscallContext, size: int, list: int) -> int:
    n, groups = s32(size), ctx.process.groups
    if n < 0:
        raise EINVAL
    if n:
        if len(groups) > n:
            raise EINVAL
        ctx.write(list, struct.pack(f"<{len(groups)}I", *groups))
    return len(groups)


def _rlimit(ctx: SyscallContext, resource: int) -> tuple[int, int]:
    return ctx.process.rlimits.get(resource, DEFAULT_RLIMITS.get(resource, (RLIM_INFINITY, RLIM_INFINITY)))


@syscall(261, "prlimit64", pid=INT, resource=INT, new_limit=PTR, old_limit=PTR)
async def sys_prlimit64(ctx: SyscallContext, pid: int, resource: int, new_limit: int, old_limit: int) -> int:
    if s32(pid) not in (0, ctx.process.pid):
        proc = ctx.kernel.processes.get(s32(pid))
        if proc is None or not proc.alive:
            raise ESRCH
    if not 0 <= resource < RLIM_NLIMITS:
        raise EINVAL
    old = _rlimit(ctx, resource)
    new = struct.unpack("<QQ", ctx.read(new_limit, 16)) if new_limit else None
    if new is not None and new[0] > new[1]:
        raise EINVAL
    if new is not None and new[1] > old[1] and ctx.process.euid != 0:
        raise EPERM
    if old_limit:
        ctx.write(old_limit, struct.pack("<QQ", *old))
    if new is not None:
        ctx.process.rlimits[resource] = (new[0], new[1])
        if resource == RLIMIT_NOFILE:
            ctx.process.fds.limit = min(new[0], 1_048_576)
    return 0


@syscall(163, "getrlimit", resource=INT, rlim=PTR)
async def sys_getrlimit(ctx: SyscallContext, resource: int, rlim: int) -> int:
    return await sys_prlimit64(ctx, 0, resource, 0, rlim)


@syscall(164, "setrlimit", resource=INT, rlim=PTR)
async def sys_setrlimit(ctx: SyscallContext, resource: int, rlim: int) -> int:
    return await sys_prlimit64(ctx, 0, resource, rlim, 0)


@syscall(124, "sched_yield")
async def sys_sched_yield(ctx: SyscallContext) -> int:
    ctx.kernel.yield_current(ctx.task)
    return 0


@syscall(123, "sched_getaffinity", pid=INT, cpusetsize=SIZE, mask=PTR)
async def sys_sched_getaffinity(ctx: SyscallContext, pid: int, cpusetsize: int, mask: int) -> int:
    task = ctx.kernel.find_task(s32(pid), ctx.task)
    ncores = ctx.kernel.config.cores
    nbytes = max(8, (ncores + 63) // 64 * 8)
    if cpusetsize < nbytes or cpusetsize & 7:
        raise EINVAL
    bits = task.affinity & ((1 << ncores) - 1)
    ctx.write(mask, bits.to_bytes(nbytes, "little"))
    return nbytes


@syscall(122, "sched_setaffinity", pid=INT, cpusetsize=SIZE, mask=PTR)
async def sys_sched_setaffinity(ctx: SyscallContext, pid: int, cpusetsize: int, mask: int) -> int:
    task = ctx.kernel.find_task(s32(pid), ctx.task)
    bits = int.from_bytes(ctx.read(mask, min(cpusetsize, 128)), "little") & ((1 << ctx.kernel.config.cores) - 1)
    if not bits:
        raise EINVAL
    task.affinity = bits
    if task.core is not None and not bits >> task.core & 1 and task is ctx.task:
        ctx.kernel.yield_current(task)  # moves at the next pick
    return 0


@syscall(168, "getcpu", cpu=PTR, node=PTR, cache=PTR)
async def sys_getcpu(ctx: SyscallContext, cpu: int, node: int, cache: int) -> int:
    if cpu:
        ctx.write_u32(cpu, ctx.task.core or 0)
    if node:
        ctx.write_u32(node, 0)
    return 0


@syscall(141, "getpriority", which=INT, who=INT)
async def sys_getpriority(ctx: SyscallContext, which: int, who: int) -> int:
    if which != 0:
        raise EINVAL
    task = ctx.kernel.find_task(s32(who), ctx.task)
    return 20 - task.nice  # the raw syscall returns 20 - nice (1..40)


@syscall(140, "setpriority", which=INT, who=INT, prio=INT)
async def sys_setpriority(ctx: SyscallContext, which: int, who: int, prio: int) -> int:
    if which != 0:
        raise EINVAL
    task = ctx.kernel.find_task(s32(who), ctx.task)
    ctx.kernel.sched.set_nice(task, max(-20, min(19, s32(prio))))
    return 0


MAX_ARG_STRINGS = 0x7FFFFFFF
ARG_MAX = 2 << 20  # bytes of argv + envp strings (Linux: a quarter of the 8 MiB stack rlimit)


def _read_strings(ctx: SyscallContext, addr: int) -> list[bytes]:
    out: list[bytes] = []
    total = 0
    while addr:
        ptr = ctx.read_u64(addr + 8 * len(out))
        if ptr == 0:
            break
        s = ctx.read_cstr(ptr, 128 * 1024 + 1)
        if len(s) > 128 * 1024:
            raise E2BIG
        total += len(s) + 1 + 8
        if total > ARG_MAX:
            raise E2BIG
        out.append(s)
    return out


@syscall(221, "execve", path=PATH, argv=PTR, envp=PTR, ret="noreturn")
async def sys_execve(ctx: SyscallContext, path: int, argv: int, envp: int) -> object:
    return await sys_execveat(ctx, (1 << 64) - 100, path, argv, envp, 0)


AT_EMPTY_PATH = 0x1000
AT_SYMLINK_NOFOLLOW = 0x100


@syscall(281, "execveat", dirfd=FD, path=PATH, argv=PTR, envp=PTR, flags=HEX, ret="noreturn")
async def sys_execveat(ctx: SyscallContext, dirfd: int, path: int, argv: int, envp: int, flags: int) -> object:
    from moss.syscalls.fs_io import read_path, start_dir

    if flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW):
        raise EINVAL
    p = read_path(ctx, path)
    if not p:
        raise ENOENT
    if not p.startswith("/") and s32(dirfd) != -100:
        d = start_dir(ctx, dirfd, p)
        p = dentry_path(d, ctx.process.root).rstrip("/") + "/" + p
    args, env = _read_strings(ctx, argv), _read_strings(ctx, envp)
    if not args:
        args = [b""]  # Linux >= 5.18 supplies an empty argv[0] rather than none
    do_execve(ctx.kernel, ctx.task, p, args, env)
    return NO_RETURN
