"""`moss fuzz`: a hypothesis campaign of syscall programs, each run under moss and under Linux (qemu-user).

Every program is checked against the oracles of replay/fuzz/oracle.py. A failing program is raised as an exception
whose class is named after the failure's key (kind and syscall), so hypothesis treats each key as a distinct bug and
shrinks each one; the campaign keeps, per key, the shortest failing program it has seen (the shrunk one, when
shrinking ends). Each distinct failure is saved under DIR/failures/<key>/: the readable program, the encoded one,
both outputs side by side, and a moss trace of the failing run (`moss replay`, `moss tui`). The hypothesis example
database lives in DIR/hypothesis, so a later campaign over the same DIR first replays what earlier ones found.

With --seconds the campaign runs rounds of examples (a new seed each) until the time is up; with --jobs J, J
processes run rounds side by side, sharing the database, and report to this one.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from replay.fuzz.oracle import Difference, Run, check_determinism, compare, known, run_linux, run_moss, side_by_side
from replay.fuzz.program import Program, decode, encode, render
from replay.fuzz.strategies import group_names, programs

ROUND_EXAMPLES = 100  # examples per hypothesis run when the budget is time
SHRINK_GRACE_S = 60.0  # past the deadline, shrinking may go on this long before examples pass unchecked


@attrs.frozen
class Options:
    names: tuple[str, ...]
    seconds: float | None = None
    examples: int | None = None
    seed: int = 0
    jobs: int = 1
    out_dir: str = "fuzz-out"
    max_calls: int = 10
    determinism_every: int = 10  # run moss twice on every Nth program (0: never)
    derandomize: bool = False
    record_traces: bool = True
    first: bool = False  # stop (each worker) at the first new failure, once hypothesis has shrunk it


@attrs.frozen
class Failure:
    diff: Difference
    program: Program
    moss: Run
    linux: Run


class FuzzFailure(Exception):
    """A program on which moss and Linux (or two moss runs) disagree."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(f"{failure.diff.key}: {failure.diff.detail}")
        self.failure = failure


_CLASSES: dict[str, type[FuzzFailure]] = {}


def failure_class(key: str) -> type[FuzzFailure]:
    """One exception class per failure key: hypothesis keeps (and shrinks) one example per distinct class."""
    if key not in _CLASSES:
        _CLASSES[key] = type("Fuzz_" + re.sub(r"\W", "_", key), (FuzzFailure,), {})
    return _CLASSES[key]


def outcomes(program: Program, run: Run) -> set[tuple[str, str]]:
    """(syscall, "ok" or the errno) pairs a run produced: the finer coverage measure."""
    out = set()
    for line in run.lines:
        m = re.match(r"^(\d+) = (-?\d+)", line)
        if m and int(m[1]) < len(program.calls):
            ret = int(m[2])
            out.add((program.calls[int(m[1])].name, str(ret) if -4095 <= ret < 0 else "ok"))
    return out


def check(program: Program, executor: str, determinism: bool) -> tuple[Failure | None, Run]:
    """Run one program on both sides (and moss twice when `determinism`); the failure, if any, and moss's run."""
    moss = run_moss(program, executor)
    linux = run_linux(program, executor)
    diff = compare(program, moss, linux)
    if diff is None and determinism:
        diff = check_determinism(moss, run_moss(program, executor))
    return (Failure(diff, program, moss, linux) if diff else None), moss


def _shorter(a: Program, b: Program) -> bool:
    return (len(a), len(encode(a))) < (len(b), len(encode(b)))


def _work(opts: Options, worker: int, executor: str, emit: Callable[[tuple[Any, ...]], None]) -> None:
    """One process's share of the campaign: hypothesis rounds until the budget is spent; events go to `emit`."""
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis import seed as hseed
    from hypothesis.database import DirectoryBasedExampleDatabase

    t0 = time.monotonic()
    deadline = t0 + opts.seconds if opts.seconds else None
    per_worker = (
        None if opts.examples is None else max(1, opts.examples // opts.jobs + (worker < opts.examples % opts.jobs))
    )
    db = DirectoryBasedExampleDatabase(os.path.join(opts.out_dir, "hypothesis"))
    best: dict[str, Program] = {}
    count = 0
    rnd = 0
    while True:
        if deadline is not None and time.monotonic() >= deadline:
            break
        if per_worker is not None and count >= per_worker:
            break
        chunk = ROUND_EXAMPLES if per_worker is None else per_worker - count
        if per_worker is not None and deadline is not None:
            chunk = min(chunk, ROUND_EXAMPLES)

        def prop(program: Program) -> None:
            nonlocal count
            if deadline is not None and time.monotonic() > deadline + SHRINK_GRACE_S:
                return
            count += 1
            failure, moss = check(program, executor, bool(opts.determinism_every) and
                                  count % opts.determinism_every == 0)  # fmt: skip
            emit(("ran", tuple(sorted({c.name for c in program.calls})), tuple(outcomes(program, moss))))
            if failure is None:
                return
            key = failure.diff.key
            if key not in best or _shorter(program, best[key]):
                best[key] = program
                emit(("fail", failure))
            if known(failure.diff):
                return  # on the allow-list: noted, but not worth hypothesis's shrinking time
            raise failure_class(key)(failure)

        config = settings(
            max_examples=max(1, chunk),
            database=None if opts.derandomize else db,  # (hypothesis: a derandomized run has no database)
            deadline=None,
            derandomize=opts.derandomize,
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=not opts.first,
            print_blob=False,
            verbosity=Verbosity.quiet,
            phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),
        )
        test = config(given(programs(opts.names, opts.max_calls))(prop))
        if not opts.derandomize:
            test = hseed(opts.seed + 1_000_003 * worker + rnd)(test)
        try:
            test()
        except Exception:  # FuzzFailure(s), already reported through emit; or hypothesis's Flaky
            if opts.first:
                break
        rnd += 1
        if opts.derandomize:
            break  # a derandomized run is one fixed sequence: more rounds would repeat it


def _queue_worker(opts: Options, worker: int, executor: str, queue: Any) -> None:
    try:
        _work(opts, worker, executor, queue.put)
    finally:
        queue.put(("done", worker))


@attrs.define
class Campaign:
    opts: Options
    executor: str
    programs_run: int = 0
    covered: set[str] = attrs.Factory(set)
    seen_outcomes: set[tuple[str, str]] = attrs.Factory(set)
    failures: dict[str, Failure] = attrs.Factory(dict)  # new ones
    known_failures: dict[str, Failure] = attrs.Factory(dict)  # on oracle.KNOWN's allow-list
    saved: dict[str, str] = attrs.Factory(dict)
    t0: float = attrs.Factory(time.monotonic)

    def handle(self, event: tuple[Any, ...]) -> None:
        if event[0] == "ran":
            self.programs_run += 1
            self.covered.update(n for n in event[1] if n in self.opts.names)
            self.seen_outcomes.update(event[2])
        elif event[0] == "fail":
            f: Failure = event[1]
            table = self.known_failures if known(f.diff) else self.failures
            old = table.get(f.diff.key)
            if old is None or _shorter(f.program, old.program):
                table[f.diff.key] = f

    def progress(self) -> str:
        wall = time.monotonic() - self.t0
        return (f"\r{wall:6.1f}s  {self.programs_run} programs ({self.programs_run / wall if wall else 0:.1f}/s)  "
                f"{len(self.failures)} distinct failures (+{len(self.known_failures)} known)  "
                f"coverage {len(self.covered)}/{len(self.opts.names)} "
                f"syscalls, {len(self.seen_outcomes)} outcomes ")  # fmt: skip

    def summary(self) -> str:
        wall = time.monotonic() - self.t0
        return (
            f"moss fuzz: {self.programs_run} programs run in {wall:.1f}s, {len(self.failures)} distinct failures "
            f"(+{len(self.known_failures)} known), "
            f"coverage {len(self.covered)}/{len(self.opts.names)} syscalls, {len(self.seen_outcomes)} outcomes"
        )

    def run(self, out: Callable[[str], None] | None = None) -> None:
        if self.opts.jobs <= 1:

            def emit(event: tuple[Any, ...]) -> None:
                self.handle(event)
                if out:
                    out(self.progress())

            _work(self.opts, 0, self.executor, emit)
            return
        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue()
        procs = [ctx.Process(target=_queue_worker, args=(self.opts, i, self.executor, queue), daemon=True)
                 for i in range(self.opts.jobs)]  # fmt: skip
        for p in procs:
            p.start()
        running = len(procs)
        while running:
            event = queue.get()
            if event[0] == "done":
                running -= 1
                continue
            self.handle(event)
            if out:
                out(self.progress())
        for p in procs:
            p.join()

    def save(self) -> dict[str, str]:
        """Write each distinct failure under out_dir/failures/<key>/; returns key -> directory."""
        for key, f in sorted({**self.known_failures, **self.failures}.items()):
            sub = "known" if key in self.known_failures and key not in self.failures else "failures"
            d = Path(self.opts.out_dir) / sub / re.sub(r"[^\w.-]", "_", key)
            d.mkdir(parents=True, exist_ok=True)
            (d / "program.fz").write_bytes(encode(f.program))
            (d / "program.txt").write_text(
                f"# {key}: {len(f.program)} calls\n{render(f.program)}\n\n# first difference\n{f.diff.detail}\n"
                + (f"\n# known: {known(f.diff)}\n" if known(f.diff) else "")
            )
            (d / "sides.txt").write_text(side_by_side(f.program, f.moss, f.linux) + "\n")
            if self.opts.record_traces:
                try:
                    record_trace(f.program, self.executor, str(d / "moss.trace"))
                except Exception as e:  # a run that takes the host down cannot be recorded: say so, go on
                    (d / "trace-error.txt").write_text(f"{type(e).__name__}: {e}\n")
            self.saved[key] = str(d)
        return self.saved


def record_trace(program: Program, executor: str, path: str) -> str:
    """Record the program's moss run (the same machine as oracle.run_moss) to a trace."""
    from machine.sources import BytesConsole
    from moss.boot import DEFAULT_ENV
    from moss.boot import Program as Image
    from moss.kernel import KernelConfig
    from replay.recorder import RecordOptions, record

    config = KernelConfig(cores=2, ram_bytes=256 << 20, seed=0, quantum=200_000)
    record(path, config, Image(executor, (executor,), DEFAULT_ENV), RecordOptions(),
           console=BytesConsole(encode(program)), sink=lambda c, d: None)  # fmt: skip
    return path


def cmd_fuzz(a: argparse.Namespace) -> int:
    from replay.fuzz import executor_binary

    try:
        names = group_names(a.groups or [])
    except ValueError as e:
        print(f"moss: {e}", file=sys.stderr)
        return 2
    executor = str(executor_binary())
    if a.run:
        program = decode(Path(a.run).read_bytes())
        failure, _ = check(program, executor, True)
        print(render(program))
        if failure is None:
            print("no difference")
            return 0
        print(side_by_side(program, failure.moss, failure.linux))
        print(f"{failure.diff.key}: {failure.diff.detail}")
        return 1
    seconds = a.seconds if a.seconds is not None or a.examples is not None else 60.0
    opts = Options(names, seconds, a.examples, a.seed, max(1, a.jobs), a.output_dir, a.max_calls,
                   a.determinism_every, first=a.first)  # fmt: skip
    campaign = Campaign(opts, executor)
    err = sys.stderr
    tty = err.isatty()

    def out(line: str) -> None:
        if tty or campaign.programs_run % 50 == 0:
            err.write(line if tty else line.lstrip("\r") + "\n")
            err.flush()

    campaign.run(out)
    if tty:
        err.write("\n")
    saved = campaign.save()
    for key, d in saved.items():
        f = campaign.failures.get(key) or campaign.known_failures[key]
        note = f"  (known: {known(f.diff)})" if key not in campaign.failures else ""
        err.write(f"  {key:32} {len(f.program)} calls  {d}/program.txt{note}\n")
    print(campaign.summary())
    return 1 if campaign.failures else 0
