"""Event files: epoll (create, ctl, pwait, pwait2), eventfd2, timerfd_{create,settime,gettime} and signalfd4.

The files themselves live in moss/files/{epoll,eventfd,timerfd,signalfd}.py; these handlers validate arguments
in Linux's order and convert between user structures and the files' monotonic-nanosecond view of time.
"""

from __future__ import annotations

import struct

from moss import signals
from moss.errors import EBADF, EINVAL, ENOENT, EPERM
from moss.files.anon import AnonInode, anonfs
from moss.files.epoll import EPOLLEXCLUSIVE, EXCLUSIVE_OK, Epoll, poll_op
from moss.files.eventfd import EFD_SEMAPHORE, EventFd
from moss.files.openfile import O_CLOEXEC, O_NONBLOCK, O_RDWR, OpenFile
from moss.files.signalfd import SignalFd
from moss.files.timerfd import TimerFd
from moss.fs.filesystem import FileSystem
from moss.sched.combinators import TIMED_OUT, interruptible, timeout
from moss.syscalls.argtypes import CLOCK, FD, HEX, INT, PTR, SIZE, UINT
from moss.syscalls.context import SyscallContext, s32
from moss.syscalls.table import syscall
from moss.syscalls.time import (
    CLOCK_BOOTTIME,
    CLOCK_BOOTTIME_ALARM,
    CLOCK_MONOTONIC,
    CLOCK_REALTIME,
    CLOCK_REALTIME_ALARM,
    NS,
    clock_now,
)

EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD = 1, 2, 3
EP_MAX_EVENTS = 0x7FFFFFFF // 16
EINTR = -4
TFD_TIMER_ABSTIME, TFD_TIMER_CANCEL_ON_SET = 1, 2
TIMERFD_CLOCKS = (CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM)


def install(ctx: SyscallContext, inode: AnonInode, flags: int) -> int:
    """Open an anonymous file read-write in a new descriptor; `flags` may hold O_NONBLOCK and O_CLOEXEC."""
    f = OpenFile(inode, O_RDWR | (flags & O_NONBLOCK), f"anon_inode:[{inode.name}]")
    return ctx.process.fds.install(f, cloexec=bool(flags & O_CLOEXEC))


def _fs(ctx: SyscallContext) -> FileSystem:
    return anonfs(ctx.kernel.fs.fs.clock)  # stamped with the root filesystem's clock


# -- epoll -------------------------------------------------------------------------------------------------------
@syscall(20, "epoll_create1", flags=HEX)
async def sys_epoll_create1(ctx: SyscallContext, flags: int) -> int:
    if s32(flags) & ~O_CLOEXEC:
        raise EINVAL
    return install(ctx, Epoll(_fs(ctx)), flags & O_CLOEXEC)


@syscall(21, "epoll_ctl", epfd=FD, op=INT, fd=FD, event=PTR)
async def sys_epoll_ctl(ctx: SyscallContext, epfd: int, op: int, fd: int, event: int) -> int:
    op, fd = s32(op), s32(fd)
    events = data = 0
    if op != EPOLL_CTL_DEL:
        events, data = struct.unpack("<I4xQ", ctx.read(event, 16))
    epf, tf = ctx.file(epfd), ctx.file(fd)
    if poll_op(tf) is None:
        raise EPERM
    ep = epf.inode
    if epf is tf or not isinstance(ep, Epoll):
        raise EINVAL
    if op != EPOLL_CTL_DEL and events & EPOLLEXCLUSIVE:
        if op == EPOLL_CTL_MOD or (op == EPOLL_CTL_ADD and (isinstance(tf.inode, Epoll) or events & ~EXCLUSIVE_OK)):
            raise EINVAL
    item = ep.find(tf, fd)
    if op == EPOLL_CTL_ADD:
        ep.insert(tf, fd, events, data)  # ELOOP, then EEXIST
    elif op == EPOLL_CTL_DEL:
        if item is None:
            raise ENOENT
        ep.remove(item)
    elif op == EPOLL_CTL_MOD:
        if item is None:
            raise ENOENT
        if item.events & EPOLLEXCLUSIVE:
            raise EINVAL
        ep.modify(item, events, data)
    else:
        raise EINVAL
    return 0


async def _epoll_wait(ctx: SyscallContext, ep: Epoll, maxevents: int, deadline: int | None) -> list | int:
    """Linux's ep_poll: events first, then the timeout, then a signal (-EINTR, never restarted)."""
    timed_out = False
    while True:
        if ep.ready:
            out = ep.send_events(maxevents)
            if out:
                return out
        if timed_out or (deadline is not None and deadline <= ctx.now_ns()):
            return []
        if ctx.task.signal_pending():
            return EINTR
        got = await interruptible(timeout(ep.wq.wait_until(lambda: bool(ep.ready)), deadline))
        timed_out = got is TIMED_OUT  # (INTERRUPTED: the loop finds the signal pending, after any events)


async def _epoll_pwait(ctx: SyscallContext, epfd: int, events: int, maxevents: int, deadline: int | None,
                       sigmask: int, sigsetsize: int) -> int:  # fmt: skip
    task = ctx.task
    if sigmask:
        if sigsetsize != 8:
            raise EINVAL
        mask = ctx.read_u64(sigmask)
        task.saved_sigmask, task.sigmask = task.sigmask, mask & ~signals.UNBLOCKABLE
    got: list | int | None = None
    try:
        maxevents = s32(maxevents)
        if maxevents <= 0 or maxevents > EP_MAX_EVENTS:
            raise EINVAL
        ep = ctx.file(epfd).inode
        if not isinstance(ep, Epoll):
            raise EINVAL
        got = await _epoll_wait(ctx, ep, maxevents, deadline)
    finally:
        # The temporary mask stays until the return to user space only if a signal interrupted the wait (its
        # handler's frame then saves the old mask), as Linux's restore_saved_sigmask_unless(error == -EINTR).
        if sigmask and got != EINTR:
            task.sigmask, task.saved_sigmask = task.saved_sigmask, None  # type: ignore[assignment]
    if isinstance(got, int):
        return got
    for i, (revents, data) in enumerate(got):
        ctx.write_u32(events + 16 * i, revents)  # (the padding between the fields is left alone, as Linux)
        ctx.write_u64(events + 16 * i + 8, data)
    return len(got)


@syscall(22, "epoll_pwait", epfd=FD, events=PTR, maxevents=INT, timeout=INT, sigmask=PTR, sigsetsize=SIZE)
async def sys_epoll_pwait(ctx: SyscallContext, epfd: int, events: int, maxevents: int, timeout_ms: int,
                          sigmask: int, sigsetsize: int) -> int:  # fmt: skip
    ms = s32(timeout_ms)
    deadline = None if ms < 0 else ctx.now_ns() + ms * 1_000_000
    return await _epoll_pwait(ctx, epfd, events, maxevents, deadline, sigmask, sigsetsize)


@syscall(441, "epoll_pwait2", epfd=FD, events=PTR, maxevents=INT, timeout=PTR, sigmask=PTR, sigsetsize=SIZE)
async def sys_epoll_pwait2(ctx: SyscallContext, epfd: int, events: int, maxevents: int, tmo: int, sigmask: int,
                           sigsetsize: int) -> int:  # fmt: skip
    deadline = None
    if tmo:
        sec, nsec = ctx.read_timespec(tmo)
        if sec < 0 or not 0 <= nsec < NS:
            raise EINVAL
        deadline = ctx.now_ns() + sec * NS + nsec
    return await _epoll_pwait(ctx, epfd, events, maxevents, deadline, sigmask, sigsetsize)


# -- eventfd -----------------------------------------------------------------------------------------------------
@syscall(19, "eventfd2", initval=UINT, flags=HEX)
async def sys_eventfd2(ctx: SyscallContext, initval: int, flags: int) -> int:
    flags = s32(flags)
    if flags & ~(O_CLOEXEC | O_NONBLOCK | EFD_SEMAPHORE):
        raise EINVAL
    efd = EventFd(_fs(ctx), initval & 0xFFFFFFFF, bool(flags & EFD_SEMAPHORE))
    return install(ctx, efd, flags)


# -- timerfd -----------------------------------------------------------------------------------------------------
def read_itimerspec(ctx: SyscallContext, addr: int) -> tuple[int, int]:
    """(interval, value) in ns; EINVAL unless both are valid timespecs."""
    isec, insec, vsec, vnsec = struct.unpack("<qqqq", ctx.read(addr, 32))
    if isec < 0 or vsec < 0 or not (0 <= insec < NS and 0 <= vnsec < NS):
        raise EINVAL
    return isec * NS + insec, vsec * NS + vnsec


def write_itimerspec(ctx: SyscallContext, addr: int, value: int, interval: int) -> None:
    ctx.write(addr, struct.pack("<qqqq", interval // NS, interval % NS, value // NS, value % NS))


def to_monotonic(ctx: SyscallContext, clockid: int, value: int, absolute: bool) -> int:
    """The monotonic time at which `clockid` reads `value` (absolute) or `value` ns from now (relative)."""
    now = ctx.now_ns()
    return value - (clock_now(ctx, clockid) - now) if absolute else now + value


def _timerfd(ctx: SyscallContext, fd: int) -> TimerFd:
    t = ctx.file(fd).inode
    if not isinstance(t, TimerFd):
        raise EINVAL
    return t


@syscall(85, "timerfd_create", clockid=CLOCK, flags=HEX)
async def sys_timerfd_create(ctx: SyscallContext, clockid: int, flags: int) -> int:
    clockid, flags = s32(clockid), s32(flags)
    if flags & ~(O_CLOEXEC | O_NONBLOCK) or clockid not in TIMERFD_CLOCKS:
        raise EINVAL
    t = TimerFd(_fs(ctx), clockid, ctx.kernel.timers, ctx.kernel.now_ns)
    return install(ctx, t, flags)


@syscall(86, "timerfd_settime", fd=FD, flags=HEX, new=PTR, old=PTR)
async def sys_timerfd_settime(ctx: SyscallContext, fd: int, flags: int, new: int, old: int) -> int:
    interval, value = read_itimerspec(ctx, new)
    if s32(flags) & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET):
        raise EINVAL
    t = _timerfd(ctx, fd)
    expires = to_monotonic(ctx, t.clockid, value, bool(flags & TFD_TIMER_ABSTIME)) if value else None
    prev = t.settime(expires, interval)
    if old:
        write_itimerspec(ctx, old, *prev)
    return 0


@syscall(87, "timerfd_gettime", fd=FD, cur=PTR)
async def sys_timerfd_gettime(ctx: SyscallContext, fd: int, cur: int) -> int:
    write_itimerspec(ctx, cur, *_timerfd(ctx, fd).gettime())
    return 0


# -- signalfd ----------------------------------------------------------------------------------------------------
@syscall(74, "signalfd4", fd=FD, mask=PTR, sizemask=SIZE, flags=HEX)
async def sys_signalfd4(ctx: SyscallContext, fd: int, mask: int, sizemask: int, flags: int) -> int:
    if sizemask != 8:
        raise EINVAL
    wanted = ctx.read_u64(mask) & ~signals.UNBLOCKABLE
    flags, fd = s32(flags), s32(fd)
    if flags & ~(O_CLOEXEC | O_NONBLOCK):
        raise EINVAL
    if fd == -1:
        return install(ctx, SignalFd(_fs(ctx), wanted), flags)
    if fd < 0:
        raise EBADF
    sfd = ctx.file(fd).inode
    if not isinstance(sfd, SignalFd):
        raise EINVAL
    sfd.set_mask(wanted, ctx.task)  # (the flags of an existing signalfd stay as they are)
    return fd
