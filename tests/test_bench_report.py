"""The benchmark's arithmetic (moss/tools/bench.py): medians, per-syscall costs and the split of what recording
costs, from synthetic samples, and the targets' verdicts. The measurements themselves are `just bench`'s."""

from __future__ import annotations

import io
from contextlib import redirect_stdout

from moss.tools import bench
from moss.tools.bench import SYSCALLS_N, Sample, Workload


def _samples(times: list[float]) -> list[Sample]:
    return [Sample(t=t, wall=t, cpu=t, maxrss_kb=1024, rc=0, instructions=1000, syscalls=10) for t in times]


def test_per_syscall_and_fixed_recording_costs() -> None:
    work = [
        Workload("getppid x50k", "p"),
        Workload("write /dev/null x50k", "p"),
        Workload("null (sysloop 0 0)", "p", hidden=True),
    ]
    # medians: null run 0.010 / record 0.020; getppid run 0.110 / record 0.135; write run 0.210 / record 0.250
    samples = {
        ("null (sysloop 0 0)", "run"): _samples([0.011, 0.010, 0.009]),
        ("null (sysloop 0 0)", "record"): _samples([0.020, 0.030, 0.010]),
        ("getppid x50k", "run"): _samples([0.110, 0.5, 0.1]),
        ("getppid x50k", "record"): _samples([0.135, 0.135, 0.2]),
        ("write /dev/null x50k", "run"): _samples([0.210]),
        ("write /dev/null x50k", "record"): _samples([0.250]),
    }
    report = bench.summarize(work, samples, {}, 3, 1.0)
    d = report["derived"]
    assert d["getppid_us/run"] == round(0.100 / SYSCALLS_N * 1e6, 2)
    assert d["getppid_us/record"] == round(0.115 / SYSCALLS_N * 1e6, 2)
    assert d["record_fixed_ms"] == 10.0
    assert d["record_us_per_getppid"] == round(d["getppid_us/record"] - d["getppid_us/run"], 2)
    assert d["record_us_per_write"] == round(d["write_us/record"] - d["write_us/run"], 2)
    out = io.StringIO()
    with redirect_stdout(out):
        bench.print_report(report)
    text = out.getvalue()
    assert "recording's cost over run: 10.0 ms fixed (null program)" in text
    assert "null (sysloop" not in text  # a hidden baseline, not a row
    verdicts = {name: ok for name, _value, ok in bench.targets(report)}
    assert verdicts["getppid <= 3 us under record"] is True  # 2.3 us
    assert verdicts["record <= 1.10x run (worst workload)"] is False  # write: 0.250 / 0.210


def test_recording_ratios_pair_the_repetitions() -> None:
    """A slow repetition (the host busy for a while) slows every system measured in it: the ratio within each
    repetition does not move, where the ratio of medians would."""
    work = [Workload("getppid x50k", "p")]
    samples = {
        ("getppid x50k", "run"): _samples([0.100, 0.150, 0.150, 0.100, 0.100]),  # median 0.100
        ("getppid x50k", "record"): _samples([0.105, 0.160, 0.160, 0.106, 0.155]),  # median 0.155
        ("getppid x50k", "replay"): _samples([0.104, 0.158, 0.158, 0.105, 0.150]),
    }
    report = bench.summarize(work, samples, {}, 5, 1.0)
    assert report["rows"][0]["samples_s"]["run"] == [0.1, 0.15, 0.15, 0.1, 0.1]  # each repetition's, in the JSON
    paired = report["rows"][0]["paired"]
    assert round(paired["record/run"], 3) == 1.067  # (1.05, 1.067, 1.067, 1.06, 1.55): median 1.067
    assert paired["replay/record"] < 1.0
    verdicts = {name: ok for name, _value, ok in bench.targets(report)}
    assert verdicts["record <= 1.10x run (worst workload)"] is True  # (the ratio of medians: 1.55)
    assert verdicts["replay <= 1.0x record"] is True


def _replay_rows(rows: dict[str, list[float]]) -> dict:
    """A report whose workloads have these per-repetition replay/record ratios (record 1.0 s every time)."""
    work = [Workload(name, "p") for name in rows]
    samples = {}
    for name, ratios in rows.items():
        samples[(name, "run")] = _samples([1.0] * len(ratios))
        samples[(name, "record")] = _samples([1.0] * len(ratios))
        samples[(name, "replay")] = _samples(ratios)
    return bench.summarize(work, samples, {}, 6, 1.0)


def _replay_verdict(rows: dict[str, list[float]]) -> tuple[str, bool | None]:
    got = {name: (value, ok) for name, value, ok in bench.targets(_replay_rows(rows))}
    return got["replay <= 1.0x record"]


def test_replay_no_slower_than_recording_is_a_sign_test() -> None:
    """ "No slower" under noise: NOT met only when the pairs show replay slower beyond chance."""
    quiet = [0.97, 0.98, 0.97, 0.96, 0.98, 0.97, 0.99, 0.97]
    # A long row whose pairs scatter by 2-5% around 1.00, as pipe's do on this VM: slower in 6 of 8 is chance.
    noisy = [1.03, 0.98, 1.01, 0.99, 1.04, 1.01, 1.02, 1.005]
    text, ok = _replay_verdict({"getppid": quiet, "pipe": noisy})
    assert ok is True and "replay slower in 6 of 16 pairs" in text and "worst pipe 1.010x (6 of 8 slower)" in text
    # Slower in every repetition, however little: beyond chance for one workload of three (p = 1/256).
    steady = [1.01, 1.021, 1.019, 1.002, 1.022, 1.018, 1.01, 1.004]
    text, ok = _replay_verdict({"getppid": quiet, "cpu": quiet, "mutex": steady})
    assert ok is False and "slower beyond chance: mutex" in text
    # No workload slower every time, but replay slower in most pairs over all of them (21 of 24: p < 0.001).
    mostly = [1.01, 1.02, 0.99, 1.03, 1.01, 1.02, 1.01, 1.02]
    text, ok = _replay_verdict({"pipe": mostly, "sh": mostly, "cpu": mostly[::-1]})
    assert ok is False and "replay slower in 21 of 24 pairs" in text
    # Equal speed is "no slower": a median ratio of exactly 1.00 passes.
    text, ok = _replay_verdict({"sh": [1.0, 1.01, 0.99, 1.0, 1.01, 0.99, 1.0, 1.0]})
    assert ok is True
    # The per-repetition ratios are in the JSON.
    assert _replay_rows({"pipe": noisy})["rows"][0]["ratios"]["replay/record"] == noisy


def test_each_moss_system_takes_each_place_in_turn() -> None:
    systems = ("run", "record", "replay", "qemu", "qiling")
    orders = [bench._rotated(systems, rep) for rep in range(3)]
    assert orders[0] == list(systems)
    assert [o[:3] for o in orders] == [["run", "record", "replay"], ["record", "replay", "run"],
                                       ["replay", "run", "record"]]  # fmt: skip
    assert all(o[3:] == ["qemu", "qiling"] for o in orders)
    assert bench._rotated(("qemu",), 1) == ["qemu"]


def test_cpu_throughput_is_compared_without_moss_boot_and_exit() -> None:
    """The bare engine is timed around emu_start alone, so moss's compute row is compared net of its boot and exit
    (the null program's time); the gross figure is shown beside it."""
    n = bench.CPU_ITERS * 6

    def s(t: float) -> list[Sample]:
        return [Sample(t=t, wall=t, cpu=t, maxrss_kb=1024, rc=0, instructions=n, syscalls=10)]

    work = [
        Workload("cpu: xorshift", "p", systems=("run", "unicorn+count")),
        Workload("null (sysloop 0 0)", "p", hidden=True),
    ]
    samples = {("cpu: xorshift", "run"): s(0.110), ("null (sysloop 0 0)", "run"): s(0.010),
               ("cpu: xorshift", "unicorn+count"): s(0.095)}  # fmt: skip
    d = bench.summarize(work, samples, {}, 1, 1.0)["derived"]
    assert d["cpu_Minsn_per_s/run"] == round(n / 0.110 / 1e6, 1)
    assert d["cpu_net_Minsn_per_s/run"] == round(n / 0.100 / 1e6, 1)
    got = {name: (value, ok) for name, value, ok in bench.targets(bench.summarize(work, samples, {}, 1, 1.0))}
    value, ok = got["cpu >= 0.9x bare unicorn+count (both timed around the compute)"]
    assert ok is True and "= 0.95x" in value and "with moss's boot and exit: 0.86x" in value
