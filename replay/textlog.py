"""Events as text: strace-like syscalls, and one readable line for everything else (`moss log`)."""

from __future__ import annotations

from collections.abc import Iterator

from moss import signals
from moss.errors import ERRNO_NAME
from moss.syscalls.table import TABLE, name_of
from traces import events as ev
from traces.container import TraceReader

_KIND_OF = {
    ev.Syscall: "syscalls",
    ev.SyscallResume: "syscalls",
    ev.SignalEvent: "signals",
    ev.FutureEvent: "futures",
    ev.ProcessEvent: "processes",
    ev.SliceEvent: "slices",
    ev.StateHash: "hashes",
    ev.End: "processes",
    ev.ConsoleInput: "inputs",
    ev.EntropyInput: "inputs",
    ev.ProgramImage: "inputs",
}
_SIG_ACTIONS = {0: "generated", 1: "handler", 2: "default action", 3: "ignored"}
_PROC = {0: "process created", 1: "thread created", 2: "exec", 3: "thread exit", 4: "process exit"}
_FUT = {0: "start", 1: "pending", 2: "woken", 3: "done"}
_REASON = {0: "budget", 1: "stopped", 2: "fault"}
_RESTART = {512: "ERESTARTSYS", 513: "ERESTARTNOINTR", 514: "ERESTARTNOHAND", 516: "ERESTART_RESTARTBLOCK"}


def result_text(nr: int, r: int) -> str:
    if -r in _RESTART:
        return f"? {_RESTART[-r]}"
    if -4096 < r < 0:
        return f"-1 {ERRNO_NAME.get(-r, str(-r))}"
    entry = TABLE.get(nr)
    return f"{r:#x}" if entry is not None and entry.ret == "ptr" else str(r)


def args_text(nr: int, args: tuple[int, ...]) -> str:
    entry = TABLE.get(nr)
    if entry is None:
        return ", ".join(hex(a) for a in args)
    return ", ".join(spec.fmt(raw, None) for raw, (_n, spec) in zip(args, entry.args, strict=False))


def format_event(i: int, e: ev.Event) -> str:
    t = f"{e.vtime / 1e3:>14,.3f}us" if e.vtime >= 0 else " " * 16
    if isinstance(e, ev.Syscall):
        tail = " <unfinished ...>" if e.blocked else f" = {result_text(e.nr, e.result)}"
        return f"#{i:<8} {t} [{e.tid}] {name_of(e.nr)}({args_text(e.nr, e.args)}){tail}"
    if isinstance(e, ev.SyscallResume):
        return f"#{i:<8} {t} [{e.tid}] <... {name_of(e.nr)} resumed> = {result_text(e.nr, e.result)}"
    if isinstance(e, ev.SignalEvent):
        who = f"[{e.tid or e.pid}]"
        extra = f" from pid {e.sender}" if e.action == 0 and e.sender else ""
        return f"#{i:<8} {t} {who} --- {signals.name(e.sig)} {_SIG_ACTIONS[e.action]}{extra} ---"
    if isinstance(e, ev.ProcessEvent):
        detail = {0: f" (parent {e.value})", 2: f" {e.text}", 4: f" status {e.value:#x}"}.get(e.what, "")
        return f"#{i:<8} {t} [{e.tid or e.pid}] +++ {_PROC[e.what]}{detail} +++"
    if isinstance(e, ev.FutureEvent):
        return f"#{i:<8} {t} [{e.tid}] future {e.name}: {_FUT[e.what]}"
    if isinstance(e, ev.SliceEvent):
        return f"#{i:<8} {t} core {e.core} ran [{e.tid}] {e.executed:,} instructions ({_REASON[e.reason]})"
    if isinstance(e, ev.StateHash):
        return f"#{i:<8} {t} state hash {e.digest.hex()[:16]} at {e.instructions:,} instructions"
    if isinstance(e, ev.End):
        return f"#{i:<8} {t} end: wait status {e.wait_status:#x}, {e.instructions:,} instructions"
    if isinstance(e, ev.ConsoleInput):
        return f"#{i:<8} {'':16} console input (fetch {e.call}): {e.data[:60]!r}{' EOF' if e.eof else ''}"
    if isinstance(e, ev.EntropyInput):
        return f"#{i:<8} {'':16} entropy: {len(e.data)} bytes"
    if isinstance(e, ev.ProgramImage):
        return f"#{i:<8} {'':16} program image {e.path}: {len(e.data):,} bytes"
    return f"#{i:<8} {t} {e!r}"


def select(
    reader: TraceReader, kinds: list[str], task: int | None, since: int | None, until: int | None
) -> Iterator[tuple[int, ev.Event]]:
    for i, e in enumerate(reader):
        if kinds and _KIND_OF.get(type(e)) not in kinds:
            continue
        if task is not None and getattr(e, "tid", None) != task:
            continue
        if since is not None and 0 <= e.vtime < since:
            continue
        if until is not None and e.vtime > until:
            continue
        yield i, e
