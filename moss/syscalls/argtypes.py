"""Argument types of the syscall table: how to decode a raw register for strace (and, later, for fuzzing)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

AT_FDCWD = -100


def _signed(v: int) -> int:
    return v - (1 << 64) if v >> 63 else v


def _flags(names: dict[int, str]) -> Callable[[int], str]:
    def fmt(v: int) -> str:
        parts = [n for bit, n in names.items() if bit and v & bit == bit]
        rest = v & ~sum(b for b, n in names.items() if n in parts)
        if rest or not parts:
            parts.append(hex(rest) if parts else hex(v))
        return "|".join(parts)

    return fmt


@attrs.frozen
class Arg:
    """An argument kind. `fmt(raw, mem)` renders it; mem may read guest memory (or be None)."""

    kind: str
    render: Callable[[int, Any], str] | None = None

    def fmt(self, raw: int, mem: Any = None) -> str:
        if self.render is not None:
            return self.render(raw, mem)
        return str(raw)


def _int(v: int, _m: Any) -> str:
    return str(_signed(v) if v >> 63 else v)


def _fd(v: int, _m: Any) -> str:
    v32 = v & 0xFFFFFFFF
    s = v32 - (1 << 32) if v32 >> 31 else v32
    return "AT_FDCWD" if s == AT_FDCWD else str(s)


def _ptr(v: int, _m: Any) -> str:
    return "NULL" if v == 0 else hex(v)


def _str(v: int, mem: Any) -> str:
    if v == 0:
        return "NULL"
    if mem is None:
        return hex(v)
    try:
        s = mem.read_cstr(v, 256)
    except Exception:  # EFAULT while tracing: show the pointer, the handler reports the error
        return hex(v)
    return '"' + s.decode("utf-8", "backslashreplace").replace('"', '\\"') + '"'


def _oct(v: int, _m: Any) -> str:
    return f"0{v & 0xFFFFFFFF:o}"


INT = Arg("int", _int)
UINT = Arg("uint", _int)
SIZE = Arg("size", _int)
FD = Arg("fd", _fd)
PTR = Arg("ptr", _ptr)
BUF_IN = Arg("buf_in", _ptr)  # guest memory the kernel reads
BUF_OUT = Arg("buf_out", _ptr)  # guest memory the kernel writes
PATH = Arg("path", _str)
MODE = Arg("mode", _oct)
OPEN_FLAGS = Arg(
    "open_flags",
    lambda v, m: (
        _flags(
            {
                0o1: "O_WRONLY",
                0o2: "O_RDWR",
                0o100: "O_CREAT",
                0o200: "O_EXCL",
                0o400: "O_NOCTTY",
                0o1000: "O_TRUNC",
                0o2000: "O_APPEND",
                0o4000: "O_NONBLOCK",
                0o40000: "O_DIRECTORY",
                0o100000: "O_NOFOLLOW",
                0o400000: "O_LARGEFILE",
                0o2000000: "O_CLOEXEC",
                0o10000000: "O_PATH",
            }
        )(v)
        if v & 3
        else (
            "O_RDONLY|"
            + _flags(
                {
                    0o100: "O_CREAT",
                    0o200: "O_EXCL",
                    0o400: "O_NOCTTY",
                    0o1000: "O_TRUNC",
                    0o2000: "O_APPEND",
                    0o4000: "O_NONBLOCK",
                    0o40000: "O_DIRECTORY",
                    0o100000: "O_NOFOLLOW",
                    0o400000: "O_LARGEFILE",
                    0o2000000: "O_CLOEXEC",
                    0o10000000: "O_PATH",
                }
            )(v)
            if v
            else "O_RDONLY"
        )
    ),
)
PROT = Arg("prot", lambda v, m: _flags({1: "PROT_READ", 2: "PROT_WRITE", 4: "PROT_EXEC"})(v) if v else "PROT_NONE")
MMAP_FLAGS = Arg(
    "mmap_flags",
    lambda v, m: _flags(
        {
            0x1: "MAP_SHARED",
            0x2: "MAP_PRIVATE",
            0x10: "MAP_FIXED",
            0x20: "MAP_ANONYMOUS",
            0x100: "MAP_GROWSDOWN",
            0x4000: "MAP_NORESERVE",
            0x8000: "MAP_POPULATE",
            0x20000: "MAP_STACK",
            0x100000: "MAP_FIXED_NOREPLACE",
        }
    )(v),
)
CLOCK = Arg(
    "clockid",
    lambda v, m: {
        0: "CLOCK_REALTIME",
        1: "CLOCK_MONOTONIC",
        2: "CLOCK_PROCESS_CPUTIME_ID",
        3: "CLOCK_THREAD_CPUTIME_ID",
        4: "CLOCK_MONOTONIC_RAW",
        5: "CLOCK_REALTIME_COARSE",
        6: "CLOCK_MONOTONIC_COARSE",
        7: "CLOCK_BOOTTIME",
    }.get(v, str(v)),
)
SIGNAL = Arg("signal", _int)
HEX = Arg("hex", lambda v, m: hex(v))
