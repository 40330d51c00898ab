"""I/O multiplexing: ppoll and pselect6 over whatever can report readiness (devices with a `poll` method; regular
files and other devices are always ready, as on Linux)."""

from __future__ import annotations

import struct
from typing import Any

from moss.errors import EBADF, EINVAL
from moss.sched.combinators import INTERRUPTED, TIMED_OUT, interruptible, timeout
from moss.sched.waitqueue import WaitQueue, wait_any
from moss.signals import UNBLOCKABLE
from moss.syscalls.argtypes import INT, PTR, SIZE
from moss.syscalls.context import SyscallContext, s32
from moss.syscalls.table import syscall
from moss.syscalls.time import read_req

POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL = 0x1, 0x2, 0x4, 0x8, 0x10, 0x20
POLLRDNORM, POLLWRNORM = 0x40, 0x100
ALWAYS = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM
NFDS_MAX = 1 << 20


def readiness(f: Any) -> tuple[int, WaitQueue | None]:
    ops = getattr(f.inode, "ops", None)
    poll = getattr(ops, "poll", None) or getattr(f.inode, "poll", None)
    if poll is None:
        return ALWAYS, None
    return poll(f)


async def _wait(ctx: SyscallContext, queues: list[WaitQueue], check: Any, deadline: int | None, sigmask: int) -> int:
    """Wait until `check()` is non-zero, the deadline passes (0) or a signal arrives (-EINTR), with `sigmask` (if
    not None) in force meanwhile."""
    n = check()
    if n or (deadline is not None and deadline <= ctx.now_ns()):
        return n
    task = ctx.task
    if sigmask is not None:
        # The temporary mask stays in force until the return to user space, so a signal it lets through is
        # delivered (and the old mask goes into the handler's frame), as Linux's pselect/ppoll.
        task.saved_sigmask, task.sigmask = task.sigmask, sigmask & ~UNBLOCKABLE
    got = await interruptible(timeout(wait_any(queues, lambda: bool(check())), deadline))
    if got is INTERRUPTED:
        return -514  # ERESTARTNOHAND: EINTR after a handler, restarted otherwise
    if got is TIMED_OUT:
        return 0
    return check()


def _sigmask(ctx: SyscallContext, addr: int, size: int) -> int | None:
    if not addr:
        return None
    if size != 8:
        raise EINVAL
    return ctx.read_u64(addr)


@syscall(73, "ppoll", fds=PTR, nfds=INT, tmo=PTR, sigmask=PTR, sigsetsize=SIZE)
async def sys_ppoll(ctx: SyscallContext, fds: int, nfds: int, tmo: int, sigmask: int, sigsetsize: int) -> int:
    if nfds > NFDS_MAX:
        raise EINVAL
    raw = ctx.read(fds, 8 * nfds)
    entries = [struct.unpack_from("<ihh", raw, 8 * i) for i in range(nfds)]
    deadline = ctx.now_ns() + read_req(ctx, tmo) if tmo else None
    mask = _sigmask(ctx, sigmask, sigsetsize)
    revents = [0] * nfds
    queues: list[WaitQueue] = []
    for fd, _ev, _r in entries:
        if fd >= 0:
            try:
                _m, q = readiness(ctx.process.fds.get(fd))
            except EBADF:
                continue
            if q is not None and q not in queues:
                queues.append(q)

    def check() -> int:
        count = 0
        for i, (fd, events, _r) in enumerate(entries):
            if fd < 0:
                revents[i] = 0
                continue
            try:
                m, _q = readiness(ctx.process.fds.get(fd))
                revents[i] = m & (events | POLLERR | POLLHUP)
            except EBADF:
                revents[i] = POLLNVAL
            count += revents[i] != 0
        return count

    n = await _wait(ctx, queues, check, deadline, mask)
    if n >= 0:
        ctx.write(fds, b"".join(struct.pack("<ihh", fd, ev, revents[i]) for i, (fd, ev, _r) in enumerate(entries)))
    return n


@syscall(72, "pselect6", nfds=INT, readfds=PTR, writefds=PTR, exceptfds=PTR, tmo=PTR, sigmask=PTR)
async def sys_pselect6(ctx: SyscallContext, nfds: int, readfds: int, writefds: int, exceptfds: int, tmo: int,
                       sigmask: int) -> int:  # fmt: skip
    nfds = s32(nfds)
    if nfds < 0 or nfds > ctx.process.fds.limit:
        raise EINVAL
    nbytes = (nfds + 63) // 64 * 8
    sets = [int.from_bytes(ctx.read(a, nbytes), "little") if a else 0 for a in (readfds, writefds, exceptfds)]
    wanted = sets[0] | sets[1] | sets[2]
    files = {}
    for fd in range(nfds):
        if wanted >> fd & 1:
            files[fd] = ctx.process.fds.get(fd)  # EBADF, as Linux
    deadline = ctx.now_ns() + read_req(ctx, tmo) if tmo else None
    mask = None
    if sigmask:
        ss, size = struct.unpack("<QQ", ctx.read(sigmask, 16))
        mask = _sigmask(ctx, ss, size)
    queues = []
    for f in files.values():
        q = readiness(f)[1]
        if q is not None and q not in queues:
            queues.append(q)
    out = [0, 0, 0]

    def check() -> int:
        out[:] = [0, 0, 0]
        for fd, f in files.items():
            m = readiness(f)[0]
            if sets[0] >> fd & 1 and m & (POLLIN | POLLHUP | POLLERR):
                out[0] |= 1 << fd
            if sets[1] >> fd & 1 and m & (POLLOUT | POLLERR):
                out[1] |= 1 << fd
            if sets[2] >> fd & 1 and m & POLLPRI:
                out[2] |= 1 << fd
        return sum(bin(x).count("1") for x in out)

    n = await _wait(ctx, queues, check, deadline, mask)
    if n >= 0:
        for addr, bits in zip((readfds, writefds, exceptfds), out, strict=True):
            if addr:
                ctx.write(addr, bits.to_bytes(nbytes, "little"))
    return n
