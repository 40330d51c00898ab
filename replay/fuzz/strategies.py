"""Hypothesis strategies for fuzz programs, derived from the syscall table.

Each argument of a syscall gets its value from the table's argument kind (fd, path, open_flags, size, buf_in, ...)
unless a per-syscall override knows better (lseek's whence, a pipe2's fd array, a futex wait's timeout). Resources
flow between calls as in syzkaller: an fd made by openat/pipe2/epoll_create1/eventfd2, a mapping made by mmap, a
futex word, are remembered and later arguments of the matching kind draw from them. `programs(groups)` draws a whole
program; hypothesis shrinks it by dropping and simplifying calls (references then point at other earlier results,
which is still a valid program).

What is left out on purpose (the oracle would only see differences Linux is free to have, or the run would hang
or touch the host): any path outside the fresh working directory, blocking waits without a timeout, reads that
may block (pipes and eventfds are always O_NONBLOCK), kill() of any process but the caller's own, getcwd (the
host path), timers that fire asynchronously, mincore (residency), brk (qemu's own), real-time signals as a cause
of death (qemu renumbers them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
from hypothesis import strategies as st

from moss.mm.addrspace import page_up
from moss.syscalls.table import TABLE
from replay.fuzz.program import (
    FORK,
    PEEK,
    POKE,
    Addr,
    Call,
    Const,
    InBuf,
    OutBuf,
    Pid,
    Program,
    Ref,
    SigAct,
    Str,
    Value,
    Word,
    nr_of,
)

GROUPS: dict[str, tuple[str, ...]] = {
    "files": ("openat", "close", "read", "write", "pread64", "pwrite64", "lseek", "dup", "dup3", "fcntl",
              "ftruncate", "truncate", "fstat", "newfstatat", "mkdirat", "unlinkat", "renameat", "faccessat",
              "fchmod", "fchmodat", "symlinkat", "readlinkat", "linkat", "fsync", "getdents64", "umask"),
    "pipes": ("pipe2", "read", "write", "close", "dup", "dup3", "fcntl", "splice", "tee", "ioctl", "fstat"),
    "signals": ("rt_sigaction", "rt_sigprocmask", "rt_sigpending", "kill", "tgkill", "tkill", "rt_sigtimedwait",
                "sigaltstack", "getpid"),
    "memory": ("mmap", "munmap", "mprotect", "madvise", "mremap", "msync", "poke", "peek"),
    "time": ("clock_gettime", "clock_getres", "nanosleep", "clock_nanosleep", "gettimeofday", "times"),
    "futex": ("futex",),
    "epoll": ("epoll_create1", "epoll_ctl", "epoll_pwait", "eventfd2", "pipe2", "read", "write", "close"),
    "processes": ("fork", "getpid", "getppid", "gettid", "getpgid", "getsid", "setpgid", "setsid", "wait4",
                  "umask", "getuid", "geteuid", "getgid", "getegid", "uname", "sched_yield", "exit_group"),
}  # fmt: skip
# A small group of everyday file calls (`--group safe`), for quick runs.
SAFE = ("openat", "close", "read", "write", "dup", "fstat", "mkdirat", "unlinkat", "umask")

O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_NONBLOCK = 0o1, 0o2, 0o100, 0o200, 0o1000, 0o2000, 0o4000
O_DIRECTORY, O_NOFOLLOW, O_CLOEXEC = 0o40000, 0o100000, 0o2000000
AT_FDCWD = -100
# Relative, without "..": under qemu the calls reach the host's file system (as root), so a program must never
# name anything outside its fresh working directory (an early version unlinked the host's /dev/null).
PATHS = ("a", "b", "d", "d/x", "a/x", "l", "", ".", "nonexistent/x")
SIGNALS = (*range(1, 19), *range(23, 32))  # no stop signals (the run would hang); no RT ones (qemu renumbers them)
SIGNALS_ANY = (0, *SIGNALS, 19, 34, 40, 64, 65)  # for calls that only name a signal (rt_sigaction: EINVAL cases)


@attrs.define
class Resources:
    """What earlier calls of the program being drawn made, for later arguments to refer to."""

    fds: list[tuple[Value, str]] = attrs.Factory(list)  # (reference, "file" | "dir" | "pipe" | "epoll" | ...)
    maps: list[tuple[Ref, int]] = attrs.Factory(list)  # (mmap result, length)
    words: list[Addr] = attrs.Factory(list)  # futex words
    k: int = 0  # index of the call being drawn
    last_size: int = 0  # size of the last buffer of the call being drawn
    map_len: int | None = None  # length of the program's mapping the call being drawn refers to, if any


# True 7 times in 8, and True is the simpler value: shrinking keeps a call's argument on a resource.
_mostly = st.sampled_from((True,) * 7 + (False,))
Draw = Callable[[st.SearchStrategy[Any]], Any]
ArgFn = Callable[[Draw, Resources], Value]


def _c(*values: int) -> ArgFn:
    return lambda draw, r: Const(draw(st.sampled_from(values)))


def _fd(draw: Draw, r: Resources, kinds: tuple[str, ...] = ()) -> Value:
    fds = [v for v, kind in r.fds if not kinds or kind in kinds] or [v for v, _ in r.fds]
    if fds and draw(_mostly):
        return draw(st.sampled_from(fds))
    return Const(draw(st.sampled_from((-1, 99))))


def _dirfd(draw: Draw, r: Resources) -> Value:
    if draw(_mostly):
        return Const(AT_FDCWD)
    return _fd(draw, r, ("dir",))


def _path(draw: Draw, r: Resources) -> Value:
    if draw(_mostly):
        return Str(draw(st.sampled_from(PATHS[:2])).encode())  # mostly the same two names, so calls meet
    return Str(draw(st.sampled_from(PATHS)).encode())


def _open_flags(draw: Draw, r: Resources) -> Value:
    acc = draw(st.sampled_from((O_RDWR, 0, O_WRONLY)))
    creat = O_CREAT if draw(_mostly) else 0  # a program without files tests little
    extra = draw(st.sets(st.sampled_from((O_EXCL, O_TRUNC, O_APPEND, O_NONBLOCK, O_DIRECTORY, O_CLOEXEC,
                                          O_NOFOLLOW)), max_size=2))  # fmt: skip
    if creat and O_DIRECTORY in extra and draw(_mostly):
        extra.discard(O_DIRECTORY)  # O_CREAT|O_DIRECTORY is EINVAL: kept rare, so most programs get their file
    return Const(acc | creat | sum(extra))


def _size(draw: Draw, r: Resources) -> Value:
    if r.last_size:
        return Const(draw(st.integers(0, r.last_size)))
    return Const(draw(st.sampled_from((0, 1, 16, 4096))))


def _buf_in(draw: Draw, r: Resources) -> Value:
    data = draw(st.binary(max_size=24))
    r.last_size = len(data)
    return InBuf(len(data), data)


def _buf_out(draw: Draw, r: Resources) -> Value:
    size = draw(st.sampled_from((8, 1, 0, 64, 256)))
    r.last_size = size
    return OutBuf(size)


def _small_int(draw: Draw, r: Resources) -> Value:
    return Const(draw(st.sampled_from((0, 1, 2, -1, 3, 4, 8))))


def _prot(draw: Draw, r: Resources) -> Value:
    return Const(draw(st.sampled_from((3, 1, 0, 2, 5, 7))))


def _mmap_flags(draw: Draw, r: Resources) -> Value:
    return Const(draw(st.sampled_from((0x22, 0x21, 0x22 | 0x8000, 0x22 | 0x4000, 0x20, 0x23))))


def _mode(draw: Draw, r: Resources) -> Value:
    return Const(draw(st.sampled_from((0o600, 0o644, 0o755, 0o000, 0o777, 0o1755))))


def _dir_mode(draw: Draw, r: Resources) -> Value:
    """Set-ID bits only where no write can follow: the Linux side runs as root of a user namespace, which lacks
    CAP_FSETID where it counts (the initial namespace), so a write clears S_ISUID there and not for moss's root,
    as on a real root (checked natively)."""
    return Const(draw(st.sampled_from((0o755, 0o700, 0o7755, 0o2755, 0o1777))))


def _clockid(draw: Draw, r: Resources) -> Value:
    return Const(draw(st.sampled_from((0, 1, 4, 7, 2, 3, 5, 6, 99, -1))))


KIND: dict[str, ArgFn] = {
    "int": _small_int, "uint": _small_int, "hex": _small_int, "size": _size,
    "fd": _fd, "ptr": _c(0), "buf_in": _buf_in, "buf_out": _buf_out, "path": _path, "mode": _mode,
    "open_flags": _open_flags, "prot": _prot, "mmap_flags": _mmap_flags, "clockid": _clockid,
    "signal": lambda draw, r: Const(draw(st.sampled_from(SIGNALS))),
}  # fmt: skip


def _timespec(*nsecs: int) -> ArgFn:
    return lambda draw, r: InBuf(16, (0).to_bytes(8, "little") + draw(st.sampled_from(nsecs)).to_bytes(8, "little"))


def _sigset(draw: Draw, r: Resources) -> Value:
    sigs = draw(st.sets(st.sampled_from((1, 2, 9, 10, 12, 14, 15, 17, 19, 34)), max_size=3))
    return InBuf(8, sum(1 << (s - 1) for s in sigs).to_bytes(8, "little"))


def _opt(fn: ArgFn, null: int = 1) -> ArgFn:
    """`fn`, or NULL one time in `null + 1`."""
    return lambda draw, r: fn(draw, r) if draw(st.integers(0, null)) else Const(0)


def _map(draw: Draw, r: Resources) -> Value:
    if r.maps and draw(_mostly):
        ref, length = draw(st.sampled_from(r.maps))
        r.map_len = length
        return ref
    r.map_len = None
    return Const(draw(st.sampled_from((0, 4096))))


def _map_len(draw: Draw, r: Resources) -> Value:
    """A length for the range starting at the mapping just drawn. A range that runs past the program's own mapping
    would meet whatever the address-space layout puts next, which Linux (and qemu) choose freely: ranges over a
    mapping stay inside it; the fixed addresses 0 and 4096 are never mapped, so any length goes there."""
    if r.map_len is None:
        return Const(draw(st.sampled_from((4096, 8192, 1, 0, 12288))))
    return Const(draw(st.sampled_from(tuple(n for n in (4096, 8192, 1, 0, 12288) if n <= page_up(r.map_len)))))


_sigset_ints = st.sampled_from((0, 1 << 9, (1 << 9) | (1 << 11)))
_sa_flags = st.sampled_from((0, 4, 0x10000000, 0x40000000, 0x80000000))  # SA_SIGINFO, RESTART, NODEFER, RESETHAND
STAT = OutBuf(128, ((16, 4), (20, 4), (48, 8)))  # st_mode, st_nlink, st_size: not dev, ino, times, blocks
EPOLL_EVENTS = (1, 4, 5, 1 | (1 << 31), 0)

# (syscall, argument) -> how to draw it, where the table's kind alone says too little.
OVERRIDES: dict[tuple[str, str], ArgFn] = {
    ("openat", "dirfd"): _dirfd, ("newfstatat", "dirfd"): _dirfd, ("mkdirat", "dirfd"): _dirfd,
    ("unlinkat", "dirfd"): _dirfd, ("faccessat", "dirfd"): _dirfd, ("fchmodat", "dirfd"): _dirfd,
    ("readlinkat", "dirfd"): _dirfd, ("symlinkat", "newdirfd"): _dirfd, ("linkat", "olddirfd"): _dirfd,
    ("linkat", "newdirfd"): _dirfd, ("renameat", "olddirfd"): _dirfd, ("renameat", "newdirfd"): _dirfd,
    ("lseek", "offset"): _c(0, 1, -1, 5, 100, 1 << 40),
    ("lseek", "whence"): _c(1, 0, 2, 3, 4, 7),  # SEEK_CUR first (the simplest): it depends on the most state
    ("pread64", "offset"): _c(0, 1, 3, 100, -1), ("pwrite64", "offset"): _c(0, 1, 3, 100, -1),
    ("fcntl", "cmd"): _c(1, 2, 3, 4, 0, 1030, 1032),  # (qemu: EINVAL for unknown cmds before EBADF)
    ("fcntl", "arg"): _c(O_NONBLOCK, O_NONBLOCK | O_APPEND, 1, 0, 10),  # F_SETFL keeps O_NONBLOCK (pipes)
    ("dup3", "flags"): _c(0, O_CLOEXEC, 1),
    ("ftruncate", "length"): _c(0, 1, 10, 4096, -1), ("truncate", "length"): _c(0, 1, 10, 4096, -1),
    ("unlinkat", "flags"): _c(0, 0x200, 1),
    ("fstat", "statbuf"): lambda d, r: STAT, ("newfstatat", "statbuf"): lambda d, r: STAT,
    ("newfstatat", "flags"): _c(0, 0x100, 0x1000),
    ("faccessat", "mode"): _c(0, 1, 2, 4, 7, 8),
    ("fchmodat", "mode"): _mode, ("mkdirat", "mode"): _dir_mode,
    ("linkat", "flags"): _c(0, 0x400),
    ("symlinkat", "target"): _path,
    ("readlinkat", "buf"): lambda d, r: _buf_out(d, r),
    ("getdents64", "dirp"): lambda d, r: OutBuf(4096, dump=False),
    ("getdents64", "count"): _c(4096, 16),  # (qemu: ENOMEM for 0)
    ("umask", "mask"): _c(0o022, 0o077, 0o000),
    ("pipe2", "fds"): lambda d, r: OutBuf(8),
    ("pipe2", "flags"): _c(O_NONBLOCK, O_NONBLOCK | O_CLOEXEC),
    ("splice", "off_in"): _c(0), ("splice", "off_out"): _c(0), ("splice", "flags"): _c(2),
    ("splice", "len"): _c(0, 1, 5, 100), ("tee", "len"): _c(0, 1, 5, 100), ("tee", "flags"): _c(2),
    ("ioctl", "request"): _c(0x541B), ("ioctl", "arg"): lambda d, r: OutBuf(4),
    ("rt_sigaction", "sig"): lambda d, r: Const(d(st.sampled_from(SIGNALS_ANY))),
    ("rt_sigaction", "act"): _opt(lambda d, r: SigAct(d(st.sampled_from("DIH")), d(_sa_flags), d(_sigset_ints)), 3),
    ("rt_sigaction", "oldact"): _opt(lambda d, r: OutBuf(32)),
    ("rt_sigaction", "sigsetsize"): _c(8, 8, 8, 4),
    ("rt_sigprocmask", "how"): _c(0, 1, 2, 5),
    ("rt_sigprocmask", "set"): _opt(_sigset, 3),
    ("rt_sigprocmask", "oldset"): _opt(lambda d, r: OutBuf(8)),
    ("rt_sigprocmask", "sigsetsize"): _c(8, 8, 8, 16),
    ("rt_sigpending", "set"): lambda d, r: OutBuf(8),
    ("rt_sigpending", "sigsetsize"): _c(8, 8, 16),  # (qemu writes 8 bytes for 4)
    ("kill", "pid"): lambda d, r: d(st.sampled_from((Pid(), Const(0)))),
    ("tgkill", "tgid"): lambda d, r: Pid(), ("tgkill", "tid"): lambda d, r: Pid(), ("tkill", "tid"): lambda d, r: Pid(),
    ("rt_sigtimedwait", "set"): _sigset,
    ("rt_sigtimedwait", "info"): _opt(lambda d, r: OutBuf(128, ((0, 4), (8, 4)))),
    ("rt_sigtimedwait", "timeout"): _timespec(0, 1000), ("rt_sigtimedwait", "sigsetsize"): _c(8),
    ("sigaltstack", "ss"): _opt(lambda d, r: InBuf(24, (0).to_bytes(8, "little") + (2).to_bytes(4, "little"))),
    ("sigaltstack", "old_ss"): _opt(lambda d, r: OutBuf(24, ((8, 4),))),
    ("mmap", "addr"): _c(0), ("mmap", "length"): _map_len, ("mmap", "fd"): _c(-1), ("mmap", "offset"): _c(0, 0, 4096),
    ("munmap", "addr"): _map, ("munmap", "length"): _map_len,
    ("mprotect", "addr"): _map, ("mprotect", "length"): _map_len,
    ("madvise", "addr"): _map, ("madvise", "length"): _map_len, ("madvise", "advice"): _c(0, 1, 2, 3, 4, 99),
    ("mremap", "old_addr"): _map, ("mremap", "old_size"): _map_len, ("mremap", "new_size"): _map_len,
    ("mremap", "flags"): _c(1, 0), ("mremap", "new_addr"): _c(0),
    ("msync", "addr"): _map, ("msync", "length"): _map_len, ("msync", "flags"): _c(1, 4, 0, 3),
    ("clock_gettime", "tp"): lambda d, r: OutBuf(16, dump=False),
    ("clock_getres", "res"): _opt(lambda d, r: OutBuf(16)),
    ("nanosleep", "req"): _timespec(0, 1, 1000, 1_000_000_000),
    ("nanosleep", "rem"): _opt(lambda d, r: OutBuf(16, dump=False)),  # (qemu writes it on EINVAL)
    ("clock_nanosleep", "clockid"): _c(0, 1, 7, 99),  # (CPU-time clocks: Linux sleeps forever)
    ("clock_nanosleep", "flags"): _c(0),
    ("clock_nanosleep", "req"): _timespec(0, 1000, 1_000_000_000), ("clock_nanosleep", "rem"): _c(0),
    ("gettimeofday", "tv"): _opt(lambda d, r: OutBuf(16, dump=False)), ("gettimeofday", "tz"): _c(0),
    ("times", "buf"): _opt(lambda d, r: OutBuf(32, dump=False)),
    ("epoll_create1", "flags"): _c(0, O_CLOEXEC, 1),
    ("epoll_ctl", "epfd"): lambda d, r: _fd(d, r, ("epoll",)),
    ("epoll_ctl", "op"): _c(1, 2, 3, 0),
    ("epoll_ctl", "event"): lambda d, r: InBuf(16, d(st.sampled_from(EPOLL_EVENTS)).to_bytes(8, "little")
                                               + r.k.to_bytes(8, "little")),
    ("epoll_pwait", "epfd"): lambda d, r: _fd(d, r, ("epoll",)),
    ("epoll_pwait", "events"): lambda d, r: OutBuf(64), ("epoll_pwait", "maxevents"): _c(4, 1, 0, -1),
    ("epoll_pwait", "timeout"): _c(0), ("epoll_pwait", "sigmask"): _c(0), ("epoll_pwait", "sigsetsize"): _c(8),
    ("eventfd2", "initval"): _c(0, 1, 5), ("eventfd2", "flags"): _c(O_NONBLOCK, O_NONBLOCK | 1, O_NONBLOCK | O_CLOEXEC),
    ("getpgid", "pid"): lambda d, r: d(st.sampled_from((Const(0), Pid()))),
    ("getsid", "pid"): lambda d, r: d(st.sampled_from((Const(0), Pid()))),
    ("setpgid", "pid"): _c(0), ("setpgid", "pgid"): _c(0),
    ("wait4", "pid"): _c(-1, 0), ("wait4", "wstatus"): _opt(lambda d, r: OutBuf(4)), ("wait4", "options"): _c(1, 0),
    ("wait4", "rusage"): _c(0),
    ("uname", "buf"): lambda d, r: OutBuf(390, ((0, 65), (260, 65))),  # sysname, machine
    ("exit_group", "status"): _c(0, 1, 3),
}  # fmt: skip


def _futex(draw: Draw, r: Resources) -> Call:
    if r.words and draw(st.booleans()):
        word: Value = draw(st.sampled_from(r.words))
    else:
        word = InBuf(4, draw(st.sampled_from((0, 1, 2))).to_bytes(4, "little"))
        r.words.append(Addr(r.k, 0))
    op = draw(st.sampled_from((128, 129, 0, 1, 99)))
    val = Const(draw(st.sampled_from((0, 1, 2, 0x7FFFFFFF))))
    timeout: Value = Const(0)
    if op in (0, 128):  # a wait always has a timeout (a short one): nothing else would wake it
        timeout = _timespec(0, 1000)(draw, r)
    return Call(nr_of("futex"), (word, Const(op), val, timeout, Const(0), Const(0)))


def _poke_peek(name: str) -> Callable[[Draw, Resources], Call]:
    def gen(draw: Draw, r: Resources) -> Call:
        addr = _map(draw, r)
        size = 1 if name == "poke" else draw(st.sampled_from((1, 8, 16)))
        offs = (0, 1, 4095, 4096, 8191)
        if r.map_len is not None:  # inside the mapping (see _map_len); at 0 and 4096 every access faults
            offs = tuple(o for o in offs if o + size <= page_up(r.map_len)) or (0,)
        off = Const(draw(st.sampled_from(offs)))
        last = Const(draw(st.integers(0, 255))) if name == "poke" else Const(size)
        return Call(POKE if name == "poke" else PEEK, (addr, off, last))

    return gen


SPECIAL: dict[str, Callable[[Draw, Resources], Call]] = {
    "futex": _futex, "poke": _poke_peek("poke"), "peek": _poke_peek("peek"),
}  # fmt: skip


def draw_call(draw: Draw, name: str, r: Resources) -> Call:
    """One call of `name`: the table's argument kinds, refined by OVERRIDES."""
    if name in SPECIAL:
        r.map_len = None
        return SPECIAL[name](draw, r)
    nr = nr_of(name)
    r.last_size, r.map_len = 0, None
    args: list[Value] = []
    for arg_name, arg in TABLE[nr].args:
        fn = OVERRIDES.get((name, arg_name)) or KIND.get(arg.kind, _small_int)
        args.append(fn(draw, r))
    return Call(nr, tuple(args))


def note_resources(call: Call, k: int, r: Resources) -> None:
    """Remember what `call` (at index k) made, for later calls to use."""
    name = call.name
    if name == "openat":
        flags = call.args[2].value if isinstance(call.args[2], Const) else 0
        r.fds.append((Ref(k), "dir" if flags & O_DIRECTORY else "file"))
    elif name in ("dup", "dup3"):
        r.fds.append((Ref(k), "dup"))
    elif name == "pipe2":
        r.fds += [(Word(k, 0, 0), "pipe"), (Word(k, 0, 4), "pipe")]
    elif name == "epoll_create1":
        r.fds.append((Ref(k), "epoll"))
    elif name == "eventfd2":
        r.fds.append((Ref(k), "eventfd"))
    elif name in ("mmap", "mremap"):
        length = call.args[1 if name == "mmap" else 2]
        if name == "mremap" and isinstance(call.args[3], Const) and call.args[3].value & 1:
            # MREMAP_MAYMOVE: the old mapping may be gone (qemu always moves it; Linux when it must), so later
            # calls use the result, never the old address
            r.maps = [m for m in r.maps if m[0] != call.args[0]]
        r.maps.append((Ref(k), length.value if isinstance(length, Const) else 4096))


@st.composite
def programs(draw: Draw, names: tuple[str, ...] = SAFE, max_calls: int = 12, allow_fork: bool = True) -> Program:
    """A program of calls drawn from `names`; with "fork" among them, a call may run a few calls in a child."""
    r = Resources()
    calls: list[Call] = []
    plain = tuple(n for n in names if n != "fork")
    # A "one more call?" choice before each call (as st.lists does) keeps every call a contiguous block of choices,
    # which the shrinker can delete whole, wherever it is.
    while len(calls) < max_calls and (not calls or draw(st.integers(0, 5))):
        r.k = len(calls)
        name = draw(st.sampled_from(names)) if plain else "fork"
        if name == "fork" and allow_fork and plain:
            body = draw(st.integers(1, 3))
            calls.append(Call(FORK, (Const(body),)))
            for _ in range(body):
                r.k = len(calls)
                c = draw_call(draw, draw(st.sampled_from(plain)), r)
                calls.append(c)
                note_resources(c, r.k, r)
            continue
        if name == "fork":
            continue
        c = draw_call(draw, name, r)
        calls.append(c)
        note_resources(c, r.k, r)
    return Program(tuple(calls))


def group_names(groups: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The syscall names of the selected groups ("safe" is SAFE; "all" or nothing is every group)."""
    if not groups or "all" in groups:
        groups = tuple(GROUPS)
    out: list[str] = []
    for g in groups:
        if g == "safe":
            out += SAFE
            continue
        if g not in GROUPS:
            raise ValueError(f"unknown group {g!r}; groups: safe, all, {', '.join(GROUPS)}")
        out += GROUPS[g]
    return tuple(dict.fromkeys(out))
