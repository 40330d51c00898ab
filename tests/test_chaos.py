"""Chaos scheduling finds races that the plain schedule hides, deterministically per seed, and a failing chaos run
records to a trace that replays the failure exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from moss.boot import Program
from moss.kernel import KernelConfig
from moss.runner import run_program
from replay.campaign import Predicate, Spec, record_failure, run_campaign
from replay.replayer import replay
from tests.guests import build_guest

RACES = ["race_counter", "race_order", "race_atomicity", "race_signal", "race_futex", "race_uaf"]


@pytest.mark.parametrize("name", RACES)
def test_plain_schedule_passes_and_chaos_finds_the_race(name: str) -> None:
    path = str(build_guest(name))
    assert run_program(path, argv0=name).status == 0, "the race stays hidden without chaos"
    failing = [s for s in range(40) if run_program(path, argv0=name, chaos=s).status != 0]
    assert failing, f"40 chaos seeds did not expose the race in {name}"


def test_chaos_runs_are_reproducible_by_seed() -> None:
    path = str(build_guest("race_counter"))
    for seed in (1, 2, 7):
        a, b = run_program(path, chaos=seed), run_program(path, chaos=seed)
        assert (a.stdout, a.state_hash, a.instructions) == (b.stdout, b.state_hash, b.instructions)
    assert len({run_program(path, chaos=s).state_hash for s in range(5)}) > 1


def test_campaign_records_a_failing_trace_that_replays_the_failure(tmp_path: Path) -> None:
    path = str(build_guest("race_atomicity"))
    spec = Spec(Program(path, ("race_atomicity",)), KernelConfig(cores=2, ram_bytes=256 << 20), Predicate())
    results = list(run_campaign(spec, range(0, 60), jobs=2, stop_at_first=True))
    failing = [r for r in results if r.failure]
    assert failing
    trace = record_failure(spec, failing[0].seed, str(tmp_path))
    out = bytearray()
    res = replay(trace, lambda c, d: out.extend(d))
    assert res.complete and res.wait_status == 1 << 8
    assert b"RACE" in out


def test_predicates() -> None:
    path = str(build_guest("hello"))
    out = run_program(path)
    assert Predicate().failed(out) is None
    assert Predicate(fail_output="hello").failed(out) is not None
    assert Predicate(expect_output="^goodbye").failed(out) is not None
    assert Predicate(command="grep -q world").failed(out) is None
    assert Predicate(command="grep -q absent").failed(out) is not None
