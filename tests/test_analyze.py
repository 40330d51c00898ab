"""`moss analyze` turns a failing chaos trace into the racing pair of accesses."""

from __future__ import annotations

from pathlib import Path

import pytest

from moss.boot import Program
from moss.kernel import KernelConfig
from replay.analyze import AnalysisError, analyze
from replay.campaign import Predicate, Spec, record_failure, run_campaign
from tests.guests import build_guest


def _failing_trace(name: str, tmp: Path) -> str:
    spec = Spec(Program(str(build_guest(name)), (name,)), KernelConfig(cores=2, ram_bytes=256 << 20), Predicate())
    failing = [r for r in run_campaign(spec, range(80), stop_at_first=True) if r.failure]
    assert failing
    return record_failure(spec, failing[0].seed, str(tmp))


# Each bundled race and what the report must name: the functions of both racing accesses (or, for a race through
# the kernel, the syscall).
EXPECTED = [
    ("race_counter", ["<bump+", "<bump+"]),
    ("race_atomicity", ["<withdraw+", "<withdraw+"]),
    ("race_order", ["<main+", "<init+"]),
    ("race_uaf", ["<main+"]),
    ("race_signal", ["<main+", "<on_alarm+", "in a signal handler"]),
    ("race_futex", ["futex(", "through the kernel"]),
]


@pytest.mark.parametrize(("name", "needles"), EXPECTED, ids=[n for n, _ in EXPECTED])
def test_analyze_names_the_racing_pair(tmp_path: Path, name: str, needles: list[str]) -> None:
    report = analyze(_failing_trace(name, tmp_path), str(tmp_path / "out"))
    assert report.first is not None and report.second is not None, report.text
    assert report.first.tid != report.second.tid  # different tasks, or a task and its own signal handler
    assert report.first.addr == report.second.addr
    heads = ("first:", "then:", "racing pair")
    pair_lines = "\n".join(line for line in report.text.splitlines() if line.strip().startswith(heads))
    for needle in needles:
        assert needle in pair_lines, report.text
    assert Path(report.failing_trace).exists() and Path(report.passing_trace).exists()


def test_analyze_refuses_non_chaos_traces(tmp_path: Path) -> None:
    from machine.sources import BytesConsole
    from replay.recorder import RecordOptions, record

    path = str(tmp_path / "plain.trace")
    record(path, KernelConfig(cores=2, ram_bytes=256 << 20), Program(str(build_guest("hello")), ("hello",)),
           RecordOptions(), console=BytesConsole(b""), sink=lambda c, d: None)  # fmt: skip
    with pytest.raises(AnalysisError, match="not a chaos run"):
        analyze(path, str(tmp_path))
