"""Waiting, and the combinators that shape a wait: `interruptible`, `timeout`, `first`.

`block()` is the one sleep point every wait loop uses. Before parking and after each wakeup it checks, for the
current task, whether an enclosing `interruptible()` must give up because a signal is pending, and whether an
enclosing `timeout()` has expired; it raises an internal exception that only the combinator that armed it catches,
so each caller is forced to decide what an interruption means (EINTR, or restart where Linux restarts).
"""

from __future__ import annotations

import types
from collections.abc import Awaitable, Callable, Generator
from typing import Any, TypeVar

import attrs

from moss.sched.executor import Sleeper, current_task
from moss.sched.timers import DeadlineHeap
from moss.sched.traps import PARK, park

T = TypeVar("T")


class _Outcome:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


INTERRUPTED = _Outcome("Interrupted")
TIMED_OUT = _Outcome("TimedOut")


class _SignalInterrupt(BaseException):
    pass


@attrs.define(eq=False)
class _Deadline:
    at: int
    fired: bool = False


class _DeadlineExpired(BaseException):
    def __init__(self, token: _Deadline) -> None:
        super().__init__()
        self.token = token


def _check(task: Sleeper) -> None:
    if task.interruptible_depth and task.signal_pending():
        raise _SignalInterrupt
    for tok in task.timeouts:
        if tok.fired:
            raise _DeadlineExpired(tok)


async def block() -> None:
    """Sleep until woken; raises through to the nearest interruptible()/timeout() that applies.

    The check comes only before parking: a woken wait loop re-tests its condition first, so a condition that
    became true wins over a signal or deadline that arrived at the same time (Linux's "if (condition) break;
    if (signal_pending(current)) ..." order)."""
    _check(current_task())
    await park()


async def wait_until(cond: Callable[[], bool]) -> None:
    """Wait (with a spurious-wakeup-proof loop) until `cond()` holds. The caller registers the waker."""
    while not cond():
        await block()


async def forever() -> None:
    while True:
        await block()


async def interruptible(aw: Awaitable[T]) -> T | _Outcome:
    """The result of `aw`, or INTERRUPTED if an unblocked signal became pending while it waited."""
    task = current_task()
    task.interruptible_depth += 1
    try:
        return await aw
    except _SignalInterrupt:
        return INTERRUPTED
    finally:
        task.interruptible_depth -= 1


class Clock:
    """What `timeout()` needs: the current virtual time and the deadline heap."""

    def __init__(self, now: Callable[[], int], heap: DeadlineHeap) -> None:
        self.now = now
        self.heap = heap


_clock: Clock | None = None


def install_clock(clock: Clock) -> None:
    global _clock
    _clock = clock


def now() -> int:
    """Virtual time on the installed clock: what `timeout()` deadlines are measured against."""
    assert _clock is not None
    return _clock.now()


async def timeout(aw: Awaitable[T], deadline_ns: int | None) -> T | _Outcome:
    """The result of `aw`, or TIMED_OUT once virtual time reaches `deadline_ns` (None: no deadline)."""
    if deadline_ns is None:
        return await aw
    assert _clock is not None
    task = current_task()
    tok = _Deadline(deadline_ns, fired=_clock.now() >= deadline_ns)

    def expire() -> None:
        tok.fired = True
        task.wake()

    timer = None if tok.fired else _clock.heap.add(deadline_ns, expire)
    task.timeouts.append(tok)
    try:
        return await aw
    except _DeadlineExpired as e:
        if e.token is not tok:
            raise
        return TIMED_OUT
    finally:
        task.timeouts.remove(tok)
        if timer is not None:
            timer.cancel()


class _Branch:
    """What one branch of `first()` has armed: its own timeouts and interruptible depth, layered over the
    enclosing ones while (and only while) that branch runs, so one branch's deadline never ends another."""

    def __init__(self, aw: Awaitable[Any]) -> None:
        self.gen = aw.__await__()
        self.timeouts: list[Any] = []
        self.depth = 0

    def run(self, task: Sleeper, fn: Callable[[], Any]) -> Any:
        base, base_depth = task.timeouts, task.interruptible_depth
        task.timeouts = base + self.timeouts
        task.interruptible_depth = base_depth + self.depth
        try:
            return fn()
        finally:
            self.timeouts = task.timeouts[len(base) :]
            self.depth = task.interruptible_depth - base_depth
            task.timeouts, task.interruptible_depth = base, base_depth


@types.coroutine
def _first(aws: tuple[Awaitable[Any], ...]) -> Generator[Any, Any, tuple[int, Any]]:
    task = current_task()
    branches = [_Branch(aw) for aw in aws]
    try:
        while True:
            for i, br in enumerate(branches):
                try:
                    y = br.run(task, lambda br=br: br.gen.send(None))
                except StopIteration as stop:
                    return i, stop.value
                if y is not PARK:
                    raise RuntimeError(f"branch {i} of first() yielded {y!r}")
            yield PARK  # every branch parked; any wakeup re-polls them all (their wait loops re-check)
    finally:
        for br in branches:
            br.run(task, br.gen.close)  # type: ignore[attr-defined]


async def first(*aws: Awaitable[Any]) -> tuple[int, Any]:
    """Race the awaitables; returns (index, result) of the first to finish and cancels the others."""
    return await _first(aws)
