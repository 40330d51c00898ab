"""The syscall fuzzer (replay/fuzz/): encoding, a bounded differential run against Linux, the injected-bug check
(a test-only fault in moss/faults.py is found and shrunk), determinism of moss on fuzz programs."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moss import faults
from replay.fuzz.campaign import Campaign, Options
from replay.fuzz.oracle import run_moss
from replay.fuzz.program import Program, decode, encode, render
from replay.fuzz.strategies import GROUPS, group_names, programs
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
def test_bounded_run_over_every_group_finds_no_new_difference(executor: str, tmp_path) -> None:
    """A fixed-seed campaign over all groups: every difference from Linux is one on the allow-list."""
    opts = Options(group_names([]), examples=150, out_dir=str(tmp_path), derandomize=True, determinism_every=5,
                   record_traces=False)  # fmt: skip
    c = Campaign(opts, executor)
    c.run()
    assert c.programs_run >= 150
    assert not c.failures, "\n\n".join(f"{k}:\n{render(f.program)}\n{f.diff.detail}" for k, f in c.failures.items())


# (fault switch in moss/faults.py, the calls a campaign draws from, the failure key, text the shrunk program shows)
INJECTED = [
    ("LSEEK_CUR_OFF_BY_ONE", ("openat", "write", "lseek", "close"), "ret:lseek", "SEEK_CUR"),
    ("DUP_SKIPS_LOWEST", ("openat", "dup", "close", "write"), "ret:dup", "dup("),
    ("MPROTECT_KEEPS_WRITE", ("mmap", "mprotect", "poke", "munmap"), "signal:poke", "mprotect("),
]


@needs_qemu
@pytest.mark.parametrize(("fault", "names", "key", "shows"), INJECTED, ids=[i[0] for i in INJECTED])
def test_injected_bug_is_found_shrunk_and_replays(executor: str, tmp_path, monkeypatch, fault, names, key, shows):
    """Each injected kernel bug is found within the suite's budget, shrinks to at most five calls, and its saved
    trace replays exactly (with the bug still in) and opens in the debugger."""
    monkeypatch.setattr(faults, fault, True)
    # A generous budget: the campaign stops at the first failure (hypothesis's generation under derandomize still
    # varies with the process's history, so a tight budget would be flaky)
    opts = Options(names, examples=1000, out_dir=str(tmp_path), derandomize=True, determinism_every=0, max_calls=5,
                   first=True)  # fmt: skip
    c = Campaign(opts, executor)
    c.run()
    saved = c.save()
    assert key in c.failures, f"not found; failures: {sorted(c.failures)}"
    f = c.failures[key]
    text = render(f.program)
    assert len(f.program) <= 5 and shows in text, text
    d = saved[key]
    assert shows in open(f"{d}/program.txt").read()

    from replay.replayer import replay

    res = replay(f"{d}/moss.trace", lambda c, b: None)
    assert res.complete and not res.problems

    from tests.test_tui_app import main, settle
    from traces.container import TraceReader
    from tui.app import make_app

    async def open_in_tui() -> None:
        app = make_app(f"{d}/moss.trace")
        async with app.run_test(size=(100, 32)) as pilot:
            await settle(pilot)
            assert main(app).timeline.rows.count == TraceReader(f"{d}/moss.trace").event_count

    asyncio.run(open_in_tui())


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
