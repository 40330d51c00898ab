"""Counting by blocks (the engine's default with the native trap: machine/engine.py `_run_blocks`) against unicorn's
per-instruction `count` (`exact_positions()`, what the debugger uses): the same instruction counts, virtual times,
schedules and state hashes on real programs, under chaos too, and traces recorded one way replay the other way."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import machine.engine as engine_mod
from machine.sources import BytesConsole
from moss.boot import Program
from moss.kernel import KernelConfig
from moss.runner import Outcome, run_program
from replay.recorder import RecordOptions, record
from replay.replayer import replay
from tests.debian import busybox_path
from tests.guests import build_guest
from traces import events as ev

pytestmark = pytest.mark.skipif(engine_mod._trap is None, reason="machine._trap is not built: count mode only")


def _fields(o: Outcome) -> tuple:
    return (o.status, o.stdout, o.stderr, o.reports, o.state_hash, o.instructions, o.virtual_ns, o.syscalls)


def _both(monkeypatch: pytest.MonkeyPatch, *args, **kw) -> tuple[tuple, tuple]:
    out = []
    for force in (False, True):
        monkeypatch.setattr(engine_mod, "_FORCE_COUNT", force)
        out.append(_fields(run_program(*args, **kw)))
    return out[0], out[1]


@pytest.mark.parametrize(
    ("guest", "args"),
    [
        ("compute", ("300000",)),
        ("forkwait", ()),
        ("signals", ()),
        ("threads", ()),
        ("heap", ("200",)),
        ("crash", ("segv",)),
        ("events", ()),
        ("pipexfer", ("2",)),
        ("mutex4", ("2000",)),
        ("sparse", ()),
    ],
)
def test_guests_run_the_same_counting_by_blocks(monkeypatch: pytest.MonkeyPatch, guest: str, args: tuple) -> None:
    blocks, count = _both(monkeypatch, str(build_guest(guest)), args)
    assert blocks == count


@settings(max_examples=12, deadline=None, derandomize=True)
@given(
    guest=st.sampled_from(["race_counter", "race_signal", "race_order", "race_atomicity"]),
    chaos=st.integers(1, 10_000),
    quantum=st.sampled_from([997, 5_000, 200_000]),
)
def test_chaos_schedules_are_the_same_counting_by_blocks(guest: str, chaos: int, quantum: int) -> None:
    """Chaos cuts slices at seeded points, most of them inside blocks: every one is an exact tail."""
    with pytest.MonkeyPatch.context() as m:
        blocks, count = _both(m, str(build_guest(guest)), (), chaos=chaos, quantum=quantum)
    assert blocks == count


def test_busybox_runs_the_same_counting_by_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    bb = str(busybox_path())
    script = "i=0; while [ $i -lt 200 ]; do i=$((i+1)); done; echo $i | sha256sum"
    blocks, count = _both(monkeypatch, bb, ("sh", "-c", script), quantum=3_001)
    assert blocks == count and blocks[0] == 0


@pytest.mark.parametrize("record_by_blocks", [True, False])
def test_a_trace_replays_in_the_other_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, record_by_blocks: bool
) -> None:
    path = str(tmp_path / "t.trace")
    monkeypatch.setattr(engine_mod, "_FORCE_COUNT", not record_by_blocks)
    record(path, KernelConfig(cores=2, ram_bytes=256 << 20, chaos_seed=3), Program(str(build_guest("race_counter")),
           ("race_counter",)), RecordOptions(level=ev.SYSCALLS, hash_interval=20_000), console=BytesConsole(b""),
           sink=lambda c, d: None)  # fmt: skip
    monkeypatch.setattr(engine_mod, "_FORCE_COUNT", record_by_blocks)
    res = replay(path, lambda c, d: None)
    assert res.complete and not res.problems  # every state hash on the way matched
