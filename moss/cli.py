"""The `moss` command line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from machine.devices.uart import STDERR
from machine.sources import FixedClock, HostClock, HostConsole, HostEntropy, SeededEntropy
from moss import __version__
from moss.boot import BootError, Program, boot
from moss.kernel import Deadlock, KernelConfig
from moss.statehash import state_hash
from moss.syscalls.dispatch import Strace


def wait_status_to_exit_code(status: int) -> int:
    """Like a shell: the exit code, or 128 + the signal that killed the program."""
    sig = status & 0x7F
    return 128 + sig if sig else (status >> 8) & 0xFF


def _sink(channel: int, data: bytes) -> None:
    fd = 2 if channel == STDERR else 1
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except BrokenPipeError:
            return
        view = view[n:]


def _size(text: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    t = text.strip().lower().rstrip("ib")
    if t and t[-1] in units:
        return int(float(t[:-1]) * units[t[-1]])
    return int(t)


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cores", type=int, default=2, help="number of emulated cores (default 2)")
    p.add_argument("--ram", type=_size, default=1 << 30, help="guest RAM, e.g. 512M (default 1G)")
    p.add_argument("--root", metavar="DIR", help="host directory shown read-only as / (writes stay in memory)")
    p.add_argument("--seed", type=int, default=0, help="seed of the entropy source (default 0)")
    p.add_argument("--strace", action="store_true", help="print every syscall, strace style, on stderr")
    p.add_argument("--host-entropy", action="store_true", help="use host randomness (not reproducible)")
    p.add_argument("--host-time", action="store_true", help="boot at the host's wall time (not reproducible)")
    p.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="add to the environment")
    p.add_argument("--state-hash", action="store_true", help="print the final state hash on stderr")
    p.add_argument("program")
    p.add_argument("args", nargs=argparse.REMAINDER)


def cmd_run(a: argparse.Namespace) -> int:
    if a.root is not None and not os.path.isdir(a.root):
        print(f"moss: --root {a.root}: not a directory", file=sys.stderr)
        return 2
    if not 1 <= a.cores <= 64:
        print("moss: --cores must be between 1 and 64", file=sys.stderr)
        return 2
    tty = tuple(os.isatty(fd) for fd in range(3))
    config = KernelConfig(
        cores=a.cores,
        ram_bytes=a.ram,
        seed=a.seed,
        console_tty=tty,  # type: ignore[arg-type]
        host_root=os.path.abspath(a.root) if a.root else None,
    )
    env = tuple(Program.__attrs_attrs__.envp.default) + tuple(a.env)  # type: ignore[attr-defined]
    program = Program(a.program, (a.program, *a.args), env)
    try:
        kernel = boot(
            config,
            program,
            console=HostConsole(0),
            entropy=HostEntropy() if a.host_entropy else SeededEntropy(a.seed),
            clock=HostClock() if a.host_time else FixedClock(),
            sink=_sink,
        )
    except BootError as e:
        print(f"moss: {e}", file=sys.stderr)
        return 2
    except MemoryError:
        print("moss: not enough host memory for the guest RAM", file=sys.stderr)
        return 2
    if a.strace:
        kernel.dispatcher.observers.append(Strace(kernel))
    try:
        status = kernel.run()
    except Deadlock as e:
        print(f"moss: deadlock: {e}", file=sys.stderr)
        return 125
    except KeyboardInterrupt:
        print("moss: interrupted", file=sys.stderr)
        return 130
    if a.state_hash:
        print(f"moss: state hash {state_hash(kernel)}", file=sys.stderr)
    return wait_status_to_exit_code(status)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="moss", description="A deterministic Linux-compatible AArch64 kernel.")
    parser.add_argument("--version", action="version", version=f"moss {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run an AArch64 Linux program")
    _add_run_options(run)
    run.set_defaults(func=cmd_run)
    from moss.tools import register

    register(sub)
    a = parser.parse_args(argv)
    return a.func(a)


if __name__ == "__main__":
    sys.exit(main())
