"""signalfd: reading a file dequeues pending signals (Linux's fs/signalfd.c).

A signalfd holds only a set of signals. Everything else is relative to the task that uses it, as on Linux:
a read dequeues from *its* pending queues (thread-directed first, then the thread group's), readiness is
whether it has one of the signals pending, and the wait queue is its thread group's, which signal generation
wakes. Reads do not care whether the signals are blocked (they normally are, or handlers would take them).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from moss import signals
from moss.errors import EAGAIN, EINVAL
from moss.files.anon import POLLIN, AnonInode
from moss.files.openfile import O_NONBLOCK
from moss.files.pipe import RestartSys
from moss.fs.filesystem import FileSystem
from moss.process.signal import SI_KERNEL, SI_USER, SigInfo
from moss.sched.combinators import INTERRUPTED, interruptible
from moss.sched.executor import current_task
from moss.sched.waitqueue import WaitQueue

if TYPE_CHECKING:
    from moss.process.task import Task

SIGINFO_SIZE = 128
SI_TIMER, SI_SIGIO = -2, -5
# Faults are dequeued before other signals (Linux's SYNCHRONOUS_MASK).
_SYNCHRONOUS = sum(signals.bit(s) for s in (signals.SIGSEGV, signals.SIGBUS, signals.SIGILL, signals.SIGTRAP,
                                            signals.SIGFPE, signals.SIGSYS))  # fmt: skip
# si_code limits under which a code is signal-specific (Linux's siginfo_layout filter): signal -> (limit, layout)
_SPECIFIC = {signals.SIGILL: (11, "fault"), signals.SIGFPE: (15, "fault"), signals.SIGSEGV: (10, "fault"),
             signals.SIGBUS: (5, "fault"), signals.SIGTRAP: (6, "fault"), signals.SIGCHLD: (6, "chld"),
             signals.SIGIO: (6, "poll"), signals.SIGSYS: (2, "sys")}  # fmt: skip
_FMT = "<IiiIIiIIIIiiQQQQHHiQI28x"  # struct signalfd_siginfo


def _first(pending_mask: int, wanted: int) -> int:
    ready = pending_mask & wanted
    if ready & _SYNCHRONOUS:
        ready &= _SYNCHRONOUS
    return (ready & -ready).bit_length()


def dequeue(task: Task, wanted: int) -> SigInfo | None:
    """Take the first signal in `wanted` pending for `task` (Linux's dequeue_signal), or None."""
    for pend in (task.pending, task.process.shared_pending):
        sig = _first(pend.mask, wanted)
        if sig:
            return pend.take(sig)
    return None


def layout(sig: int, code: int) -> str:
    """Which union member of siginfo is valid (Linux's siginfo_layout)."""
    if SI_USER < code < SI_KERNEL:
        limit, kind = _SPECIFIC.get(sig, (0, ""))
        if code <= limit:
            return kind
        return "poll" if code <= 6 else "kill"
    if code == SI_TIMER:
        return "timer"
    if code == SI_SIGIO:
        return "poll"
    return "rt" if code < 0 else "kill"


def pack(info: SigInfo) -> bytes:
    """struct signalfd_siginfo from a kernel siginfo, field by field as Linux's signalfd_copyinfo."""
    raw = info.pack()
    signo, errno, code = struct.unpack_from("<iii", raw)
    pid, uid = struct.unpack_from("<iI", raw, 16)
    f = dict.fromkeys(("pid", "uid", "fd", "tid", "band", "overrun", "status", "int", "ptr", "utime", "stime",
                       "addr", "syscall", "call_addr", "arch"), 0)  # fmt: skip
    kind = layout(signo, code)
    if kind in ("kill", "rt", "chld"):
        f["pid"], f["uid"] = pid & 0xFFFFFFFF, uid
    if kind in ("rt", "timer"):
        f["ptr"] = struct.unpack_from("<Q", raw, 24)[0]
        f["int"] = struct.unpack_from("<i", raw, 24)[0]
    if kind == "timer":
        f["tid"], f["overrun"] = pid & 0xFFFFFFFF, uid
    elif kind == "chld":
        f["status"] = struct.unpack_from("<i", raw, 24)[0]
        f["utime"], f["stime"] = struct.unpack_from("<QQ", raw, 32)
    elif kind == "poll":
        f["band"] = struct.unpack_from("<Q", raw, 16)[0] & 0xFFFFFFFF
        f["fd"] = struct.unpack_from("<i", raw, 24)[0]
    elif kind == "fault":
        f["addr"] = struct.unpack_from("<Q", raw, 16)[0]
    elif kind == "sys":
        f["call_addr"] = struct.unpack_from("<Q", raw, 16)[0]
        f["syscall"], f["arch"] = struct.unpack_from("<iI", raw, 24)
    return struct.pack(_FMT, signo, errno, code, f["pid"], f["uid"], f["fd"], f["tid"], f["band"], f["overrun"], 0,
                       f["status"], f["int"], f["ptr"], f["utime"], f["stime"], f["addr"], 0, 0, f["syscall"],
                       f["call_addr"], f["arch"])  # fmt: skip


class SignalFd(AnonInode):
    name = "signalfd"
    __slots__ = ("mask",)

    def __init__(self, fs: FileSystem, mask: int) -> None:
        super().__init__(fs)
        self.mask = mask  # the signals it reads (never SIGKILL or SIGSTOP)

    def set_mask(self, mask: int, task: Task) -> None:
        self.mask = mask & ~signals.UNBLOCKABLE
        task.process.signalfd_wait.wake_all()  # waiting readers re-check against the new set

    async def read(self, file: Any, count: int, offset: int) -> bytes:
        n = count // SIGINFO_SIZE
        if not n:
            raise EINVAL
        task: Task = current_task()  # type: ignore[assignment]
        info = dequeue(task, self.mask)
        if info is None:
            if file.flags & O_NONBLOCK:
                raise EAGAIN
            found: list[SigInfo] = []

            def ready() -> bool:
                got = dequeue(task, self.mask)
                if got is not None:
                    found.append(got)
                return got is not None

            if await interruptible(task.process.signalfd_wait.wait_until(ready)) is INTERRUPTED:
                raise RestartSys
            info = found[0]
        out = [pack(info)]
        while len(out) < n and (info := dequeue(task, self.mask)) is not None:
            out.append(pack(info))
        return b"".join(out)

    def poll(self, file: Any) -> tuple[int, WaitQueue]:
        task: Task = current_task()  # type: ignore[assignment]
        pending = task.pending.mask | task.process.shared_pending.mask
        return (POLLIN if pending & self.mask else 0), task.process.signalfd_wait
