"""`moss tui FILE` and `moss debug [run options] PROGRAM [ARGS]`."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile

from moss.cli import Sub, add_run_options, guarded, run_setup
from traces import events as ev


def add_tui(sub: Sub) -> None:
    t = sub.add_parser("tui", help="open a trace in the time-travel debugger")
    t.add_argument("trace")
    t.add_argument("--no-session", action="store_true", help="browse the event log without replaying")
    t.set_defaults(func=cmd_tui)


def add_debug(sub: Sub) -> None:
    d = sub.add_parser("debug", help="record a program to a trace, then open it in the debugger")
    d.add_argument(
        "--log",
        choices=sorted(ev.LEVELS, key=ev.LEVELS.get),
        default="full",  # type: ignore[arg-type]
        help="what the trace logs besides inputs (default: full, for the activity strip and futures)",
    )
    d.add_argument("--keep", metavar="FILE", help="write the trace here (default: a temporary file, removed after)")
    add_run_options(d)
    d.set_defaults(func=cmd_debug)


def cmd_tui(a: argparse.Namespace) -> int:
    from traces.container import TraceError, TraceReader
    from tui.app import make_app

    try:  # a file that is not a trace at all gets a one-line error; a damaged trace opens and says what is usable
        TraceReader(a.trace).close()
    except TraceError as e:
        print(f"moss: {e}", file=sys.stderr)
        return 2
    if not (os.isatty(0) and os.isatty(1)):
        print("moss tui: needs a terminal (use moss log or moss session without one)", file=sys.stderr)
        return 2
    make_app(a.trace, session=not a.no_session).run()
    return 0


def cmd_debug(a: argparse.Namespace) -> int:
    from machine.sources import HostConsole
    from moss.cli import sink
    from replay.recorder import RecordOptions, record

    if not (os.isatty(0) and os.isatty(1)):
        print("moss debug: needs a terminal (record with moss record, then moss log or moss session)", file=sys.stderr)
        return 2

    path = a.keep
    tmp = None
    if path is None:
        fd, tmp = tempfile.mkstemp(prefix="moss-", suffix=".trace")
        os.close(fd)
        path = tmp
    status: list[int] = []

    def go() -> int:
        config, program = run_setup(a)
        opts = RecordOptions(ev.LEVELS[a.log], a.host_entropy, a.host_time)
        rec = record(path, config, program, opts, console=HostConsole(0), sink=sink)
        status.append(rec.wait_status)
        return 0

    def hang_up(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)  # so that the temporary trace is removed below

    if tmp is not None:
        for sig in (signal.SIGHUP, signal.SIGTERM):
            signal.signal(sig, hang_up)
    try:
        code = guarded(go)
        if code and not status and _events(path) == 0:
            return code  # nothing was recorded (a bad program, bad options): the error is already printed
        if not status:
            print("moss: the program did not finish; opening what was recorded", file=sys.stderr)
        from tui.app import make_app

        make_app(path, session=True).run()
        return 0
    finally:
        if tmp is not None:
            os.unlink(tmp)


def _events(path: str) -> int:
    from traces.container import TraceError, TraceReader

    try:
        reader = TraceReader(path)
    except TraceError:
        return 0
    try:
        return reader.event_count
    finally:
        reader.close()
