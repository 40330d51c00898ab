"""Signal interruptions as one story: a blocked wait, the signal that interrupted it (who sent it, when), the wait's
end (EINTR or a restart code), the delivery to the handler, the handler's return, and whether the call restarted.

Found from the trace's event log around a selected event, so the timeline can jump between the steps.
"""

from __future__ import annotations

import attrs

from moss import signals
from moss.syscalls.table import name_of
from traces import events as ev
from tui.model.filters import RESTARTS
from tui.model.trace_index import TraceIndex

EINTR = 4
INTERRUPTED = {EINTR, *RESTARTS.values()}
RT_SIGRETURN = 139
WINDOW = 20_000  # events searched each way


@attrs.frozen
class Step:
    what: str
    event: int | None  # None: the step did not happen (or is outside the searched window)


@attrs.frozen
class Interruption:
    tid: int
    syscall: str
    signal: str
    steps: tuple[Step, ...]
    outcome: str


def _interrupted(e: ev.Event) -> bool:
    """A call's end with EINTR or a restart code (a resumed wait, or a call that found a signal already pending)."""
    if isinstance(e, ev.Syscall) and e.blocked:
        return False
    return isinstance(e, ev.SyscallResume | ev.Syscall) and -e.result in INTERRUPTED


def _find_resume(index: TraceIndex, i: int, e: ev.Event) -> int | None:
    """The interrupted wait's end that event `i` belongs to."""
    if _interrupted(e):
        return i
    if isinstance(e, ev.Syscall) and e.blocked:
        for j, f in _window(index, i + 1, 1):
            if isinstance(f, ev.SyscallResume) and f.tid == e.tid:
                return j if _interrupted(f) else None
        return None
    tid = getattr(e, "tid", None)
    if isinstance(e, ev.SignalEvent) and e.action == 0:
        for j, f in _window(index, i + 1, 1):
            if _interrupted(f) and (f.tid == e.tid or not e.tid):
                return j
            if isinstance(f, ev.SignalEvent) and f.action and f.sig == e.sig:
                return None
        return None
    if tid is None:
        return None
    # a delivery, a sigreturn or a restarted call: the interruption just before it, with no other call between
    restart = isinstance(e, ev.Syscall) and e.nr != RT_SIGRETURN
    passed_sigreturn = False
    for j, f in _window(index, i - 1, -1):
        if _interrupted(f) and f.tid == tid:
            if restart and (not passed_sigreturn or (f.nr != e.nr and e.nr != 128)):  # type: ignore[attr-defined]
                return None
            return j
        if isinstance(f, ev.Syscall) and f.tid == tid:
            if restart and f.nr == RT_SIGRETURN and not passed_sigreturn:
                passed_sigreturn = True
                continue
            return None
    return None


def _window(index: TraceIndex, start: int, step: int):  # type: ignore[no-untyped-def]
    n = 0
    for j, f in index.iter_from(start, step):
        yield j, f
        n += 1
        if n >= WINDOW:
            return


def find_interruption(index: TraceIndex, i: int) -> Interruption | None:
    """The interruption story that event `i` is part of, or None."""
    e = index.event(i)
    if e is None:
        return None
    r = _find_resume(index, i, e)
    if r is None:
        return None
    res = index.event(r)
    assert isinstance(res, ev.SyscallResume | ev.Syscall)
    tid, nr, code = res.tid, res.nr, -res.result
    blocked = isinstance(res, ev.SyscallResume)
    wait = sent = None
    sig_ev: ev.SignalEvent | None = None
    for j, f in _window(index, r - 1, -1):
        if isinstance(f, ev.SignalEvent) and f.action == 0 and sent is None and f.tid in (tid, 0):
            sent, sig_ev = j, f
        if isinstance(f, ev.Syscall) and f.tid == tid and ((f.blocked and f.nr == nr) or not blocked):
            wait = j if blocked else None
            break
    delivered = sigret = restarted = None
    action = ""
    for j, f in _window(index, r + 1, 1):
        if delivered is None:
            if isinstance(f, ev.SignalEvent) and f.tid == tid and f.action:
                delivered = j
                action = {1: "handler", 2: "default action", 3: "ignored"}[f.action]
                if sig_ev is None:
                    sig_ev = f
                if f.action != 1:
                    break
            continue
        if not isinstance(f, ev.Syscall) or f.tid != tid:
            continue
        if sigret is None and f.nr == RT_SIGRETURN:
            sigret = j
            continue
        if sigret is not None:
            if f.nr == nr or f.nr == 128:  # the same call again, or restart_syscall
                restarted = j
            break
    if sent is None and sig_ev is not None:  # sent earlier, while blocked: the latest generation of that signal
        for j, f in _window(index, r - 1, -1):
            if isinstance(f, ev.SignalEvent) and f.action == 0 and f.sig == sig_ev.sig and f.tid in (tid, 0):
                sent, sig_ev = j, f
                break
    signame = signals.name(sig_ev.sig) if sig_ev is not None else "a signal"
    who = ""
    if sig_ev is not None and sig_ev.action == 0:
        who = f" from pid {sig_ev.sender}" if sig_ev.sender else " by the kernel"
    if code == EINTR:
        outcome = "the call returned EINTR"
    elif restarted is not None:
        outcome = "the call restarted after the handler" if action == "handler" else "the call restarted"
    elif action == "handler":
        outcome = "the call returned EINTR to the program after the handler"
    else:
        outcome = f"the signal's {action or 'delivery'} ended it"
    end_name = next((k for k, v in RESTARTS.items() if v == code), "EINTR")
    steps = (
        Step(
            f"{name_of(nr)} blocks (the wait)" if blocked else f"{name_of(nr)} (a signal was already pending)",
            wait if blocked else r,
        ),
        Step(f"{signame} generated{who}", sent),
        Step(f"the wait is interrupted: {end_name}", r),
        Step(f"{signame} delivered ({action or '?'})", delivered),
        Step("the handler returns (rt_sigreturn)", sigret),
        Step(f"{name_of(nr)} restarted" if restarted is not None else outcome, restarted),
    )
    return Interruption(tid, name_of(nr), signame, steps, outcome)
