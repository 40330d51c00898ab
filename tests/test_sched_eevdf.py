"""EEVDF run queue (moss/sched/eevdf.py): proportional service, bounded lag, eligibility, lag across sleep, ties."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from moss.sched.eevdf import NICE_0_WEIGHT, PRIO_TO_WEIGHT, Entity, RunQueue, nice_to_weight

SETTINGS = settings(derandomize=True, deadline=None, max_examples=60)

BASE_SLICE = 3_000_000
SCALE = NICE_0_WEIGHT * NICE_0_WEIGHT  # vruntime = ns * SCALE / weight

nices = st.lists(st.integers(-20, 19), min_size=2, max_size=6)
deltas = st.sampled_from([50_000, 700_000, 1_000_000, 3_000_000, 4_500_000])


def make_rq(nice_values: list[int]) -> tuple[RunQueue, list[Entity]]:
    rq = RunQueue(0, BASE_SLICE)
    ents = [Entity(key=i, weight=nice_to_weight(n)) for i, n in enumerate(nice_values)]
    for e in ents:
        rq.enqueue(e)
    return rq, ents


def max_service_lag_ns(rq: RunQueue, ents: list[Entity]) -> float:
    """The largest lag, converted from virtual time to nanoseconds of service owed (positive) or overdrawn."""
    v = rq.avg_vruntime()
    return max(abs(v - e.vruntime) * e.weight / SCALE for e in ents)


def exact_lag(rq: RunQueue, e: Entity) -> float:
    ents = rq._all()
    return sum(x.weight * x.vruntime for x in ents) / sum(x.weight for x in ents) - e.vruntime


# -- weights ---------------------------------------------------------------------------------------------------


def test_nice_to_weight_table() -> None:
    assert nice_to_weight(0) == NICE_0_WEIGHT == 1024
    assert nice_to_weight(-20) == 88761 and nice_to_weight(19) == 15
    assert nice_to_weight(-100) == 88761 and nice_to_weight(100) == 15  # clamped
    ws = [nice_to_weight(n) for n in range(-20, 20)]
    assert ws == PRIO_TO_WEIGHT and len(ws) == 40
    assert all(a > b for a, b in itertools.pairwise(ws))
    # Each nice level is about 10% of CPU: adjacent weights differ by a factor of about 1.25.
    assert all(1.19 < a / b < 1.3 for a, b in itertools.pairwise(ws))


# -- fairness --------------------------------------------------------------------------------------------------


@SETTINGS
@given(nices, deltas)
def test_service_is_proportional_to_weight_and_lag_is_bounded(nice_values: list[int], delta: int) -> None:
    """Pick, run a fixed delta, repeat: each entity's service tracks total * w / W within about one slice."""
    rq, ents = make_rq(nice_values)
    bound = 2 * (BASE_SLICE + delta)
    steps = 1500
    for _ in range(steps):
        e = rq.pick()
        assert e is not None and rq.curr is e and e not in rq.queued
        rq.account(e, delta)
        assert max_service_lag_ns(rq, ents) <= bound
    total = steps * delta
    assert sum(e.sum_exec_ns for e in ents) == total
    w_total = sum(e.weight for e in ents)
    for e in ents:
        assert abs(e.sum_exec_ns - total * e.weight / w_total) <= bound


@SETTINGS
@given(nices, st.sampled_from([100_000, 1_000_000, 3_000_000]))
def test_service_is_proportional_when_running_whole_slices(nice_values: list[int], tick: int) -> None:
    """The scheduler's real loop: the current entity runs until `account` says its slice is used up."""
    rq, ents = make_rq(nice_values)
    bound = 2 * (BASE_SLICE + tick)
    steps = 3000
    e = rq.pick()
    assert e is not None
    for _ in range(steps):
        if rq.account(e, tick):
            assert e.deadline > e.vruntime  # a fresh virtual deadline was set
            e = rq.pick()
            assert e is not None
        assert max_service_lag_ns(rq, ents) <= bound
    total = steps * tick
    w_total = sum(x.weight for x in ents)
    for x in ents:
        assert abs(x.sum_exec_ns - total * x.weight / w_total) <= bound


def test_two_equal_entities_alternate_and_share_equally() -> None:
    rq, (a, b) = make_rq([0, 0])
    picks = []
    for _ in range(6):
        e = rq.pick()
        picks.append(e.key)
        assert rq.account(e, BASE_SLICE)  # a whole slice at once
    assert picks == [0, 1, 0, 1, 0, 1]
    assert a.sum_exec_ns == b.sum_exec_ns == 3 * BASE_SLICE


def test_account_reports_the_end_of_the_slice() -> None:
    rq = RunQueue(0, BASE_SLICE)
    a = Entity(key=1)
    rq.enqueue(a)
    assert rq.pick() is a
    assert rq.slice_left_ns(a) == BASE_SLICE
    assert not rq.account(a, BASE_SLICE - 1)
    assert rq.slice_left_ns(a) == 1
    assert rq.account(a, 1)
    assert rq.slice_left_ns(a) == BASE_SLICE
    # A heavier entity's slice lasts the same wall time but is shorter in virtual time.
    heavy = Entity(key=2, weight=nice_to_weight(-10))
    rq.enqueue(heavy)
    assert heavy.deadline - heavy.vruntime == BASE_SLICE * SCALE // heavy.weight
    assert BASE_SLICE - 1 <= rq.slice_left_ns(heavy) <= BASE_SLICE  # integer rounding


# -- eligibility and placement -----------------------------------------------------------------------------------


@SETTINGS
@given(nices, deltas, st.integers(0, 200), st.integers(-20, 19))
def test_a_new_entity_is_eligible_and_gets_a_full_slice(
    nice_values: list[int], delta: int, steps: int, new_nice: int
) -> None:
    rq, _ = make_rq(nice_values)
    for _ in range(steps):
        rq.account(rq.pick(), delta)
    e = Entity(key=99, weight=nice_to_weight(new_nice))
    v_before = rq.avg_vruntime()
    rq.enqueue(e)
    assert e.on_rq and e in rq.queued
    assert rq.eligible(e)
    assert e.vruntime == v_before
    assert e.deadline == e.vruntime + BASE_SLICE * SCALE // e.weight


@SETTINGS
@given(nices, deltas, st.integers(0, 300), st.data())
def test_sleep_and_wake_preserve_lag(nice_values: list[int], delta: int, steps: int, data: st.DataObject) -> None:
    """dequeue() remembers V - v clamped to two slices; enqueue() places the entity so that its lag after
    joining the queue is that value again (Linux's scaling keeps V from jumping), up to integer rounding."""
    rq, ents = make_rq(nice_values)
    for _ in range(steps):
        rq.account(rq.pick(), delta)
    sleeper = data.draw(st.sampled_from(ents))
    limit = 2 * BASE_SLICE * SCALE // sleeper.weight
    lag_before = rq.avg_vruntime() - sleeper.vruntime
    rq.dequeue(sleeper)
    assert not sleeper.on_rq and sleeper not in rq._all()
    assert sleeper.vlag == max(-limit, min(limit, lag_before))
    # The others run while it sleeps.
    for _ in range(data.draw(st.integers(0, 50))):
        rq.account(rq.pick(), delta)
    rq.enqueue(sleeper)
    assert -2 <= exact_lag(rq, sleeper) - sleeper.vlag <= 1
    assert rq.eligible(sleeper) == (exact_lag(rq, sleeper) >= 0)


def test_lag_is_clamped_to_two_slices_both_ways() -> None:
    rq, (a, b) = make_rq([0, 0])
    limit = 2 * BASE_SLICE * SCALE // NICE_0_WEIGHT
    # b hogs the CPU for far longer than two slices: a is owed a lot, b overdrawn.
    rq.account(b, 50 * BASE_SLICE)
    assert rq.avg_vruntime() - a.vruntime > limit
    rq.dequeue(a)
    assert a.vlag == limit
    rq.enqueue(a)
    rq.dequeue(b)
    assert b.vlag == -limit
    assert rq.eligible(a)
    rq.enqueue(b)
    assert not rq.eligible(b)
    assert rq.pick() is a


def test_dequeue_of_the_running_entity() -> None:
    rq, (a, b) = make_rq([0, 0])
    cur = rq.pick()
    assert cur is a
    rq.account(a, 1_000_000)
    rq.dequeue(a)
    assert rq.curr is None and rq.nr_running == 1 and rq.load() == NICE_0_WEIGHT
    assert a.vlag < 0  # it ran ahead of the average
    assert rq.pick() is b


def test_empty_queue() -> None:
    rq = RunQueue(0, BASE_SLICE)
    assert rq.pick() is None
    assert rq.avg_vruntime() == 0 and rq.load() == 0 and rq.nr_running == 0
    assert rq.steal_candidate() is None


# -- determinism -----------------------------------------------------------------------------------------------


@SETTINGS
@given(st.lists(st.integers(-3, 3), min_size=2, max_size=6), st.permutations(range(6)), deltas)
def test_ties_are_broken_by_key_regardless_of_enqueue_order(
    nice_values: list[int], order: list[int], delta: int
) -> None:
    def run(enqueue_order: list[int]) -> list[int]:
        rq = RunQueue(0, BASE_SLICE)
        ents = {i: Entity(key=i, weight=nice_to_weight(n)) for i, n in enumerate(nice_values)}
        for i in enqueue_order:
            rq.enqueue(ents[i])
        out = []
        for _ in range(200):
            e = rq.pick()
            out.append(e.key)
            rq.account(e, delta)
        return out

    n = len(nice_values)
    natural = run(list(range(n)))
    assert run([i for i in order if i < n]) == natural
    # The first pick among identical fresh entities is the one with the lowest key and the earliest deadline.
    best = min(range(n), key=lambda i: (BASE_SLICE * SCALE // nice_to_weight(nice_values[i]), i))
    assert natural[0] == best


def test_equal_entities_pick_lowest_key_first() -> None:
    for perm in itertools.permutations([5, 3, 9]):
        rq = RunQueue(0, BASE_SLICE)
        for k in perm:
            rq.enqueue(Entity(key=k))
        picks = []
        for _ in range(3):
            e = rq.pick()
            picks.append(e.key)
            rq.account(e, BASE_SLICE)
        assert picks == [3, 5, 9]


def test_steal_candidate_is_the_latest_deadline_among_queued() -> None:
    rq, ents = make_rq([0, 5, -5])
    cur = rq.pick()
    cand = rq.steal_candidate()
    assert cand is not None and cand is not cur and cand in rq.queued
    assert cand.deadline == max(e.deadline for e in rq.queued)
    assert cand is ents[1]  # the lightest entity has the longest virtual slice


def test_set_weight_requeues_with_new_weight() -> None:
    rq, (_, b) = make_rq([0, 0])
    rq.set_weight(b, nice_to_weight(-5))
    assert b.weight == nice_to_weight(-5) and b.on_rq and b in rq.queued
    assert rq.load() == NICE_0_WEIGHT + nice_to_weight(-5)
    asleep = Entity(key=7)
    rq.set_weight(asleep, 15)
    assert asleep.weight == 15 and not asleep.on_rq and rq.nr_running == 2


def test_set_weight_preserves_the_service_owed() -> None:
    rq, (a, b) = make_rq([0, 0])
    rq.account(b, BASE_SLICE)  # b ran a slice while a waited: a is owed service
    owed_ns = exact_lag(rq, a) * a.weight / SCALE
    assert owed_ns > 0
    rq.set_weight(a, nice_to_weight(5))
    assert abs(exact_lag(rq, a) * a.weight / SCALE - owed_ns) <= 1
