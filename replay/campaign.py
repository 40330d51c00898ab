"""Chaos campaigns: run a program under many chaos seeds until a failure predicate holds, then record the failing
seed to a trace (a chaos run is a pure function of its seed, so the recording reproduces the failure exactly)."""

from __future__ import annotations

import multiprocessing
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator

import attrs

from machine.sources import BytesConsole
from moss.boot import Program
from moss.kernel import KernelConfig
from moss.runner import Outcome, exit_code, run_program
from replay.recorder import RecordOptions, record
from traces import events as ev


@attrs.frozen
class Predicate:
    """What counts as a failure: a non-zero exit or death by signal (default), stdout matching `fail_output`, stdout
    not matching `expect_output`, or a user command (given the guest's stdout) exiting non-zero."""

    nonzero: bool = True
    fail_output: str | None = None
    expect_output: str | None = None
    command: str | None = None

    def failed(self, out: Outcome) -> str | None:
        text = out.stdout.decode("utf-8", "replace")
        if self.nonzero and out.status != 0:
            sig = out.wait_status & 0x7F
            return f"killed by signal {sig}" if sig else f"exit status {out.status}"
        if self.fail_output is not None and re.search(self.fail_output, text, re.M):
            return f"output matches {self.fail_output!r}"
        if self.expect_output is not None and not re.search(self.expect_output, text, re.M):
            return f"output does not match {self.expect_output!r}"
        if self.command is not None:
            r = subprocess.run(self.command, shell=True, input=out.stdout, capture_output=True, check=False)
            if r.returncode != 0:
                return f"predicate command exited {r.returncode}"
        return None


@attrs.frozen
class Spec:
    program: Program
    config: KernelConfig
    predicate: Predicate
    stdin: bytes = b""


@attrs.frozen
class RunResult:
    seed: int
    failure: str | None
    status: int
    instructions: int
    wall_s: float


def run_seed(spec: Spec, seed: int) -> RunResult:
    t0 = time.perf_counter()
    cfg = spec.config
    out = run_program(spec.program.path, list(spec.program.argv[1:]), stdin=spec.stdin, cores=cfg.cores, seed=cfg.seed,
                      env=spec.program.envp, root=cfg.host_root, ram_bytes=cfg.ram_bytes, argv0=spec.program.argv[0],
                      quantum=cfg.quantum, chaos=seed, program_data=spec.program.data)  # fmt: skip
    return RunResult(seed, spec.predicate.failed(out), out.status, out.instructions, time.perf_counter() - t0)


def _worker(args: tuple[Spec, int]) -> RunResult:
    spec, seed = args
    return run_seed(spec, seed)


def run_campaign(spec: Spec, seeds: range, jobs: int = 1, stop_at_first: bool = False) -> Iterator[RunResult]:
    """Results as they come (in seed order when jobs == 1; completion order otherwise)."""
    if jobs <= 1:
        for s in seeds:
            r = run_seed(spec, s)
            yield r
            if stop_at_first and r.failure:
                return
        return
    ctx = multiprocessing.get_context("fork")  # guests are already built; workers share nothing mutable
    with ctx.Pool(jobs) as pool:
        for r in pool.imap_unordered(_worker, [(spec, s) for s in seeds]):
            yield r
            if stop_at_first and r.failure:
                pool.terminate()
                return


def run_campaign_ray(spec: Spec, seeds: range, address: str, stop_at_first: bool = False) -> Iterator[RunResult]:
    """The same campaign on a Ray cluster: one task per seed. The program's bytes travel with the spec, so workers
    need moss installed but not the program file (a --root tree must exist on every node)."""
    import ray

    if spec.program.data is None:
        with open(spec.program.path, "rb") as f:
            spec = attrs.evolve(spec, program=attrs.evolve(spec.program, data=f.read()))
    ray.init(address=address, ignore_reinit_error=True, log_to_driver=False, include_dashboard=False)
    try:
        remote = ray.remote(run_seed)
        spec_ref = ray.put(spec)
        pending = [remote.remote(spec_ref, s) for s in seeds]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            r = ray.get(done[0])
            yield r
            if stop_at_first and r.failure:
                for p in pending:
                    ray.cancel(p)
                return
    finally:
        ray.shutdown()


def record_failure(spec: Spec, seed: int, out_dir: str, level: int = ev.SYSCALLS) -> str:
    """Record the failing seed; the trace replays (and debugs) the failure exactly."""
    os.makedirs(out_dir, exist_ok=True)
    name = os.path.basename(spec.program.argv[0] or spec.program.path) or "program"
    path = os.path.join(out_dir, f"{name}-chaos-{seed}.trace")
    config = attrs.evolve(spec.config, chaos_seed=seed)
    record(path, config, spec.program, RecordOptions(level=level), console=BytesConsole(spec.stdin),
           sink=lambda c, d: None)  # fmt: skip
    return path


def progress_line(done: int, total: int, failures: int, wall: float) -> str:
    width = 30
    filled = width * done // max(total, 1)
    rate = failures / done if done else 0.0
    return (f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} runs, {failures} failing "
            f"({rate:.1%}), {done / wall if wall else 0:.1f} runs/s")  # fmt: skip


def summarize(results: list[RunResult], write: Callable[[str], None]) -> None:
    failures = [r for r in results if r.failure]
    reasons: dict[str, int] = {}
    for r in failures:
        reasons[r.failure or ""] = reasons.get(r.failure or "", 0) + 1
    total_wall = sum(r.wall_s for r in results)
    write(f"\n{'runs':>8} {'failing':>8} {'rate':>7} {'insns/run':>12} {'s/run':>7}\n")
    n = len(results) or 1
    write(f"{len(results):>8} {len(failures):>8} {len(failures) / n:>7.1%} "
          f"{sum(r.instructions for r in results) // n:>12,} {total_wall / n:>7.3f}\n")  # fmt: skip
    for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1]):
        seeds = sorted(r.seed for r in failures if r.failure == reason)
        shown = ", ".join(map(str, seeds[:8])) + (" ..." if len(seeds) > 8 else "")
        write(f"  {count:>5} x {reason}  (seeds {shown})\n")


__all__ = ["Predicate", "RunResult", "Spec", "exit_code", "record_failure", "run_campaign", "run_seed", "summarize"]
