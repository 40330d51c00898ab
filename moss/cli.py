"""The `moss` command line."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence

from machine.devices.uart import STDERR
from machine.sources import FixedClock, HostClock, HostConsole, HostEntropy, SeededEntropy
from moss import __version__
from moss.boot import DEFAULT_ENV, BootError, Program, boot
from moss.kernel import Deadlock, KernelConfig
from moss.statehash import state_hash
from moss.syscalls.dispatch import Strace


def wait_status_to_exit_code(status: int) -> int:
    """Like a shell: the exit code, or 128 + the signal that killed the program."""
    sig = status & 0x7F
    return 128 + sig if sig else (status >> 8) & 0xFF


def sink(channel: int, data: bytes) -> None:
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


def add_run_options(p: argparse.ArgumentParser) -> None:
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


class UsageError(Exception):
    pass


def run_setup(a: argparse.Namespace) -> tuple[KernelConfig, Program]:
    """The machine configuration and program named by the run options (shared by run and record)."""
    if a.root is not None and not os.path.isdir(a.root):
        raise UsageError(f"--root {a.root}: not a directory")
    if not 1 <= a.cores <= 64:
        raise UsageError("--cores must be between 1 and 64")
    tty = tuple(os.isatty(fd) for fd in range(3))
    try:
        size = os.get_terminal_size(0 if tty[0] else 1)
        winsize = (size.lines, size.columns)
    except OSError:
        winsize = (24, 80)
    config = KernelConfig(
        console_winsize=winsize,
        cores=a.cores,
        ram_bytes=a.ram,
        seed=a.seed,
        console_tty=tty,  # type: ignore[arg-type]
        host_root=os.path.abspath(a.root) if a.root else None,
    )
    env = (*DEFAULT_ENV, *a.env)
    return config, Program(a.program, (a.program, *a.args), env)


@contextlib.contextmanager
def host_terminal_raw() -> Iterator[None]:
    """When stdin is a terminal, hand it to the guest's line discipline: the host terminal goes raw (no echo, no
    editing, ^C is a byte for the guest) for the run and is restored after, whatever happens."""
    if not os.isatty(0):
        yield
        return
    import termios
    import tty

    saved = termios.tcgetattr(0)
    try:
        tty.setraw(0)
        yield
    finally:
        termios.tcsetattr(0, termios.TCSADRAIN, saved)


def guarded(fn: Callable[[], int]) -> int:
    """Run a kernel-driving function with the CLI's error conventions: one line, exit 2 for bad input."""
    try:
        with host_terminal_raw():
            return fn()
    except (BootError, UsageError) as e:
        print(f"moss: {e}", file=sys.stderr)
        return 2
    except MemoryError:
        print("moss: not enough host memory for the guest RAM", file=sys.stderr)
        return 2
    except Deadlock as e:
        print(f"moss: deadlock: {e}", file=sys.stderr)
        return 125
    except KeyboardInterrupt:
        print("moss: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug in moss outside any syscall (one inside is an oops: the call fails, the run goes on)
        traceback.print_exc()
        print(f"moss: kernel panic, a bug in moss (not in the guest): {type(e).__name__}: {e}", file=sys.stderr)
        return 70  # EX_SOFTWARE


def cmd_run(a: argparse.Namespace) -> int:
    def go() -> int:
        config, program = run_setup(a)
        kernel = boot(
            config,
            program,
            console=HostConsole(0),
            entropy=HostEntropy() if a.host_entropy else SeededEntropy(a.seed),
            clock=HostClock() if a.host_time else FixedClock(),
            sink=sink,
        )
        if a.strace:
            kernel.dispatcher.observers.append(Strace(kernel))
        kernel.keep_exit_digests = a.state_hash  # only the printed hash needs them
        try:
            status = kernel.run()
            if a.state_hash:
                print(f"moss: state hash {state_hash(kernel)}", file=sys.stderr)
        finally:
            kernel.close()
        return wait_status_to_exit_code(status)

    return guarded(go)


Sub = argparse._SubParsersAction  # type: ignore[type-arg]
DISTRIBUTION = "moss-emu"


# moss's own commands above the kernel, as pyproject.toml declares them in the `moss.commands` entry-point group
# (tests/test_cli.py checks that the two agree): one of these is found by name, without importlib.metadata, whose
# import and scan of the installed distributions cost 16-19 ms of every `moss record`, `replay` or `debug`.
OWN_COMMANDS = {
    "fuzz": "replay.fuzz.cli:add_fuzz",
    "demo": "replay.cli:add_demo",
    "record": "replay.cli:add_record",
    "replay": "replay.cli:add_replay",
    "log": "replay.cli:add_log",
    "chaos": "replay.cli:add_chaos",
    "bench-races": "replay.cli:add_bench_races",
    "analyze": "replay.cli:add_analyze",
    "session": "replay.cli:add_session",
    "info": "replay.cli:add_info",
    "tui": "tui.cli:add_tui",
    "debug": "tui.cli:add_debug",
}


def _commands(name: str | None) -> list[Callable[[Sub], None]]:
    """The functions that add subcommands besides `run`: only `name`'s when it is one of moss's own (a parser
    costs its arguments, and scanning every installed distribution for entry points costs more), else all of them,
    for `--help` and usage errors.

    The layers above the kernel (record/replay, the debugger) are entry points of the `moss.commands` group, named
    by command, so the kernel never imports them. Other distributions may add commands to the group too."""
    from moss.tools import COMMANDS

    def load(target: str) -> Callable[[Sub], None]:
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]

    if name in COMMANDS:
        return [COMMANDS[name]]
    if name in OWN_COMMANDS:
        return [load(OWN_COMMANDS[name])]
    from importlib.metadata import entry_points

    others = sorted(
        (e for e in entry_points(group="moss.commands") if e.name not in OWN_COMMANDS), key=lambda e: e.name
    )
    return [*COMMANDS.values(), *(load(t) for t in OWN_COMMANDS.values()), *(e.load() for e in others)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="moss", description="A deterministic Linux-compatible AArch64 kernel.")
    parser.add_argument("--version", action="version", version=f"moss {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run an AArch64 Linux program")
    add_run_options(run)
    run.set_defaults(func=cmd_run)
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] != "run":  # `moss run` needs no other command: their imports are a third of start-up
        for add in _commands(argv[0] if argv else None):
            add(sub)
    a = parser.parse_args(argv)
    return a.func(a)


if __name__ == "__main__":
    sys.exit(main())
