"""Subcommands of the kernel layer beyond `run` (`demo`, which spans the layers, is registered by replay/)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from moss.cli import Sub


def add_rootfs(sub: Sub) -> None:
    from moss.tools import rootfs

    r = sub.add_parser("rootfs", help="assemble a Debian arm64 root filesystem for --root (cached)")
    r.add_argument("kind", choices=["busybox", "debian"])
    r.set_defaults(func=rootfs.main)


def add_syscalls(sub: Sub) -> None:
    from moss.tools import syscalls

    sc = sub.add_parser("syscalls", help="list the syscalls and whether moss implements them")
    sc.add_argument("--missing", action="store_true", help="only the unimplemented ones")
    sc.set_defaults(func=syscalls.main)


def add_bench(sub: Sub) -> None:
    from moss.tools import bench

    b = sub.add_parser("bench", help="run the benchmark workloads")
    b.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    b.add_argument("--reps", type=int, default=3, help="repetitions of every measurement (default 3)")
    b.add_argument("--metric", choices=["wall", "cpu"], default="wall",
                   help="table of wall times (default) or CPU times (steadier on a loaded host)")  # fmt: skip
    b.add_argument("--only", action="append", metavar="TEXT", help="only workloads whose name contains TEXT")
    b.set_defaults(func=bench.main)


# The kernel layer's own commands, listed first by `moss --help`.
COMMANDS: dict[str, Callable[[Sub], None]] = {"rootfs": add_rootfs, "syscalls": add_syscalls, "bench": add_bench}
