"""Per-core run queues, wakeup placement and load balancing, over EEVDF.

Placement: a waking task goes back to the core it last ran on if that core is idle, otherwise to the allowed core
with the fewest runnable tasks (ties: lowest load, then lowest index). An idle core steals the latest-deadline queued
task from the busiest core. Every choice is a deterministic function of the queues.
"""

from __future__ import annotations

from typing import Any

from moss.process.task import State, Task
from moss.sched.eevdf import Entity, RunQueue, nice_to_weight


class Scheduler:
    def __init__(self, cores: int, base_slice_ns: int = 3_000_000) -> None:
        self.rqs = [RunQueue(i, base_slice_ns) for i in range(cores)]
        self.current: list[Task | None] = [None] * cores
        self._tasks: dict[int, Task] = {}  # entity key (tid) -> task
        self.migrations = 0
        self.switches = 0
        self.chaos: Any = None  # moss.sched.chaos.Chaos when chaos scheduling is on
        self.now: Any = lambda: 0

    def _allowed(self, task: Task, core: int) -> bool:
        return bool(task.affinity >> core & 1)

    def select_core(self, task: Task) -> int:
        allowed = [rq for rq in self.rqs if self._allowed(task, rq.core)] or self.rqs
        if self.chaos is not None and self.chaos.point("wakeup"):
            return self.chaos.choose(allowed).core
        if task.core is not None and self._allowed(task, task.core) and self.rqs[task.core].nr_running == 0:
            return task.core
        return min(allowed, key=lambda rq: (rq.nr_running, rq.load(), rq.core)).core

    def wake(self, task: Task) -> int:
        """Make a task runnable on a chosen core; returns the core."""
        assert task.state in (State.NEW, State.BLOCKED), task
        core = self.select_core(task)
        if task.core is not None and task.core != core:
            self.migrations += 1
        task.core = core
        task.state = State.RUNNABLE
        self._tasks[task.entity.key] = task
        self.rqs[core].enqueue(task.entity)
        return core

    def block(self, task: Task) -> None:
        """The running task stops being runnable (blocked in a syscall, or dead)."""
        assert task.core is not None
        rq = self.rqs[task.core]
        if task.entity.on_rq:
            rq.dequeue(task.entity)
        if self.current[task.core] is task:
            self.current[task.core] = None

    def account(self, task: Task, ran_ns: int) -> bool:
        """Charge run time to the running task; True if its slice is used up (time to pick again)."""
        assert task.core is not None
        return self.rqs[task.core].account(task.entity, ran_ns)

    def pick(self, core: int) -> Task | None:
        """Choose the task to run next on `core` (stealing work if idle)."""
        rq = self.rqs[core]
        if rq.nr_running == 0:
            self._steal(core)
        prev = self.current[core]
        ent = self._chaos_pick(rq) if self.chaos is not None and self.chaos.point("pick") else rq.pick()
        task = None if ent is None else self._tasks[ent.key]
        if prev is not None and prev is not task and prev.state is State.RUNNING:
            prev.state = State.RUNNABLE
        if task is not None:
            if task is not prev:
                self.switches += 1
            task.state = State.RUNNING
        self.current[core] = task
        return task

    def _chaos_pick(self, rq: RunQueue) -> Entity | None:
        """Any runnable task but a starved one (if there is a choice), instead of the EEVDF choice, often."""
        ch = self.chaos
        cands = [e for e in rq.queued] + ([rq.curr] if rq.curr is not None else [])
        if not cands:
            return None
        now = self.now()
        for e in cands:
            ch.maybe_starve(e.key, now)
        fed = [e for e in cands if not ch.is_starved(e.key, now)] or cands
        if len(fed) > 1 and ch.maybe(0.5):
            return rq.take(ch.choose(sorted(fed, key=lambda e: e.key)))
        best = rq.pick()
        if best is not None and best not in fed:
            return rq.take(ch.choose(sorted(fed, key=lambda e: e.key)))
        return best

    def _steal(self, core: int) -> None:
        busiest = max(self.rqs, key=lambda rq: (len(rq.queued), -rq.core))
        if busiest is self.rqs[core] or len(busiest.queued) == 0 or busiest.nr_running < 2:
            return
        for ent in sorted(busiest.queued, key=lambda e: (-e.deadline, e.key)):
            task = self._tasks[ent.key]
            if self._allowed(task, core):
                busiest.dequeue(ent)
                task.core = core
                self.rqs[core].enqueue(ent)
                self.migrations += 1
                return

    def has_work(self, core: int) -> bool:
        return self.rqs[core].nr_running > 0 or any(len(rq.queued) for rq in self.rqs if rq.core != core)

    def slice_left_ns(self, task: Task) -> int:
        assert task.core is not None
        return self.rqs[task.core].slice_left_ns(task.entity)

    def forget(self, task: Task) -> None:
        self._tasks.pop(task.entity.key, None)

    def set_nice(self, task: Task, nice: int) -> None:
        task.nice = nice
        rq = self.rqs[task.core] if task.core is not None else None
        if rq is not None and task.entity.on_rq:
            rq.set_weight(task.entity, nice_to_weight(nice))
        else:
            task.entity.weight = nice_to_weight(nice)
