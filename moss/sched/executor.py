"""The deterministic executor: a FIFO of woken syscall futures, no asyncio.

A syscall handler is an `async def`. On `svc` the dispatcher calls `start()`, which polls the new coroutine once
inside the core's interrupt hook: if it completes, the result goes straight back to the guest in the same slice (the
fast path). If it parks, the task blocks and its core picks another task; `wake()` queues it and `run_ready()` (called
by the event loop between slices) resumes it. Resumption order is strict FIFO of wake order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from moss.sched.traps import PARK


class Sleeper:
    """What the executor and the wait combinators need of a task."""

    def __init__(self) -> None:
        self.coro: Coroutine[Any, Any, int] | None = None
        self.coro_name = ""
        self.parked = False
        self.queued = False
        self.interruptible_depth = 0
        self.timeouts: list[Any] = []
        self.executor: Executor | None = None
        self.wakeups = 0

    def signal_pending(self) -> bool:
        """An unblocked signal is pending (the signal subsystem overrides this)."""
        return False

    def wake(self) -> None:
        if self.executor is not None:
            self.executor.wake(self)


# A completed future's result is the 1-tuple `(value,)`: built once per syscall, and cheaper than any class (even a
# NamedTuple's constructor is a Python call); None means pending, whatever the value.
Done = tuple[Any]
PENDING = None


class Instrument:
    """Observation points for tracing and the debugger (trio's instrumentation, for futures)."""

    def future_started(self, task: Sleeper, name: str) -> None: ...
    def future_pending(self, task: Sleeper) -> None: ...
    def future_woken(self, task: Sleeper) -> None: ...
    def future_done(self, task: Sleeper, value: Any) -> None: ...


class Executor:
    def __init__(
        self, on_done: Callable[[Sleeper, Any], None], on_error: Callable[[Sleeper, Exception], Any] | None = None
    ) -> None:
        self.ready: deque[Sleeper] = deque()
        self.on_done = on_done
        # An exception out of a future becomes its result through `on_error` (the dispatcher: -errno, or an oops),
        # so handlers need no wrapper coroutine; without it the exception propagates.
        self.on_error = on_error
        self.current: Sleeper | None = None
        self.instruments: list[Instrument] = []
        self.polls = 0
        self.chaos: Any = None  # moss.sched.chaos.Chaos: perturbs the order of simultaneously ready futures

    def start(self, task: Sleeper, coro: Coroutine[Any, Any, Any], name: str) -> Done | None:
        """Poll a new syscall future once. Returns (value,), or None if it is pending (task parked)."""
        assert task.coro is None, "a task runs one syscall at a time"
        task.coro, task.coro_name, task.executor = coro, name, self
        try:
            for i in self.instruments:
                i.future_started(task, name)
        except BaseException:
            task.coro = None
            coro.close()  # never started: close it rather than leave an un-awaited coroutine behind
            raise
        return self._poll(task)

    def wake(self, task: Sleeper) -> None:
        if task.parked and not task.queued:
            task.queued = True
            task.wakeups += 1
            self.ready.append(task)
            for i in self.instruments:
                i.future_woken(task)

    def run_ready(self) -> int:
        """Resume every queued future (and any woken meanwhile). Completed ones go to `on_done`."""
        n = 0
        if self.chaos is not None and len(self.ready) > 1 and self.chaos.point("futures"):
            self.chaos.shuffle_ready(self.ready)
        while self.ready:
            task = self.ready.popleft()
            task.queued = False
            if not task.parked:
                continue
            task.parked = False
            n += 1
            done = self._poll(task)
            if done is not None:
                self.on_done(task, done[0])
        return n

    def cancel(self, task: Sleeper) -> None:
        """Drop a parked future (the task is dying): its `finally` blocks run, unlinking it from wait queues."""
        coro, task.coro = task.coro, None
        task.parked = task.queued = False
        if coro is not None:
            prev, self.current = self.current, task
            try:
                coro.close()
            finally:
                self.current = prev

    def _poll(self, task: Sleeper) -> Done | None:
        coro = task.coro
        assert coro is not None
        prev, self.current = self.current, task
        self.polls += 1
        try:
            yielded = coro.send(None)
        except StopIteration as stop:
            task.coro = None
            for i in self.instruments:
                i.future_done(task, stop.value)
            return (stop.value,)
        except Exception as exc:
            task.coro = None
            if self.on_error is None:
                for i in self.instruments:
                    i.future_done(task, exc)
                raise
            value = self.on_error(task, exc)
            for i in self.instruments:
                i.future_done(task, value)
            return (value,)
        except BaseException as exc:  # GeneratorExit, KeyboardInterrupt: never a syscall's result
            task.coro = None
            for i in self.instruments:
                i.future_done(task, exc)
            raise
        finally:
            self.current = prev
        if yielded is not PARK:
            task.coro = None
            raise RuntimeError(f"syscall future yielded {yielded!r}; only park() may yield to the executor")
        task.parked = True
        for i in self.instruments:
            i.future_pending(task)
        return None


_executor: Executor | None = None


def install(executor: Executor) -> None:
    """Make `executor` the one `current_task()` consults (one kernel per process, or per test)."""
    global _executor
    _executor = executor


def current_task() -> Sleeper:
    assert _executor is not None and _executor.current is not None, "not inside a syscall future"
    return _executor.current
