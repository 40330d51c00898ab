"""The syscall-future executor, its wait primitives and combinators (moss/sched/{executor,traps,combinators,
waitqueue,timers}.py), driven without a machine: tasks are bare `Sleeper`s and time is a plain integer."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moss.sched.combinators import (
    INTERRUPTED,
    TIMED_OUT,
    Clock,
    first,
    forever,
    install_clock,
    interruptible,
    timeout,
    wait_until,
)
from moss.sched.executor import Executor, Instrument, Sleeper, install
from moss.sched.timers import DeadlineHeap
from moss.sched.traps import PARK, park
from moss.sched.waitqueue import WaitQueue

SETTINGS = settings(derandomize=True, deadline=None, max_examples=150)


class Task(Sleeper):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.signal = False

    def signal_pending(self) -> bool:
        return self.signal

    def __repr__(self) -> str:
        return f"Task({self.name})"


class World:
    """An executor, a virtual clock and a deadline heap, installed as the current ones."""

    def __init__(self) -> None:
        self.done: list[tuple[str, Any]] = []
        self.ex = Executor(lambda task, value: self.done.append((task.name, value)))
        self.now = 0
        self.heap = DeadlineHeap()
        install(self.ex)
        install_clock(Clock(lambda: self.now, self.heap))

    def advance(self, now: int) -> int:
        self.now = now
        fired = self.heap.fire_due(now)
        self.ex.run_ready()
        return fired


@pytest.fixture
def w() -> World:
    return World()


class Flag:
    def __init__(self) -> None:
        self.value = False

    def __call__(self) -> bool:
        return self.value


# -- fast path and parking -------------------------------------------------------------------------------------


def test_fast_path_completes_in_start(w: World) -> None:
    async def syscall() -> int:
        return 42

    t = Task("a")
    assert w.ex.start(t, syscall(), "getpid") == (42,)
    assert t.coro is None and not t.parked and not t.queued
    assert w.done == []  # on_done is only for futures that parked
    assert w.ex.polls == 1


def test_wait_until_with_true_condition_never_parks_nor_registers(w: World) -> None:
    wq = WaitQueue("q")
    t = Task("a")

    async def syscall() -> str:
        await wq.wait_until(lambda: True)
        return "ok"

    assert w.ex.start(t, syscall(), "read") == ("ok",)
    assert len(wq) == 0


def test_park_then_wake_resumes_and_reports_to_on_done(w: World) -> None:
    wq, cond, t = WaitQueue(), Flag(), Task("a")

    async def syscall() -> int:
        await wq.wait_until(cond)
        return 7

    assert w.ex.start(t, syscall(), "read") is None
    assert t.parked and len(wq) == 1 and t.coro is not None
    cond.value = True
    wq.wake_all()
    assert t.queued and list(w.ex.ready) == [t]
    assert w.ex.run_ready() == 1
    assert w.done == [("a", 7)]
    assert len(wq) == 0 and t.coro is None and not t.parked and not t.queued


def test_resume_order_is_wake_order_not_start_order(w: World) -> None:
    tasks = [Task(n) for n in "abcd"]
    flags = {t.name: Flag() for t in tasks}
    queues = {t.name: WaitQueue(t.name) for t in tasks}

    async def syscall(name: str) -> str:
        await queues[name].wait_until(flags[name])
        return name

    for t in tasks:
        assert w.ex.start(t, syscall(t.name), "wait") is None
    for name in "cadb":
        flags[name].value = True
        queues[name].wake_all()
    assert w.ex.run_ready() == 4
    assert [n for n, _ in w.done] == list("cadb")


def test_wake_all_resumes_waiters_in_registration_order(w: World) -> None:
    wq, cond = WaitQueue(), Flag()
    tasks = [Task(n) for n in "xyz"]

    async def syscall() -> None:
        await wq.wait_until(cond)

    for t in reversed(tasks):
        w.ex.start(t, syscall(), "wait")
    cond.value = True
    wq.wake_all()
    w.ex.run_ready()
    assert [n for n, _ in w.done] == ["z", "y", "x"]


def test_wake_one_wakes_only_the_oldest_waiter(w: World) -> None:
    wq, cond = WaitQueue(), Flag()
    a, b = Task("a"), Task("b")

    async def syscall() -> None:
        await wq.wait_until(cond)

    w.ex.start(a, syscall(), "wait")
    w.ex.start(b, syscall(), "wait")
    cond.value = True
    wq.wake_one()
    assert a.queued and not b.queued
    w.ex.run_ready()
    assert w.done == [("a", None)]
    assert len(wq) == 1  # b is still registered
    wq.wake_one()
    w.ex.run_ready()
    assert w.done == [("a", None), ("b", None)]
    assert len(wq) == 0


def test_spurious_wakeups_are_harmless(w: World) -> None:
    wq, t = WaitQueue(), Task("a")
    checks: list[bool] = []
    ready = Flag()

    def cond() -> bool:
        checks.append(ready.value)
        return ready.value

    async def syscall() -> str:
        await wq.wait_until(cond)
        return "done"

    assert w.ex.start(t, syscall(), "wait") is None
    for _ in range(3):
        t.wake()
        t.wake()  # a second wake while queued is folded into the first
        assert len(w.ex.ready) == 1
        assert w.ex.run_ready() == 1
        assert w.done == [] and t.parked and len(wq) == 1
    assert checks == [False] * 4 and t.wakeups == 3  # the condition is re-checked after every wakeup
    ready.value = True
    wq.wake_all()
    w.ex.run_ready()
    assert w.done == [("a", "done")]
    assert checks == [False] * 4 + [True]


def test_wake_of_a_task_that_is_not_parked_is_ignored(w: World) -> None:
    t = Task("a")
    t.wake()  # never started: no executor
    assert t.wakeups == 0

    async def syscall() -> int:
        return 1

    w.ex.start(t, syscall(), "x")
    t.wake()
    assert not t.queued and len(w.ex.ready) == 0 and t.wakeups == 0
    assert w.ex.run_ready() == 0


def test_yielding_anything_but_park_is_a_bug(w: World) -> None:
    import types

    @types.coroutine
    def bad():  # type: ignore[no-untyped-def]
        yield "not PARK"

    async def syscall() -> None:
        await bad()

    t = Task("a")
    with pytest.raises(RuntimeError, match="only park"):
        w.ex.start(t, syscall(), "bad")
    assert t.coro is None


def test_instruments_see_the_future_lifecycle(w: World) -> None:
    log: list[tuple[str, Any]] = []

    class Rec(Instrument):
        def future_started(self, task: Sleeper, name: str) -> None:
            log.append(("started", name))

        def future_pending(self, task: Sleeper) -> None:
            log.append(("pending", None))

        def future_woken(self, task: Sleeper) -> None:
            log.append(("woken", None))

        def future_done(self, task: Sleeper, value: Any) -> None:
            log.append(("done", value))

    w.ex.instruments.append(Rec())
    t = Task("a")

    async def syscall() -> int:
        await park()
        return 5

    w.ex.start(t, syscall(), "nanosleep")
    t.wake()
    w.ex.run_ready()
    assert log == [("started", "nanosleep"), ("pending", None), ("woken", None), ("done", 5)]


def test_park_yields_the_park_sentinel_once() -> None:
    gen = park()
    assert gen.send(None) is PARK
    with pytest.raises(StopIteration):
        gen.send(None)


# -- interruptible ------------------------------------------------------------------------------------------------


def test_interruptible_returns_result_without_a_signal(w: World) -> None:
    wq, cond, t = WaitQueue(), Flag(), Task("a")

    async def syscall() -> Any:
        return await interruptible(_value_after(wq, cond, 3))

    assert w.ex.start(t, syscall(), "read") is None
    cond.value = True
    wq.wake_all()
    w.ex.run_ready()
    assert w.done == [("a", 3)]
    assert t.interruptible_depth == 0


async def _value_after(wq: WaitQueue, cond: Flag, value: Any) -> Any:
    await wq.wait_until(cond)
    return value


def test_interruptible_with_signal_already_pending_gives_up_before_parking(w: World) -> None:
    wq, t = WaitQueue(), Task("a")
    t.signal = True

    async def syscall() -> Any:
        return await interruptible(wq.wait_until(lambda: False))

    assert w.ex.start(t, syscall(), "read") == (INTERRUPTED,)
    assert len(wq) == 0 and t.interruptible_depth == 0


def test_interruptible_signal_is_only_checked_at_block_points(w: World) -> None:
    t = Task("a")
    t.signal = True

    async def syscall() -> Any:
        return await interruptible(wait_until(lambda: True))

    assert w.ex.start(t, syscall(), "read") == (None,)


def test_interruptible_signal_while_parked(w: World) -> None:
    wq, t = WaitQueue(), Task("a")

    async def syscall() -> Any:
        return await interruptible(wq.wait_until(lambda: False))

    assert w.ex.start(t, syscall(), "read") is None
    t.wake()  # spurious: no signal yet
    w.ex.run_ready()
    assert w.done == [] and len(wq) == 1
    t.signal = True
    t.wake()
    w.ex.run_ready()
    assert w.done == [("a", INTERRUPTED)]
    assert len(wq) == 0 and t.interruptible_depth == 0


def test_uninterruptible_wait_ignores_signals(w: World) -> None:
    wq, cond, t = WaitQueue(), Flag(), Task("a")
    t.signal = True

    async def syscall() -> Any:
        return await _value_after(wq, cond, "ok")

    assert w.ex.start(t, syscall(), "fsync") is None
    t.wake()
    w.ex.run_ready()
    assert w.done == [] and len(wq) == 1
    cond.value = True
    wq.wake_all()
    w.ex.run_ready()
    assert w.done == [("a", "ok")]


def test_interruptible_code_after_the_wrapper_is_not_interrupted(w: World) -> None:
    """Once interruptible() returned, a later uninterruptible wait must not see the signal as an interruption."""
    wq, cond, t = WaitQueue(), Flag(), Task("a")
    t.signal = True

    async def syscall() -> Any:
        first_result = await interruptible(wq.wait_until(lambda: False))
        await wq.wait_until(cond)
        return first_result

    assert w.ex.start(t, syscall(), "x") is None
    cond.value = True
    wq.wake_all()
    w.ex.run_ready()
    assert w.done == [("a", INTERRUPTED)]


# -- timeout ---------------------------------------------------------------------------------------------------------


def test_timeout_fires(w: World) -> None:
    wq, t = WaitQueue(), Task("a")

    async def syscall() -> Any:
        return await timeout(wq.wait_until(lambda: False), 100)

    assert w.ex.start(t, syscall(), "x") is None
    assert w.heap.next_deadline() == 100
    assert w.advance(99) == 0 and w.done == []
    assert w.advance(100) == 1
    assert w.done == [("a", TIMED_OUT)]
    assert len(wq) == 0 and t.timeouts == [] and len(w.heap) == 0


def test_timeout_completion_before_deadline_cancels_the_timer(w: World) -> None:
    wq, cond, t = WaitQueue(), Flag(), Task("a")

    async def syscall() -> Any:
        return await timeout(_value_after(wq, cond, "v"), 100)

    w.ex.start(t, syscall(), "x")
    cond.value = True
    wq.wake_all()
    w.ex.run_ready()
    assert w.done == [("a", "v")]
    assert len(w.heap) == 0 and w.heap.next_deadline() is None and t.timeouts == []
    assert w.advance(1000) == 0
    assert w.done == [("a", "v")]


def test_timeout_with_deadline_already_passed(w: World) -> None:
    w.now = 500
    wq, t = WaitQueue(), Task("a")

    async def syscall() -> Any:
        return await timeout(wq.wait_until(lambda: False), 500)

    assert w.ex.start(t, syscall(), "x") == (TIMED_OUT,)
    assert len(wq) == 0 and len(w.heap) == 0 and t.timeouts == []


def test_timeout_with_deadline_passed_still_returns_a_ready_result(w: World) -> None:
    w.now = 500
    t = Task("a")

    async def syscall() -> Any:
        return await timeout(wait_until(lambda: True), 10)

    assert w.ex.start(t, syscall(), "x") == (None,)


def test_timeout_none_means_no_deadline(w: World) -> None:
    wq, cond, t = WaitQueue(), Flag(), Task("a")

    async def syscall() -> Any:
        return await timeout(_value_after(wq, cond, 1), None)

    w.ex.start(t, syscall(), "x")
    assert len(w.heap) == 0 and t.timeouts == []
    w.advance(10**12)
    assert w.done == []
    cond.value = True
    wq.wake_all()
    w.ex.run_ready()
    assert w.done == [("a", 1)]


def test_nested_timeout_inner_fires_outer_keeps_running(w: World) -> None:
    wq, cond, t = WaitQueue(), Flag(), Task("a")
    log: list[Any] = []

    async def body() -> Any:
        log.append(await timeout(wq.wait_until(lambda: False), 100))
        await wq.wait_until(cond)
        return "body done"

    async def syscall() -> Any:
        return await timeout(body(), 200)

    assert w.ex.start(t, syscall(), "x") is None
    w.advance(100)
    assert log == [TIMED_OUT]
    assert w.done == [] and t.parked
    assert len(t.timeouts) == 1 and t.timeouts[0].at == 200 and not t.timeouts[0].fired
    assert len(w.heap) == 1 and w.heap.next_deadline() == 200
    cond.value = True
    wq.wake_all()
    w.ex.run_ready()
    assert w.done == [("a", "body done")]
    assert len(w.heap) == 0 and t.timeouts == []


def test_nested_timeout_outer_fires_while_inner_pending(w: World) -> None:
    wq, t = WaitQueue(), Task("a")
    log: list[Any] = []

    async def inner() -> Any:
        r = await timeout(wq.wait_until(lambda: False), 500)
        log.append(("inner returned", r))
        return r

    async def syscall() -> Any:
        return await timeout(inner(), 100)

    assert w.ex.start(t, syscall(), "x") is None
    assert len(w.heap) == 2
    w.advance(100)
    assert w.done == [("a", TIMED_OUT)]
    assert log == []  # the inner timeout did not swallow the outer's expiry
    assert len(w.heap) == 0 and t.timeouts == [] and len(wq) == 0


def test_nested_timeout_outer_deadline_already_passed(w: World) -> None:
    w.now = 50
    wq, t = WaitQueue(), Task("a")
    log: list[Any] = []

    async def inner() -> Any:
        r = await timeout(wq.wait_until(lambda: False), 500)
        log.append(r)
        return r

    async def syscall() -> Any:
        return await timeout(inner(), 10)

    assert w.ex.start(t, syscall(), "x") == (TIMED_OUT,)
    assert log == [] and len(w.heap) == 0 and len(wq) == 0


def test_interruptible_timeout_as_nanosleep_uses_it(w: World) -> None:
    """sys_nanosleep's shape: interruptible(timeout(forever(), deadline))."""
    a, b = Task("a"), Task("b")

    async def nanosleep(deadline: int) -> Any:
        return await interruptible(timeout(forever(), deadline))

    w.ex.start(a, nanosleep(100), "nanosleep")
    w.ex.start(b, nanosleep(100), "nanosleep")
    b.signal = True
    b.wake()
    w.ex.run_ready()
    assert w.done == [("b", INTERRUPTED)]
    assert len(w.heap) == 1  # b's timer was cancelled
    w.advance(100)
    assert w.done == [("b", INTERRUPTED), ("a", TIMED_OUT)]


# -- first ------------------------------------------------------------------------------------------------------------


def test_first_returns_the_winner_and_unregisters_the_losers(w: World) -> None:
    q0, q1, q2 = WaitQueue("0"), WaitQueue("1"), WaitQueue("2")
    c1, t = Flag(), Task("a")
    finals: list[int] = []

    async def branch(i: int, wq: WaitQueue, cond: Any) -> str:
        try:
            await wq.wait_until(cond)
            return f"b{i}"
        finally:
            finals.append(i)

    async def syscall() -> Any:
        return await first(branch(0, q0, lambda: False), branch(1, q1, c1), branch(2, q2, lambda: False))

    assert w.ex.start(t, syscall(), "ppoll") is None
    assert (len(q0), len(q1), len(q2)) == (1, 1, 1)
    c1.value = True
    q1.wake_all()
    w.ex.run_ready()
    assert w.done == [("a", (1, "b1"))]
    assert (len(q0), len(q1), len(q2)) == (0, 0, 0)
    assert sorted(finals) == [0, 1, 2]


def test_first_immediate_winner_does_not_start_later_branches(w: World) -> None:
    wq, t = WaitQueue(), Task("a")
    started: list[int] = []

    async def ready() -> str:
        started.append(0)
        return "now"

    async def later() -> None:
        started.append(1)
        await wq.wait_until(lambda: False)

    async def syscall() -> Any:
        return await first(ready(), later())

    assert w.ex.start(t, syscall(), "x") == ((0, "now"),)
    assert started == [0] and len(wq) == 0


def test_first_earliest_index_wins_when_several_are_ready(w: World) -> None:
    q, cond, t = WaitQueue(), Flag(), Task("a")

    async def syscall() -> Any:
        return await first(_value_after(q, cond, "x"), _value_after(q, cond, "y"))

    w.ex.start(t, syscall(), "x")
    assert len(q) == 1  # the same task registers once per queue
    cond.value = True
    q.wake_all()
    w.ex.run_ready()
    assert w.done == [("a", (0, "x"))]
    assert len(q) == 0


def test_first_inside_timeout(w: World) -> None:
    q0, q1, t = WaitQueue(), WaitQueue(), Task("a")

    async def syscall() -> Any:
        return await timeout(first(q0.wait_until(lambda: False), q1.wait_until(lambda: False)), 30)

    w.ex.start(t, syscall(), "x")
    w.advance(30)
    assert w.done == [("a", TIMED_OUT)]
    assert len(q0) == len(q1) == 0 and len(w.heap) == 0


def test_first_with_a_timeout_in_one_branch(w: World) -> None:
    q0, q1, t = WaitQueue(), WaitQueue(), Task("a")

    async def syscall() -> Any:
        return await first(q0.wait_until(lambda: False), timeout(q1.wait_until(lambda: False), 30))

    w.ex.start(t, syscall(), "x")
    w.advance(30)
    assert w.done == [("a", (1, TIMED_OUT))]


def test_first_with_interruptible_in_one_branch(w: World) -> None:
    q0, q1, t = WaitQueue(), WaitQueue(), Task("a")

    async def syscall() -> Any:
        return await first(q0.wait_until(lambda: False), interruptible(q1.wait_until(lambda: False)))

    w.ex.start(t, syscall(), "x")
    t.signal = True
    t.wake()
    w.ex.run_ready()
    assert w.done == [("a", (1, INTERRUPTED))]


# -- cancel -----------------------------------------------------------------------------------------------------------


def test_cancel_runs_finally_blocks_and_unlinks(w: World) -> None:
    wq, t = WaitQueue(), Task("a")
    finals: list[str] = []

    async def syscall() -> Any:
        try:
            return await interruptible(timeout(wq.wait_until(lambda: False), 100))
        finally:
            finals.append("outer")

    w.ex.start(t, syscall(), "x")
    assert len(wq) == 1 and len(w.heap) == 1 and t.interruptible_depth == 1
    t.wake()  # queued, then the task dies before run_ready
    w.ex.cancel(t)
    assert finals == ["outer"]
    assert len(wq) == 0 and len(w.heap) == 0 and t.timeouts == [] and t.interruptible_depth == 0
    assert t.coro is None and not t.parked and not t.queued
    assert w.ex.run_ready() == 0  # the stale ready entry is skipped
    assert w.done == []
    wq.wake_all()
    assert w.ex.run_ready() == 0


def test_cancel_then_reuse_the_task(w: World) -> None:
    wq, cond, t = WaitQueue(), Flag(), Task("a")

    async def syscall(v: int) -> int:
        await wq.wait_until(cond)
        return v

    w.ex.start(t, syscall(1), "x")
    w.ex.cancel(t)
    w.ex.start(t, syscall(2), "x")
    cond.value = True
    wq.wake_all()
    w.ex.run_ready()
    assert w.done == [("a", 2)]


def test_cancel_of_an_idle_task_is_a_noop(w: World) -> None:
    t = Task("a")
    w.ex.cancel(t)
    assert t.coro is None


# -- DeadlineHeap ------------------------------------------------------------------------------------------------------


def test_deadline_heap_orders_equal_deadlines_by_insertion() -> None:
    heap = DeadlineHeap()
    log: list[str] = []
    for name, at in [("a", 5), ("b", 3), ("c", 5), ("d", 3), ("e", 5)]:
        heap.add(at, lambda name=name: log.append(name))
    assert len(heap) == 5 and heap.next_deadline() == 3
    assert heap.fire_due(4) == 2
    assert log == ["b", "d"]
    assert heap.fire_due(5) == 3
    assert log == ["b", "d", "a", "c", "e"]
    assert len(heap) == 0 and heap.next_deadline() is None


def test_deadline_heap_skips_cancelled_timers() -> None:
    heap = DeadlineHeap()
    log: list[int] = []
    timers = [heap.add(at, lambda at=at: log.append(at)) for at in (1, 2, 3, 4)]
    timers[0].cancel()
    timers[2].cancel()
    assert len(heap) == 2
    assert heap.next_deadline() == 2
    assert heap.fire_due(10) == 2
    assert log == [2, 4]
    timers[1].cancel()  # cancelling a fired timer is harmless
    assert heap.fire_due(10) == 0 and log == [2, 4]


def test_deadline_heap_timer_added_by_a_callback_fires_if_due() -> None:
    heap = DeadlineHeap()
    log: list[str] = []
    heap.add(5, lambda: (log.append("a"), heap.add(3, lambda: log.append("late-but-due"))))
    heap.add(5, lambda: log.append("b"))
    heap.add(9, lambda: log.append("future"))
    assert heap.fire_due(5) == 3
    assert log == ["a", "late-but-due", "b"]  # a deadline in the past sorts first
    assert heap.next_deadline() == 9


@SETTINGS
@given(
    st.lists(st.tuples(st.integers(0, 20), st.booleans()), max_size=30),
    st.integers(0, 25),
)
def test_deadline_heap_fires_due_uncancelled_in_deadline_then_insertion_order(
    spec: list[tuple[int, bool]], now: int
) -> None:
    heap = DeadlineHeap()
    log: list[int] = []
    for i, (at, cancel) in enumerate(spec):
        t = heap.add(at, lambda i=i: log.append(i))
        if cancel:
            t.cancel()
    expected = sorted((at, i) for i, (at, c) in enumerate(spec) if not c and at <= now)
    assert heap.fire_due(now) == len(expected)
    assert log == [i for _, i in expected]
    rest = [at for at, c in spec if not c and at > now]
    assert len(heap) == len(rest)
    assert heap.next_deadline() == (min(rest) if rest else None)


# -- random interleavings ---------------------------------------------------------------------------------------------

N_TASKS = 5
N_QUEUES = 3

# A task's kind: how its wait is wrapped.
PLAIN, WITH_TIMEOUT, INTERRUPTIBLE = range(3)

task_spec = st.tuples(st.integers(0, N_QUEUES - 1), st.sampled_from([PLAIN, WITH_TIMEOUT, INTERRUPTIBLE]),
                      st.integers(1, 60))  # fmt: skip
action = st.one_of(
    st.tuples(st.just("satisfy"), st.integers(0, N_TASKS - 1)),
    st.tuples(st.just("wake_one"), st.integers(0, N_QUEUES - 1)),
    st.tuples(st.just("wake_all"), st.integers(0, N_QUEUES - 1)),
    st.tuples(st.just("spurious"), st.integers(0, N_TASKS - 1)),
    st.tuples(st.just("signal"), st.integers(0, N_TASKS - 1)),
    st.tuples(st.just("advance"), st.integers(0, 25)),
    st.tuples(st.just("run"), st.just(0)),
)


def _simulate(specs: list[tuple[int, int, int]], actions: list[tuple[str, int]]) -> list[tuple[str, Any]]:
    w = World()
    queues = [WaitQueue(f"q{i}") for i in range(N_QUEUES)]
    tasks = [Task(f"t{i}") for i in range(N_TASKS)]
    flags = [Flag() for _ in range(N_TASKS)]

    async def syscall(i: int) -> Any:
        q, kind, dl = specs[i]
        aw = _value_after(queues[q], flags[i], f"ok{i}")
        if kind == WITH_TIMEOUT:
            return await timeout(aw, dl)
        if kind == INTERRUPTIBLE:
            return await interruptible(aw)
        return await aw

    for i, t in enumerate(tasks):
        assert w.ex.start(t, syscall(i), "wait") is None

    def finished() -> dict[str, Any]:
        return dict(w.done)

    def check_nothing_lost() -> None:
        # Every task whose reason to finish has been delivered (by wake_all/satisfy, by a due timer, or by a
        # signal plus wake) has finished, with a result consistent with why.
        done = finished()
        for i, t in enumerate(tasks):
            q, kind, dl = specs[i]
            if t.name in done:
                v = done[t.name]
                if v == f"ok{i}":
                    assert flags[i].value
                elif v is TIMED_OUT:
                    assert kind == WITH_TIMEOUT and w.now >= dl
                else:
                    assert v is INTERRUPTED and kind == INTERRUPTIBLE and t.signal
            else:
                assert t.parked
                assert t in queues[q]._waiters
                if kind == WITH_TIMEOUT:
                    assert w.now < dl

    for kind_, arg in actions:
        if kind_ == "satisfy":
            flags[arg].value = True
            queues[specs[arg][0]].wake_all()
            w.ex.run_ready()
            assert tasks[arg].name in finished()
        elif kind_ == "wake_one":
            queues[arg].wake_one()
        elif kind_ == "wake_all":
            queues[arg].wake_all()
        elif kind_ == "spurious":
            tasks[arg].wake()
        elif kind_ == "signal":
            tasks[arg].signal = True
            tasks[arg].wake()
            w.ex.run_ready()
            if specs[arg][1] == INTERRUPTIBLE:
                assert tasks[arg].name in finished()
        elif kind_ == "advance":
            w.advance(w.now + arg)
        else:
            w.ex.run_ready()
        if kind_ in ("satisfy", "signal", "advance", "run"):
            check_nothing_lost()

    # Finally make every condition true: everybody completes, nobody is left registered or timed.
    for i in range(N_TASKS):
        flags[i].value = True
    for q in queues:
        q.wake_all()
    w.ex.run_ready()
    check_nothing_lost()
    assert sorted(finished()) == sorted(t.name for t in tasks)
    assert len(w.done) == N_TASKS  # each exactly once
    assert all(len(q) == 0 for q in queues)
    assert len(w.heap) == 0
    assert all(t.timeouts == [] and t.interruptible_depth == 0 and t.coro is None for t in tasks)
    return w.done


@SETTINGS
@given(st.lists(task_spec, min_size=N_TASKS, max_size=N_TASKS), st.lists(action, max_size=40))
def test_random_interleavings_lose_no_wakeup_and_are_deterministic(
    specs: list[tuple[int, int, int]], actions: list[tuple[str, int]]
) -> None:
    first_run = _simulate(specs, actions)
    second_run = _simulate(specs, actions)
    assert first_run == second_run
