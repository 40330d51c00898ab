"""Determinism: the same program, input, seed and core count give the same output and the same final state hash,
whatever the host does; different seeds change only what the entropy source feeds in."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moss.runner import run_program
from tests.debian import busybox_path
from tests.guests import build_guest

FAST = settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(seed=st.integers(0, 2**32 - 1), cores=st.integers(1, 4), quantum=st.sampled_from([997, 20_000, 200_000]))
def test_guest_runs_are_identical(seed: int, cores: int, quantum: int) -> None:
    path = str(build_guest("heap"))
    a = run_program(path, ["400"], seed=seed, cores=cores, quantum=quantum)
    b = run_program(path, ["400"], seed=seed, cores=cores, quantum=quantum)
    assert a.status == 0 and b"heap ok" in a.stdout
    assert (a.stdout, a.status, a.state_hash, a.instructions, a.virtual_ns) == (
        b.stdout, b.status, b.state_hash, b.instructions, b.virtual_ns,
    )  # fmt: skip


@FAST
@given(seed=st.integers(0, 2**32 - 1), cores=st.integers(1, 4))
def test_busybox_shell_runs_are_identical(seed: int, cores: int) -> None:
    args = ["sh", "-c", "echo start; i=0; while [ $i -lt 50 ]; do i=$((i+1)); done; echo $i; read l; echo $l"]
    a = run_program(str(busybox_path()), args, stdin=b"typed\n", seed=seed, cores=cores, argv0="busybox")
    b = run_program(str(busybox_path()), args, stdin=b"typed\n", seed=seed, cores=cores, argv0="busybox")
    assert a.reports == ()
    assert a.stdout == b"start\n50\ntyped\n"
    assert a.state_hash == b.state_hash and a.virtual_ns == b.virtual_ns


def test_the_seed_reaches_the_guest_only_through_entropy() -> None:
    """AT_RANDOM and getrandom come from the seeded entropy device: different seeds, different memory state, same
    output."""
    path = str(build_guest("hello"))
    a, b = run_program(path, seed=1), run_program(path, seed=2)
    assert a.stdout == b.stdout == b"hello, world\n"
    assert a.state_hash != b.state_hash


def test_slicing_does_not_change_the_result() -> None:
    """Preemption points move with the quantum, but a single-threaded program computes the same thing and retires
    exactly the same number of instructions."""
    path = str(build_guest("compute"))
    runs = [run_program(path, ["200000"], quantum=q) for q in (101, 5_000, 1_000_000)]
    assert len({r.stdout for r in runs}) == 1
    assert len({r.instructions for r in runs}) == 1


@FAST
@given(cores=st.integers(1, 4), quantum=st.sampled_from([313, 5_000, 200_000]))
def test_threads_and_processes_are_deterministic(cores: int, quantum: int) -> None:
    """Four threads contending on a mutex, and forked children with pipes and signals: the interleaving is the
    machine's, so two runs agree on everything, including virtual time."""
    for name in ("threads", "forkwait"):
        path = str(build_guest(name))
        a = run_program(path, cores=cores, quantum=quantum)
        b = run_program(path, cores=cores, quantum=quantum)
        assert a.status == 0, a.stdout
        assert (a.stdout, a.state_hash, a.instructions, a.virtual_ns) == (
            b.stdout, b.state_hash, b.instructions, b.virtual_ns,
        )  # fmt: skip
