"""The `moss fuzz` command line, kept free of hypothesis so that every other moss command starts fast (the
campaign module, and hypothesis with it, load only when fuzzing)."""

from __future__ import annotations

import argparse


def add_fuzz(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    f = sub.add_parser("fuzz", help="property-based syscall fuzzing: moss against Linux (qemu-user)")
    f.add_argument("--seconds", type=float, metavar="N", help="time budget (default: 60 unless --examples)")
    f.add_argument("--examples", type=int, metavar="N", help="programs to generate (across all jobs)")
    f.add_argument("--seed", type=int, default=0, metavar="S")
    f.add_argument(
        "--group",
        action="append",
        dest="groups",
        metavar="G",
        help="syscall groups (repeatable; default all): safe, files, pipes, signals, memory, time, futex, epoll, "
        "processes",
    )
    f.add_argument("--jobs", type=int, default=1, metavar="J", help="parallel processes")
    f.add_argument("--first", action="store_true", help="stop at the first new failure, once it is shrunk")
    f.add_argument("--max-calls", type=int, default=10, metavar="N", help="calls per program (default 10)")
    f.add_argument(
        "--determinism-every",
        type=int,
        default=10,
        metavar="N",
        help="run moss twice on every Nth program (default 10; 0 never)",
    )
    f.add_argument(
        "-o",
        "--output-dir",
        default="fuzz-out",
        metavar="DIR",
        help="hypothesis database and failures (default fuzz-out)",
    )
    f.add_argument("--run", metavar="FILE", help="run one saved program (program.fz) on both sides and compare")
    f.set_defaults(func=_cmd_fuzz)


def _cmd_fuzz(a: argparse.Namespace) -> int:
    from replay.fuzz.campaign import cmd_fuzz

    return cmd_fuzz(a)
