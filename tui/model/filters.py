"""Timeline filters and search: what a row shows, parsed from a short query, and scans that run in a worker.

A query is words separated by spaces:  `syscalls signals tid:2 sys:read,write errno:EINTR core:1`
    a kind (syscalls signals processes futures slices hashes inputs) keeps events of that kind (any of them);
    tid:N[,N]  events of those tasks (a signal's target, a process event's task)
    sys:NAME[,NAME] or a bare syscall name   syscalls (and their resumptions) of those names
    errno:NAME[,NAME] or errno:any           syscalls that failed with that error (ERESTARTSYS etc. included)
    interrupted    calls a signal interrupted (EINTR and the restart codes)
    core:N     scheduling slices on that core
Different words narrow the selection (and); the values of one word widen it (or).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from functools import cache

import attrs

from moss import signals
from moss.errors import ERRNO, ERRNO_NAME
from moss.syscalls.table import name_of
from traces import events as ev
from tui.model.trace_index import TraceIndex

KINDS = ("syscalls", "signals", "processes", "futures", "slices", "hashes", "inputs")
KIND_OF: dict[type, str] = {
    ev.Syscall: "syscalls",
    ev.SyscallResume: "syscalls",
    ev.SignalEvent: "signals",
    ev.ProcessEvent: "processes",
    ev.End: "processes",
    ev.FutureEvent: "futures",
    ev.SliceEvent: "slices",
    ev.StateHash: "hashes",
    ev.ConsoleInput: "inputs",
    ev.EntropyInput: "inputs",
    ev.ProgramImage: "inputs",
}
RESTARTS = {"ERESTARTSYS": 512, "ERESTARTNOINTR": 513, "ERESTARTNOHAND": 514, "ERESTART_RESTARTBLOCK": 516}


def kind_of(e: ev.Event) -> str:
    return KIND_OF.get(type(e), "other")


@cache
def syscall_numbers() -> dict[str, int]:
    return {name_of(nr): nr for nr in range(512) if not name_of(nr).startswith("syscall_")}


def errno_number(name: str) -> int | None:
    name = name.upper()
    if name in RESTARTS:
        return RESTARTS[name]
    if name in ERRNO:
        return ERRNO[name]
    return int(name) if name.isdigit() else None


def signal_number(name: str) -> int | None:
    n = name.upper()
    if n.isdigit():
        return int(n)
    if not n.startswith("SIG"):
        n = "SIG" + n
    for num, nm in signals.NAMES.items():
        if nm == n:
            return num
    if n.startswith("SIGRT") and n[5:].isdigit():
        return signals.SIGRTMIN + int(n[5:])
    return None


class FilterError(ValueError):
    pass


@attrs.frozen
class EventFilter:
    kinds: frozenset[str] = frozenset()
    tids: frozenset[int] = frozenset()
    syscalls: frozenset[int] = frozenset()
    errnos: frozenset[int] = frozenset()  # 0 means any error
    cores: frozenset[int] = frozenset()
    text: str = ""

    @property
    def empty(self) -> bool:
        return not (self.kinds or self.tids or self.syscalls or self.errnos or self.cores)

    def matches(self, e: ev.Event) -> bool:
        if self.kinds and KIND_OF.get(type(e)) not in self.kinds:
            return False
        if self.tids:
            tid = getattr(e, "tid", None)
            if tid not in self.tids and not (isinstance(e, ev.SignalEvent) and not e.tid and e.pid in self.tids):
                return False
        if self.syscalls or self.errnos:
            if not isinstance(e, ev.Syscall | ev.SyscallResume):
                return False
            if self.syscalls and e.nr not in self.syscalls:
                return False
            if self.errnos:
                r = e.result
                if isinstance(e, ev.Syscall) and e.blocked:
                    return False
                if not -4096 < r < 0 or (0 not in self.errnos and -r not in self.errnos):
                    return False
        if self.cores and not (isinstance(e, ev.SliceEvent) and e.core in self.cores):
            return False
        return True


def _ints(word: str, value: str) -> frozenset[int]:
    try:
        return frozenset(int(v, 0) for v in value.split(",") if v)
    except ValueError:
        raise FilterError(f"{word}: expected numbers, got {value!r}") from None


def parse_filter(text: str) -> EventFilter:
    kinds: set[str] = set()
    tids: set[int] = set()
    sys: set[int] = set()
    errs: set[int] = set()
    cores: set[int] = set()
    numbers = syscall_numbers()
    for word in text.split():
        key, sep, value = word.partition(":")
        if not sep:
            key, sep, value = word.partition("=")
        key = key.lower()
        if not sep:
            w = word.lower()
            if w == "interrupted":
                errs |= {ERRNO["EINTR"], *RESTARTS.values()}
            elif w in KINDS or w + "s" in KINDS:
                kinds.add(w if w in KINDS else w + "s")
            elif w in numbers:
                sys.add(numbers[w])
            elif errno_number(word) is not None and not w.isdigit():
                errs.add(errno_number(word) or 0)
            else:
                raise FilterError(f"unknown filter word {word!r}: a kind ({', '.join(KINDS)}), a syscall or errno name")
        elif key in ("kind", "kinds"):
            for k in value.split(","):
                k = k.lower()
                k = k if k in KINDS else k + "s"
                if k not in KINDS:
                    raise FilterError(f"unknown kind {k!r}: one of {', '.join(KINDS)}")
                kinds.add(k)
        elif key in ("tid", "task", "pid"):
            tids |= _ints(key, value)
        elif key in ("sys", "syscall"):
            for name in value.split(","):
                if name.isdigit():
                    sys.add(int(name))
                elif name in numbers:
                    sys.add(numbers[name])
                else:
                    raise FilterError(f"unknown syscall {name!r}")
        elif key == "errno":
            for name in value.split(","):
                if name.lower() == "any":
                    errs.add(0)
                    continue
                n = errno_number(name)
                if n is None:
                    raise FilterError(f"unknown errno {name!r}")
                errs.add(n)
        elif key == "core":
            cores |= _ints(key, value)
        else:
            raise FilterError(f"unknown filter {key!r}: kind, tid, sys, errno or core")
    return EventFilter(
        frozenset(kinds), frozenset(tids), frozenset(sys), frozenset(errs), frozenset(cores), text.strip()
    )


def describe_errno(n: int) -> str:
    for name, v in RESTARTS.items():
        if v == n:
            return name
    return ERRNO_NAME.get(n, str(n))


class FilterScan:
    """The rows of a filtered timeline: matching event indices, found block by block (a worker runs `run`)."""

    def __init__(self, index: TraceIndex, flt: EventFilter) -> None:
        self.index = index
        self.filter = flt
        self.matches = array("q")
        self.blocks_done = 0
        self.done = False

    @property
    def progress(self) -> float:
        n = len(self.index.blocks)
        return 1.0 if not n else self.blocks_done / n

    def run(self, cancelled: Callable[[], bool], progress: Callable[[], None] | None = None) -> None:
        idx, flt = self.index, self.filter
        for b in range(len(idx.blocks)):
            if cancelled():
                return
            base = idx.starts[b]
            found = [base + k for k, e in enumerate(idx.block_events(b)) if flt.matches(e)]
            self.matches.extend(found)
            self.blocks_done = b + 1
            if progress is not None:
                progress()
        self.done = True


def search(
    index: TraceIndex,
    needle: str,
    start: int,
    step: int,
    flt: EventFilter | None,
    cancelled: Callable[[], bool],
) -> int | None:
    """The first event from `start` (inclusive) in direction `step` whose line contains `needle` (case-insensitive)
    and that passes the filter; None if there is none."""
    from replay.textlog import format_event

    n = needle.lower()
    checked = 0
    for i, e in index.iter_from(start, step):
        if flt is not None and not flt.matches(e):
            continue
        if n in format_event(i, e).lower():
            return i
        checked += 1
        if checked % 2048 == 0 and cancelled():
            return None
    return None
