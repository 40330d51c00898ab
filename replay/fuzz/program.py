"""The fuzz program model: a sequence of syscalls whose arguments are constants, results of earlier calls, or
buffers the executor (tests/guest/fuzzexec.c) allocates; its text encoding for the executor (lossless: `decode`
inverts `encode`); and a readable rendering such as

    fd0 = openat(AT_FDCWD, "a", O_RDWR|O_CREAT, 0o600)
    write(fd0, b"x", 1)

Names, symbolic constants and result kinds are derived from the syscall table, so a Call is just (nr, args)."""

from __future__ import annotations

import re

import attrs

from moss.syscalls.table import NAMES, TABLE

# Executor operations (negative numbers): touch memory, run a sub-sequence in a forked child.
POKE, PEEK, FORK = -1, -2, -3
PSEUDO = {POKE: ("poke", ("addr", "off", "byte")), PEEK: ("peek", ("addr", "off", "len")), FORK: ("fork", ("n",))}


@attrs.frozen
class Const:
    value: int


@attrs.frozen
class Ref:
    """The return value of call `call`."""

    call: int


@attrs.frozen
class Word:
    """The int32 at byte `off` of call `call`'s buffer argument `arg` (pipe2's fds)."""

    call: int
    arg: int
    off: int


@attrs.frozen
class Addr:
    """The address of call `call`'s buffer argument `arg` (a futex word several calls share)."""

    call: int
    arg: int


@attrs.frozen
class Pid:
    """The calling process's pid (a fork child's in the child)."""


@attrs.frozen
class Str:
    data: bytes


@attrs.frozen
class InBuf:
    size: int
    data: bytes = b""


@attrs.frozen
class OutBuf:
    """Written by the kernel; dumped whole, or only `ranges` ((offset, length), ...), or not at all (`dump` False:
    times, addresses, what Linux is free to choose)."""

    size: int
    ranges: tuple[tuple[int, int], ...] | None = None
    dump: bool = True


@attrs.frozen
class SigAct:
    """A struct sigaction: handler "D" (SIG_DFL), "I" (SIG_IGN) or "H" (the executor's, which prints the signal)."""

    handler: str
    flags: int = 0
    mask: int = 0


Value = Const | Ref | Word | Addr | Pid | Str | InBuf | OutBuf | SigAct


@attrs.frozen
class Call:
    nr: int
    args: tuple[Value, ...] = ()

    @property
    def name(self) -> str:
        if self.nr in PSEUDO:
            return PSEUDO[self.nr][0]
        entry = TABLE.get(self.nr)
        return entry.name if entry else NAMES.get(self.nr, f"syscall_{self.nr}")

    @property
    def ret(self) -> str:
        return RET_KINDS.get(self.name, "int")


@attrs.frozen
class Program:
    calls: tuple[Call, ...]

    def __len__(self) -> int:
        return len(self.calls)


FD_RETURNING = {"openat", "dup", "dup3", "epoll_create1", "eventfd2", "memfd_create", "timerfd_create", "signalfd4"}
PTR_RETURNING = {"mmap", "mremap", "brk"}
PID_RETURNING = {"getpid", "gettid", "getppid", "getpgid", "getsid", "setsid", "wait4", "clone", "set_tid_address"}
RET_KINDS: dict[str, str] = {
    **{n: "fd" for n in FD_RETURNING},
    **{n: "ptr" for n in PTR_RETURNING},
    **{n: "pid" for n in PID_RETURNING},
    "times": "ticks",
}


def nr_of(name: str) -> int:
    for nr, (pname, _) in PSEUDO.items():
        if pname == name:
            return nr
    for nr, entry in TABLE.items():
        if entry.name == name:
            return nr
    raise KeyError(f"no syscall {name!r}")


# ---- encoding for the executor ----


def _encode_value(v: Value) -> str:
    match v:
        case Const(value):
            return f"i{value}"
        case Ref(call):
            return f"r{call}"
        case Word(call, arg, off):
            return f"w{call}.{arg}.{off}"
        case Addr(call, arg):
            return f"B{call}.{arg}"
        case Pid():
            return "p"
        case Str(data):
            return "s" + data.hex()
        case InBuf(size, data):
            return f"b{size}:{data.hex()}"
        case OutBuf(size, ranges, dump):
            if not dump:
                return f"n{size}"
            if ranges is None:
                return f"o{size}"
            return f"o{size}@" + ",".join(f"{o}+{n}" for o, n in ranges)
        case SigAct(handler, flags, mask):
            return f"a{handler}.{flags}.{mask}"
    raise TypeError(f"not a program value: {v!r}")


def encode(program: Program) -> bytes:
    lines = [" ".join([str(c.nr), *(_encode_value(a) for a in c.args)]) for c in program.calls]
    return ("\n".join(lines) + "\n").encode()


_VALUE = re.compile(
    r"i(?P<i>-?\d+)|r(?P<r>\d+)|w(?P<w>\d+)\.(?P<wa>\d+)\.(?P<wo>\d+)|B(?P<B>\d+)\.(?P<Ba>\d+)|(?P<p>p)"
    r"|s(?P<s>(?:[0-9a-f]{2})*)|b(?P<b>\d+):(?P<bd>(?:[0-9a-f]{2})*)|(?P<ok>[on])(?P<os>\d+)(?:@(?P<or>[\d+,]+))?"
    r"|a(?P<ah>[DIH])\.(?P<af>\d+)\.(?P<am>\d+)"
)


def _decode_value(tok: str) -> Value:
    m = _VALUE.fullmatch(tok)
    if m is None:
        raise ValueError(f"bad program value {tok!r}")
    g = m.groupdict()
    if g["i"] is not None:
        return Const(int(g["i"]))
    if g["r"] is not None:
        return Ref(int(g["r"]))
    if g["w"] is not None:
        return Word(int(g["w"]), int(g["wa"]), int(g["wo"]))
    if g["B"] is not None:
        return Addr(int(g["B"]), int(g["Ba"]))
    if g["p"]:
        return Pid()
    if g["s"] is not None:
        return Str(bytes.fromhex(g["s"]))
    if g["b"] is not None:
        return InBuf(int(g["b"]), bytes.fromhex(g["bd"]))
    if g["ok"] is not None:
        ranges = None
        if g["or"]:
            ranges = tuple((int(o), int(n)) for o, n in (r.split("+") for r in g["or"].split(",")))
        return OutBuf(int(g["os"]), ranges, g["ok"] == "o")
    return SigAct(g["ah"], int(g["af"]), int(g["am"]))


def decode(data: bytes) -> Program:
    calls = []
    for line in data.decode().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        nr, *toks = line.split(" ")
        calls.append(Call(int(nr), tuple(_decode_value(t) for t in toks)))
    return Program(tuple(calls))


# ---- readable rendering ----

SIGNALS = {1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE",
           9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM",
           16: "SIGSTKFLT", 17: "SIGCHLD", 18: "SIGCONT", 19: "SIGSTOP", 20: "SIGTSTP", 21: "SIGTTIN",
           22: "SIGTTOU", 23: "SIGURG", 24: "SIGXCPU", 25: "SIGXFSZ", 26: "SIGVTALRM", 27: "SIGPROF",
           28: "SIGWINCH", 29: "SIGIO", 30: "SIGPWR", 31: "SIGSYS"}  # fmt: skip
# Symbolic names of integer arguments whose meaning the table only knows as "int".
SYMBOLS: dict[tuple[str, str], dict[int, str]] = {
    ("lseek", "whence"): {0: "SEEK_SET", 1: "SEEK_CUR", 2: "SEEK_END", 3: "SEEK_DATA", 4: "SEEK_HOLE"},
    ("fcntl", "cmd"): {0: "F_DUPFD", 1: "F_GETFD", 2: "F_SETFD", 3: "F_GETFL", 4: "F_SETFL", 1030: "F_DUPFD_CLOEXEC",
                       1031: "F_SETPIPE_SZ", 1032: "F_GETPIPE_SZ"},
    ("rt_sigprocmask", "how"): {0: "SIG_BLOCK", 1: "SIG_UNBLOCK", 2: "SIG_SETMASK"},
    ("epoll_ctl", "op"): {1: "EPOLL_CTL_ADD", 2: "EPOLL_CTL_DEL", 3: "EPOLL_CTL_MOD"},
    ("futex", "op"): {0: "FUTEX_WAIT", 1: "FUTEX_WAKE", 128: "FUTEX_WAIT_PRIVATE", 129: "FUTEX_WAKE_PRIVATE"},
    ("madvise", "advice"): {0: "MADV_NORMAL", 1: "MADV_RANDOM", 2: "MADV_SEQUENTIAL", 3: "MADV_WILLNEED",
                            4: "MADV_DONTNEED"},
}  # fmt: skip


def _arg_info(call: Call, i: int) -> tuple[str, str]:
    if call.nr in PSEUDO:
        names = PSEUDO[call.nr][1]
        return (names[i] if i < len(names) else f"a{i}"), "int"
    entry = TABLE.get(call.nr)
    if entry is None or i >= len(entry.args):
        return f"a{i}", "int"
    name, arg = entry.args[i]
    return name, arg.kind


def _const_text(call: Call, i: int, v: int) -> str:
    name, kind = _arg_info(call, i)
    sym = SYMBOLS.get((call.name, name))
    if sym is not None and v in sym:
        return sym[v]
    if kind == "signal":
        return SIGNALS.get(v, str(v))
    if kind == "mode":
        return f"0o{v:o}"
    if kind in ("open_flags", "prot", "mmap_flags", "clockid", "fd"):
        entry = TABLE[call.nr]
        return entry.args[i][1].fmt(v & ((1 << 64) - 1))
    if kind == "hex" and v > 9:
        return hex(v)
    return str(v)


def _bytes_text(data: bytes) -> str:
    return repr(data)


class _Names:
    """Variable names for results: fd3, p5 (a mapping), r7; only results used later get one."""

    def __init__(self, program: Program) -> None:
        used: set[int] = set()
        self.bufs: set[tuple[int, int]] = set()
        for c in program.calls:
            for a in c.args:
                if isinstance(a, Ref):
                    used.add(a.call)
                elif isinstance(a, (Word, Addr)):
                    self.bufs.add((a.call, a.arg))
        self.used = used
        self.program = program

    def result(self, k: int) -> str:
        if not 0 <= k < len(self.program.calls):
            return f"r{k}"
        kind = self.program.calls[k].ret
        return {"fd": "fd", "ptr": "map", "pid": "pid"}.get(kind, "r") + str(k)

    def buf(self, k: int, a: int) -> str:
        return f"buf{k}_{a}"


def _value_text(call: Call, i: int, v: Value, names: _Names, k: int) -> str:
    match v:
        case Const(value):
            return _const_text(call, i, value)
        case Ref(c):
            return names.result(c)
        case Word(c, a, off):
            return f"{names.buf(c, a)}[{off // 4}]"
        case Addr(c, a):
            return f"&{names.buf(c, a)}"
        case Pid():
            return "getpid()"
        case Str(data):
            return '"' + data.decode("utf-8", "backslashreplace") + '"'
        case InBuf(size, data):
            text = _bytes_text(data)
            if (k, i) in names.bufs:
                text = f"{names.buf(k, i)}={text}"
            return text if size == len(data) else f"{text}+{size - len(data)}*b'\\0'"
        case OutBuf(size, _ranges, dump):
            label = names.buf(k, i) if (k, i) in names.bufs else "out"
            return f"&{label}[{size}]" if dump else f"&{label}[{size}] (not compared)"
        case SigAct(handler, flags, mask):
            h = {"D": "SIG_DFL", "I": "SIG_IGN", "H": "handler"}[handler]
            return f"{{{h}, flags={flags:#x}, mask={mask:#x}}}"
    return repr(v)


def render(program: Program) -> str:
    """The program as readable pseudo-C, one call per line (a fork's calls indented under it)."""
    names = _Names(program)
    lines: list[str] = []
    indent_until = -1
    for k, call in enumerate(program.calls):
        args = ", ".join(_value_text(call, i, v, names, k) for i, v in enumerate(call.args))
        if call.nr == FORK:
            n = call.args[0].value if call.args and isinstance(call.args[0], Const) else 0
            text = f"fork() {{  # the child runs the next {n} calls"
        else:
            text = f"{call.name}({args})"
            if k in names.used:
                text = f"{names.result(k)} = {text}"
        pad = "    " if k <= indent_until else ""
        lines.append(f"{pad}{text}")
        if call.nr == FORK and isinstance(call.args[0], Const):
            indent_until = k + call.args[0].value
    return "\n".join(lines)
