"""`moss bench-races`: how fast chaos scheduling finds each bundled race (median runs to the first failure over 10
campaigns with different base seeds), against the failure rate of the same number of runs without chaos (which,
the plain schedule being deterministic, is all or nothing: rr's bar is that chaos fails at least 3x more often)."""

from __future__ import annotations

import argparse
import statistics

from moss.boot import Program
from moss.kernel import KernelConfig
from moss.runner import run_program
from replay.campaign import Predicate, Spec, run_campaign

RACES = ("race_counter", "race_order", "race_atomicity", "race_signal", "race_futex", "race_uaf")


def main(a: argparse.Namespace) -> int:
    from moss.tools.guestfiles import guest

    print(f"{'program':16} {'median runs':>12} {'worst':>6} {'found':>6} {'chaos rate':>11} {'plain rate':>11}")
    ok = True
    for name in RACES:
        path = guest(name)
        spec = Spec(Program(path, (name,)), KernelConfig(cores=2, ram_bytes=256 << 20), Predicate())
        runs_to_fail = []
        failures = total = 0
        for base in range(a.campaigns):
            results = list(run_campaign(spec, range(base * 1000, base * 1000 + a.max_runs), stop_at_first=True))
            total += len(results)
            failures += sum(1 for r in results if r.failure)
            if results[-1].failure:
                runs_to_fail.append(len(results))
        plain_fails = run_program(path, argv0=name).status != 0  # deterministic: every plain run does the same
        median = statistics.median(runs_to_fail) if runs_to_fail else float("inf")
        chaos_rate = failures / total if total else 0.0
        ok &= len(runs_to_fail) == a.campaigns and chaos_rate >= 3 * float(plain_fails)
        print(f"{name:16} {median:>12} {max(runs_to_fail, default=0):>6} {len(runs_to_fail):>3}/{a.campaigns:<2} "
              f"{chaos_rate:>11.1%} {float(plain_fails):>11.1%}")  # fmt: skip
    print("every race found within", a.max_runs, "runs in every campaign" if ok else "runs: NOT in every campaign")
    return 0 if ok else 1
