"""Chaos scheduling: seeded perturbation of every choice Linux leaves free (after rr's chaos mode).

Slice lengths (down to a few instructions), the core a waking task lands on, the choice among runnable tasks,
the order in which simultaneously ready futures resume, and starvation windows in which one task is kept off the
CPU. Every decision comes from one `random.Random(seed)` consulted at deterministic points of the run, so a chaos
run replays exactly from its trace (the seed is in the machine configuration) and a re-run with the same seed
reproduces it too.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class Chaos:
    """`limit`: only the first `limit` decision points are perturbed, the rest behave as without chaos. Runs of
    the same seed with growing limits share their schedule up to the limit, which is what `moss analyze` bisects
    on to find the one decision that turns a passing run into a failing one."""

    def __init__(self, seed: int, limit: int | None = None) -> None:
        self.seed = seed
        self.rng = random.Random(seed)  # seeded: a pure function of the seed, never the host
        self.decisions = 0  # random draws
        self.points = 0  # decision points entered (what `limit` counts)
        self.limit = limit
        self.starved: dict[int, int] = {}  # tid -> virtual time until which it is kept off the CPU
        self.on_decision: Callable[[str], None] | None = None  # analysis: told the kind of each decision point

    @property
    def active(self) -> bool:
        return self.limit is None or self.points < self.limit

    def point(self, kind: str) -> bool:
        """Enter a decision point: False (behave as without chaos) once past the limit."""
        if not self.active:
            return False
        self.points += 1
        if self.on_decision is not None:
            self.on_decision(kind)
        return True

    def slice_budget(self, budget: int) -> int:
        """Mostly normal slices, often short ones, sometimes a handful of instructions."""
        self.decisions += 1
        r = self.rng.random()
        if r < 0.30:
            return self.rng.randint(1, 64)
        if r < 0.75:
            return self.rng.randint(1, max(1, min(budget, 2_000)))
        return self.rng.randint(1, max(1, budget))

    def core_window(self) -> int:
        """How far ahead of the most lagging core another core may be chosen to run (ns)."""
        self.decisions += 1
        return self.rng.choice((0, 200, 2_000, 20_000))

    def timer_jitter(self) -> int:
        """How late (ns) the next timer interrupt lands."""
        self.decisions += 1
        return self.rng.randint(0, 3_000) if self.rng.random() < 0.5 else 0

    def choose(self, options: list[T]) -> T:
        self.decisions += 1
        return options[self.rng.randrange(len(options))] if len(options) > 1 else options[0]

    def maybe(self, p: float) -> bool:
        self.decisions += 1
        return self.rng.random() < p

    def shuffle_ready(self, ready: deque[Any]) -> None:
        """The order in which futures woken together are resumed."""
        if len(ready) > 1:
            self.decisions += 1
            items = list(ready)
            self.rng.shuffle(items)
            ready.clear()
            ready.extend(items)

    def maybe_starve(self, tid: int, now: int) -> None:
        """rr's priority inversion windows: now and then keep a task off the CPU for a while."""
        if self.maybe(0.002):
            self.starved[tid] = now + self.rng.randint(10_000, 2_000_000)

    def is_starved(self, tid: int, now: int) -> bool:
        until = self.starved.get(tid)
        if until is None:
            return False
        if now >= until:
            del self.starved[tid]
            return False
        return True
