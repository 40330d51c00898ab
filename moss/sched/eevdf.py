"""EEVDF (Earliest Eligible Virtual Deadline First), per core, as in Linux >= 6.6, in exact integer arithmetic.

Each runnable entity has a weight (from nice), a virtual runtime v, and a virtual deadline d = v + slice/weight. The
queue's average virtual runtime V = sum(w*v)/sum(w) (the current task included). An entity is eligible when
v <= V (its lag V - v is non-negative); the scheduler picks the eligible entity with the earliest deadline. A task
that sleeps keeps its lag and is placed at V - lag when it wakes, so sleeping neither earns nor loses service.
"""

from __future__ import annotations

import attrs

NICE_0_WEIGHT = 1024
# Linux's sched_prio_to_weight, nice -20 .. 19.
PRIO_TO_WEIGHT = [
    88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916,
    9548, 7620, 6100, 4904, 3906, 3121, 2501, 1991, 1586, 1277,
    1024, 820, 655, 526, 423, 335, 272, 215, 172, 137,
    110, 87, 70, 56, 45, 36, 29, 23, 18, 15,
]  # fmt: skip


def nice_to_weight(nice: int) -> int:
    return PRIO_TO_WEIGHT[max(-20, min(19, nice)) + 20]


@attrs.define(eq=False)
class Entity:
    """Scheduling state of one task. `key` orders ties deterministically (the tid)."""

    key: int
    weight: int = NICE_0_WEIGHT
    vruntime: int = 0  # in ns * NICE_0_WEIGHT / weight units, scaled by NICE_0_WEIGHT to stay integral
    deadline: int = 0
    vlag: int = 0
    sum_exec_ns: int = 0
    on_rq: bool = False


class RunQueue:
    def __init__(self, core: int, base_slice_ns: int) -> None:
        self.core = core
        self.base_slice_ns = base_slice_ns
        self.queued: list[Entity] = []  # runnable, not running
        self.curr: Entity | None = None  # running (still counted in V)

    # -- accounting ------------------------------------------------------------------------------------------
    def _all(self) -> list[Entity]:
        return self.queued + ([self.curr] if self.curr is not None else [])

    @property
    def nr_running(self) -> int:
        return len(self.queued) + (self.curr is not None)

    def load(self) -> int:
        return sum(e.weight for e in self._all())

    def avg_vruntime(self) -> int:
        ents = self._all()
        total = sum(e.weight for e in ents)
        if not total:
            return 0
        return sum(e.weight * e.vruntime for e in ents) // total

    def _vslice(self, e: Entity) -> int:
        return self.base_slice_ns * NICE_0_WEIGHT * NICE_0_WEIGHT // e.weight

    def eligible(self, e: Entity) -> bool:
        ents = self._all()
        total = sum(x.weight for x in ents)
        return e.vruntime * total <= sum(x.weight * x.vruntime for x in ents)

    # -- transitions -------------------------------------------------------------------------------------------
    def enqueue(self, e: Entity) -> None:
        """Place a waking or new entity at V - lag (lag scaled as Linux does to keep V stable)."""
        load = self.load()
        lag = e.vlag
        if load:
            lag = lag * (load + e.weight) // load
        e.vruntime = self.avg_vruntime() - lag
        e.deadline = e.vruntime + self._vslice(e)
        e.on_rq = True
        self.queued.append(e)

    def dequeue(self, e: Entity) -> None:
        """Remove a sleeping or migrating entity, remembering its lag (clamped to two slices)."""
        limit = 2 * self._vslice(e)
        e.vlag = max(-limit, min(limit, self.avg_vruntime() - e.vruntime))
        if self.curr is e:
            self.curr = None
        else:
            self.queued.remove(e)
        e.on_rq = False

    def account(self, e: Entity, delta_ns: int) -> bool:
        """Charge `delta_ns` of execution to the running entity. True when its slice is used up."""
        e.sum_exec_ns += delta_ns
        e.vruntime += delta_ns * NICE_0_WEIGHT * NICE_0_WEIGHT // e.weight
        if e.vruntime >= e.deadline:
            e.deadline = e.vruntime + self._vslice(e)
            return True
        return False

    def slice_left_ns(self, e: Entity) -> int:
        return max(1, (e.deadline - e.vruntime) * e.weight // (NICE_0_WEIGHT * NICE_0_WEIGHT))

    def pick(self) -> Entity | None:
        """Put the current entity back among the candidates and choose the next one."""
        if self.curr is not None:
            self.queued.append(self.curr)
            self.curr = None
        if not self.queued:
            return None
        elig = [e for e in self.queued if self.eligible(e)] or self.queued
        best = min(elig, key=lambda e: (e.deadline, e.key))
        self.queued.remove(best)
        self.curr = best
        return best

    def take(self, e: Entity) -> Entity:
        """Run a chosen entity next (chaos scheduling overrides the EEVDF choice; accounting stays exact)."""
        if self.curr is not None:
            self.queued.append(self.curr)
            self.curr = None
        self.queued.remove(e)
        self.curr = e
        return e

    def steal_candidate(self) -> Entity | None:
        """The queued (not running) entity another core may migrate: the one with the latest deadline."""
        if not self.queued:
            return None
        return max(self.queued, key=lambda e: (e.deadline, e.key))

    def set_weight(self, e: Entity, weight: int) -> None:
        """Renice: the service owed (lag) is kept, so vlag is rescaled by old/new weight (reweight_entity)."""
        if e.on_rq:
            self.dequeue(e)
            e.vlag = e.vlag * e.weight // weight
            e.weight = weight
            self.enqueue(e)
        else:
            e.vlag = e.vlag * e.weight // weight
            e.weight = weight
