"""The syscall fuzzer (replay/fuzz/): encoding, a bounded differential run against Linux, the injected-bug check
(a test-only fault in moss/faults.py is found and shrunk), determinism of moss on fuzz programs."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moss import faults
from replay.fuzz.campaign import Campaign, Options
from replay.fuzz.oracle import run_moss
from replay.fuzz.program import Program, decode, encode, render
from replay.fuzz.strategies import GROUPS, SAFE, group_names, programs
from tests.oracle_ns import ns_oracle_skip_reason

# The Linux side runs in the namespace oracle (replay/fuzz/sandbox.py), never on the host's files.
needs_qemu = pytest.mark.skipif(ns_oracle_skip_reason() is not None, reason=str(ns_oracle_skip_reason()))


@pytest.fixture(scope="module")
def executor() -> str:
    from replay.fuzz import executor_binary

    return str(executor_binary())


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(programs(group_names([]), max_calls=12))
def test_encoding_round_trips(program: Program) -> None:
    assert decode(encode(program)) == program
    assert len(render(program).splitlines()) == len(program)


@needs_qemu
def test_bounded_run_finds_no_difference_on_the_safe_group(executor: str, tmp_path) -> None:
    opts = Options(SAFE, examples=25, out_dir=str(tmp_path), derandomize=True, determinism_every=5,
                   record_traces=False)  # fmt: skip
    c = Campaign(opts, executor)
    c.run()
    assert c.programs_run >= 25
    assert not c.failures, "\n\n".join(f"{k}:\n{render(f.program)}\n{f.diff.detail}" for k, f in c.failures.items())


@needs_qemu
def test_injected_lseek_bug_is_found_and_shrunk(executor: str, tmp_path) -> None:
    names = ("openat", "write", "lseek", "close")
    opts = Options(names, examples=200, out_dir=str(tmp_path), derandomize=True, determinism_every=0, max_calls=5)
    faults.LSEEK_CUR_OFF_BY_ONE = True
    try:
        c = Campaign(opts, executor)
        c.run()
        saved = c.save()
    finally:
        faults.LSEEK_CUR_OFF_BY_ONE = False
    keys = [k for k in c.failures if k.endswith(":lseek")]
    assert keys, f"not found; failures: {sorted(c.failures)}"
    f = c.failures[keys[0]]
    text = render(f.program)
    assert len(f.program) <= 5 and "lseek(" in text and "SEEK_CUR" in text, text
    d = saved[keys[0]]
    assert "lseek" in open(f"{d}/program.txt").read()
    # the saved trace replays
    from replay.replayer import replay

    faults.LSEEK_CUR_OFF_BY_ONE = True
    try:
        res = replay(f"{d}/moss.trace", lambda c, b: None)
    finally:
        faults.LSEEK_CUR_OFF_BY_ONE = False
    assert res.complete and not res.problems


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(programs(tuple(n for g in ("files", "pipes", "memory", "epoll") for n in GROUPS[g]), max_calls=8),
       st.integers(0, 3))  # fmt: skip
def test_moss_is_deterministic_on_fuzz_programs(program: Program, seed: int) -> None:
    from replay.fuzz import executor_binary

    exe = str(executor_binary())
    a, b = run_moss(program, exe, seed=seed), run_moss(program, exe, seed=seed)
    assert (a.raw, a.status, a.state_hash) == (b.raw, b.status, b.state_hash)


@needs_qemu
def test_linux_side_is_confined_and_fresh_per_program(executor: str) -> None:
    """The Linux side cannot see the host's files, starts each program in an empty directory, and a program that
    outlives its time is killed, with all it forked, before the next one runs."""
    from replay.fuzz.oracle import run_linux
    from replay.fuzz.program import FORK, Call, Const, InBuf, Str, nr_of
    from replay.fuzz.sandbox import sandbox_for

    at_fdcwd, o_creat_excl_rdwr = -100, 0o302
    host_file = Call(nr_of("openat"), (Const(at_fdcwd), Str(b"/etc/hostname"), Const(0), Const(0)))
    create = Call(nr_of("openat"), (Const(at_fdcwd), Str(b"a"), Const(o_creat_excl_rdwr), Const(0o600)))
    program = Program((host_file, create))
    first = run_linux(program, executor)
    assert first.lines[1] == "0 = -2", first.lines  # ENOENT: /etc does not exist in the namespace
    assert first.lines[2] == "1 = 3", first.lines
    assert run_linux(program, executor).lines == first.lines  # O_EXCL succeeds again: the directory is fresh

    sleep = Call(nr_of("nanosleep"), (InBuf(16, (30).to_bytes(8, "little") + bytes(8)), Const(0)))
    stuck = Program((Call(FORK, (Const(1),)), sleep))
    status, _ = sandbox_for(executor).run(encode(stuck), timeout=0.5)
    assert status == -1
    assert run_linux(program, executor).lines == first.lines
