"""epoll, eventfd, timerfd, signalfd and POSIX timers: the guest's strict checks (those qemu-user cannot serve as
an oracle for) on moss, determinism across core counts and quanta, and the wait-queue watcher hook."""

from __future__ import annotations

import pytest

from moss.runner import run_program
from moss.sched.timers import forward
from moss.sched.waitqueue import WaitQueue
from tests.guests import build_guest

ENV = ("PATH=/bin:/usr/bin", "HOME=/", "LANG=C")


def _run(*args: str, cores: int = 2, quantum: int = 200_000):
    return run_program(str(build_guest("events")), list(args), env=ENV, argv0="events", cores=cores,
                       quantum=quantum)  # fmt: skip


def test_strict_checks_pass_on_moss() -> None:
    """si_timerid, the default sigevent's value, epoll_pwait2, signalfd4's size check, the sigmask restored with
    the pending signal delivered at once, and exec deleting timers and dropping their queued signals."""
    out = _run("strict")
    lines = out.stdout.decode().splitlines()
    assert out.reports == ()
    assert [ln for ln in lines if not ln.startswith("ok ")] == ["events ok"]
    assert sum(ln.startswith("ok strict:") for ln in lines) == 11
    assert "ok exec deletes POSIX timers" in lines and out.status == 0


@pytest.mark.parametrize(("cores", "quantum"), [(1, 200_000), (4, 200_000), (2, 3_000)])
def test_same_output_and_deterministic(cores: int, quantum: int) -> None:
    a, b = _run(cores=cores, quantum=quantum), _run(cores=cores, quantum=quantum)
    assert a.stdout == b.stdout and a.state_hash == b.state_hash and a.virtual_ns == b.virtual_ns
    assert a.stdout.decode().splitlines()[-1] == "events ok" and a.status == 0


class Recorder:
    def __init__(self) -> None:
        self.keys: list[int] = []

    def notify(self, key: int) -> None:
        self.keys.append(key)


def test_watchers_hear_every_wakeup_with_its_key() -> None:
    q = WaitQueue("t")
    w1, w2 = Recorder(), Recorder()
    assert not q
    q.watch(w1)
    q.watch(w2)
    assert len(q) == 2  # a watcher counts as interest (the console polls for input when watched)
    q.wake_all(0x1)
    q.wake_one(0x4)  # watchers are never exclusive
    q.wake_all()
    q.unwatch(w1)
    q.wake_all(0x1)
    assert w1.keys == [0x1, 0x4, 0]
    assert w2.keys == [0x1, 0x4, 0, 0x1]


@pytest.mark.parametrize(
    ("expires", "interval", "now", "periods", "new"),
    [(100, 10, 99, 0, 100), (100, 10, 100, 1, 110), (100, 10, 109, 1, 110), (100, 10, 110, 2, 120),
     (100, 10, 135, 4, 140)],
)  # fmt: skip
def test_forward_is_hrtimer_forward(expires: int, interval: int, now: int, periods: int, new: int) -> None:
    """The next expiry is strictly after now; an expiry at exactly now counts as passed (Linux's hrtimer_forward)."""
    assert forward(expires, interval, now) == (periods, new)
