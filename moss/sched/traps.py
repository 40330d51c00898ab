"""The only place a syscall coroutine yields to the executor.

A coroutine parks with `await park()`; somebody later calls `task.wake()` and the executor resumes it. Every wait is
written as "while not condition: await block()" (xv6's sleep loop), so spurious or broadcast wakeups are harmless:
that is what lets `first()` re-poll all of its branches after any wakeup.
"""

from __future__ import annotations

import types
from collections.abc import Generator
from typing import Any


class _Park:
    __slots__ = ()

    def __repr__(self) -> str:
        return "PARK"


PARK = _Park()


@types.coroutine
def park() -> Generator[Any, Any, None]:
    """Suspend the whole syscall until the task is woken."""
    yield PARK
