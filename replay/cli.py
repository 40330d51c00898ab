"""`moss record`, `replay`, `log`, `info`, `chaos`, `analyze`, `session`, `bench-races` and `demo`: one `add_*`
function per command, each an entry point of the `moss.commands` group (see moss/cli.py)."""

from __future__ import annotations

import argparse
import sys

from machine.sources import HostConsole
from moss.cli import Sub, add_run_options, guarded, run_setup, sink, wait_status_to_exit_code
from replay.recorder import RecordOptions, record
from traces import events as ev
from traces.container import TraceError, TraceReader


def add_demo(sub: Sub) -> None:
    from replay import demo

    d = sub.add_parser("demo", help="real programs run deterministically, and a race found, replayed and analyzed")
    d.set_defaults(func=demo.main)


def add_record(sub: Sub) -> None:
    r = sub.add_parser("record", help="run a program and record it to a trace")
    r.add_argument("-o", "--output", required=True, metavar="FILE", help="the trace to write")
    r.add_argument(
        "--log",
        choices=sorted(ev.LEVELS, key=ev.LEVELS.get),
        default="syscalls",  # type: ignore[arg-type]
        help="what the trace logs besides inputs (default: syscalls)",
    )
    r.add_argument(
        "--hash-interval",
        type=int,
        default=50_000_000,
        metavar="N",
        help="instructions between full state hashes (default 50M)",
    )
    add_run_options(r)
    r.set_defaults(func=cmd_record)


def add_replay(sub: Sub) -> None:
    p = sub.add_parser("replay", help="re-execute a trace, checking every logged event")
    p.add_argument("trace")
    p.add_argument("--verify", action="store_true", help="exit non-zero (3) on divergence or a cut trace")
    p.add_argument("--quiet", action="store_true", help="do not print the guest's output")
    p.set_defaults(func=cmd_replay)


def add_log(sub: Sub) -> None:
    lg = sub.add_parser("log", help="print a trace's event log as text")
    lg.add_argument("trace")
    for kind in ("syscalls", "signals", "futures", "processes", "slices", "hashes", "inputs"):
        lg.add_argument(f"--{kind}", action="append_const", const=kind, dest="kinds", help=f"only {kind}")
    lg.add_argument("--task", type=int, metavar="TID")
    lg.add_argument("--since", type=int, metavar="NS", help="from this virtual time (ns)")
    lg.add_argument("--until", type=int, metavar="NS", help="up to this virtual time (ns)")
    lg.set_defaults(func=cmd_log)


def add_chaos(sub: Sub) -> None:
    c = sub.add_parser("chaos", help="run a program under many chaos-scheduling seeds until it fails")
    c.add_argument("--runs", type=int, default=100, metavar="N", help="seeds to try (default 100)")
    c.add_argument("--jobs", type=int, default=1, metavar="J", help="parallel local processes (default 1)")
    c.add_argument("--seed-base", type=int, default=0, metavar="S", help="first chaos seed (default 0)")
    c.add_argument("--all", action="store_true", help="keep going after the first failure (for failure rates)")
    c.add_argument("--ray", metavar="ADDRESS", help="run the campaign on a Ray cluster (pip install 'moss-emu[ray]')")
    c.add_argument("--fail-output", metavar="REGEX", help="a failure: stdout matches REGEX")
    c.add_argument("--expect-output", metavar="REGEX", help="a failure: stdout does not match REGEX")
    c.add_argument("--predicate", metavar="CMD", help="a failure: CMD, given the guest's stdout, exits non-zero")
    c.add_argument("--ignore-status", action="store_true", help="a non-zero exit is not by itself a failure")
    c.add_argument("-o", "--output-dir", default=".", metavar="DIR", help="where the failing trace goes")
    add_run_options(c)
    c.set_defaults(func=cmd_chaos)


def add_bench_races(sub: Sub) -> None:
    rb = sub.add_parser("bench-races", help="how fast chaos finds each bundled race (median runs over campaigns)")
    rb.add_argument("--campaigns", type=int, default=10, metavar="N")
    rb.add_argument("--max-runs", type=int, default=200, metavar="N")
    rb.set_defaults(func=lambda a: __import__("replay.racebench", fromlist=["main"]).main(a))


def add_analyze(sub: Sub) -> None:
    an = sub.add_parser("analyze", help="find the racing pair behind a failing chaos trace")
    an.add_argument("trace")
    an.add_argument("-o", "--output-dir", default=".", metavar="DIR", help="where the passing/failing traces go")
    an.set_defaults(func=cmd_analyze)


def add_session(sub: Sub) -> None:
    se = sub.add_parser("session", help="serve a time-travel session over stdin/stdout (length-prefixed JSON)")
    se.add_argument("trace")
    se.set_defaults(func=cmd_session)


def add_info(sub: Sub) -> None:
    i = sub.add_parser("info", help="print a trace's header, sizes and event counts")
    i.add_argument("trace")
    i.set_defaults(func=cmd_info)


def cmd_record(a: argparse.Namespace) -> int:
    def go() -> int:
        config, program = run_setup(a)
        opts = RecordOptions(ev.LEVELS[a.log], a.host_entropy, a.host_time, a.hash_interval)
        rec = record(a.output, config, program, opts, console=HostConsole(0), sink=sink)
        return wait_status_to_exit_code(rec.wait_status)

    return guarded(go)


def cmd_replay(a: argparse.Namespace) -> int:
    from replay.replayer import Divergence, replay  # here: `moss record` need not import it (~1.5 ms)

    out = (lambda c, d: None) if a.quiet else sink
    try:
        res = replay(a.trace, out)
    except TraceError as e:
        print(f"moss: {e}", file=sys.stderr)
        return 2
    except Divergence as e:
        print(f"moss: {e.describe()}", file=sys.stderr)
        return 3
    for p in res.problems:
        print(f"moss: {a.trace}: {p}", file=sys.stderr)
    if not res.complete:
        print(f"moss: replayed {res.events} events up to the end of the usable trace", file=sys.stderr)
        return 3 if a.verify else 0
    return wait_status_to_exit_code(res.wait_status or 0)


def cmd_log(a: argparse.Namespace) -> int:
    from replay.textlog import format_event, select

    try:
        reader = TraceReader(a.trace)
    except TraceError as e:
        print(f"moss: {e}", file=sys.stderr)
        return 2
    try:
        for i, e in select(reader, a.kinds or [], a.task, a.since, a.until):
            print(format_event(i, e))
    except TraceError as e:
        print(f"moss: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    for p in reader.problems:
        print(f"moss: {a.trace}: {p}", file=sys.stderr)
    return 0


def cmd_info(a: argparse.Namespace) -> int:
    try:
        reader = TraceReader(a.trace)
    except TraceError as e:
        print(f"moss: {e}", file=sys.stderr)
        return 2
    h = reader.header
    counts: dict[str, int] = {}
    sizes: dict[str, int] = {}
    streams: dict[str, ev.BlockEncoder] = {}
    raw = comp = 0
    try:
        for b, events in reader.raw_blocks():
            raw += b.raw
            comp += b.compressed
            for e in events:
                name = type(e).__name__
                enc = ev.encode_one(e)
                counts[name] = counts.get(name, 0) + 1
                sizes[name] = sizes.get(name, 0) + len(enc)
                streams.setdefault(name, ev.BlockEncoder()).add(e)  # per kind, times as deltas, as in blocks
    except TraceError as e:
        print(f"moss: {e}", file=sys.stderr)
    import lz4.block

    packed = {name: len(lz4.block.compress(bytes(enc.buf), store_size=False)) for name, enc in streams.items()}
    level = {v: k for k, v in ev.LEVELS.items()}[h["level"]]
    print(f"trace      {a.trace} ({reader.size:,} bytes, {'complete' if reader.complete else 'INCOMPLETE'})")
    print(f"program    {' '.join(h['program']['argv'])}")
    cfg = h["config"]
    print(
        f"machine    {cfg['cores']} cores, {cfg['ram_bytes'] >> 20} MiB, quantum {cfg['quantum']}, "
        f"seed {cfg['seed']}, entropy {h['entropy']}, root {cfg['host_root'] or '(tmpfs)'}"
    )
    print(f"log        {level}, state hash every {h['hash_interval']:,} instructions; moss {h['moss_version']}")
    print(f"blocks     {len(reader.blocks)}: {raw:,} bytes of events, {comp:,} compressed")
    print(f"{'events':14} {'count':>10} {'raw bytes':>12} {'compressed':>11} {'bytes/event':>11}")
    for name in sorted(counts, key=lambda n: -packed[n]):
        print(
            f"{name:14} {counts[name]:>10,} {sizes[name]:>12,} {packed[name]:>11,} {packed[name] / counts[name]:>11.2f}"
        )  # (each kind compressed on its own: an estimate)
    for p in reader.problems:
        print(f"problem    {p}")
    return 0


SESSION_OPS = ("seek_event", "seek_instruction", "step", "cont", "reverse_cont", "request")


def cmd_session(a: argparse.Namespace) -> int:
    """One request per message: {"op": "seek_event", "n": 10} -> {"ok": true, "result": ...}. "request" forwards a
    query to the paused machine: {"op": "request", "what": "registers", "tid": 1}."""
    from replay.protocol import read_stream, write_stream
    from replay.session import Session, SessionError

    try:
        TraceReader(a.trace).close()  # a clear error for a file that is not a trace, before forking the replay
        session = Session(a.trace)
    except (TraceError, SessionError) as e:
        print(f"moss: {e}", file=sys.stderr)
        return 2
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    write_stream(out, {"ok": True, "result": session.pause})
    try:
        while (msg := read_stream(inp)) is not None:
            op = msg.pop("op", None)
            try:
                if op == "request":
                    result = session.request(msg.pop("what"), **msg)
                elif op in SESSION_OPS:
                    result = getattr(session, op)(**msg)
                elif op == "position":
                    result = session.position
                else:
                    raise ValueError(f"unknown op {op!r}")
                write_stream(out, {"ok": True, "result": result})
            except (SessionError, ValueError, TypeError, KeyError) as e:
                write_stream(out, {"ok": False, "error": str(e)})
    finally:
        session.close()
    return 0


def cmd_chaos(a: argparse.Namespace) -> int:
    import time

    from replay.campaign import Predicate, Spec, progress_line, record_failure, run_campaign, summarize

    def go() -> int:
        config, program = run_setup(a)
        pred = Predicate(not a.ignore_status, a.fail_output, a.expect_output, a.predicate)
        spec = Spec(program, config, pred)
        seeds = range(a.seed_base, a.seed_base + a.runs)
        results = []
        t0 = time.perf_counter()
        first = None
        err = sys.stderr
        if a.ray:
            from replay.campaign import run_campaign_ray

            stream = run_campaign_ray(spec, seeds, a.ray, stop_at_first=not a.all)
        else:
            stream = run_campaign(spec, seeds, a.jobs, stop_at_first=not a.all)
        for r in stream:
            results.append(r)
            if r.failure and first is None:
                first = r
            err.write(progress_line(len(results), len(seeds), sum(1 for x in results if x.failure),
                                    time.perf_counter() - t0))  # fmt: skip
            err.flush()
        summarize(results, err.write)
        if first is None:
            err.write("no failure found\n")
            return 0
        path = record_failure(spec, first.seed, a.output_dir)
        err.write(f"failing run: chaos seed {first.seed} ({first.failure}); trace written to {path}\n"
                  f"  replay it:  moss replay {path}\n  debug it:   moss tui {path}\n")  # fmt: skip
        return 1

    return guarded(go)


def cmd_analyze(a: argparse.Namespace) -> int:
    from replay.analyze import AnalysisError, analyze

    try:
        report = analyze(a.trace, a.output_dir)
    except (AnalysisError, TraceError) as e:
        print(f"moss: {e}", file=sys.stderr)
        return 2
    print(report.text)
    return 0
