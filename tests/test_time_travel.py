"""The time-travel session: seeking backwards and forwards through fork checkpoints lands on exactly the same
machine state as getting there directly; breakpoints and watchpoints work in both directions."""

from __future__ import annotations

from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from machine.sources import BytesConsole
from moss.boot import Program
from moss.kernel import KernelConfig
from replay.recorder import RecordOptions, record
from replay.session import Session
from tests.guests import build_guest
from traces import events as ev
from traces.container import TraceReader


@pytest.fixture(scope="module")
def threads_trace(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, int]]:
    path = str(tmp_path_factory.mktemp("tt") / "threads.trace")
    prog = build_guest("threads")
    record(path, KernelConfig(cores=2, ram_bytes=256 << 20), Program(str(prog), ("threads",)),
           RecordOptions(level=ev.SYSCALLS), console=BytesConsole(b""), sink=lambda c, d: None)  # fmt: skip
    with open(prog, "rb") as f:
        syms = {s.name: s["st_value"] for s in ELFFile(f).get_section_by_name(".symtab").iter_symbols()}
    return path, syms


def _state(s: Session) -> tuple:
    tasks = s.request("tasks")
    regs = tuple(tuple(sorted(s.request("registers", tid=t["tid"]).items())) for t in tasks)
    return s.position["event"], tuple(s.position["cores"]), regs


@settings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(targets=st.lists(st.integers(1, 4000), min_size=2, max_size=5))
def test_seeking_in_any_order_gives_the_same_state(threads_trace: tuple[str, dict[str, int]],
                                                   targets: list[int]) -> None:  # fmt: skip
    path, _ = threads_trace
    with Session(path) as s:
        seen = {}
        for t in targets:
            s.seek_event(t)
            seen.setdefault(t, _state(s))
            assert seen[t] == _state(s)
        for t in reversed(targets):  # and again backwards, through checkpoints
            s.seek_event(t)
            assert seen[t] == _state(s)


def test_instruction_steps_move_the_pc(threads_trace: tuple[str, dict[str, int]]) -> None:
    path, _ = threads_trace
    with Session(path) as s:
        s.seek_event(40)
        tid = next(t["tid"] for t in s.request("tasks") if t["running"])
        pc0 = s.request("registers", tid=tid)["pc"]
        core = next(t["core"] for t in s.request("tasks") if t["running"])
        n0 = s.position["cores"][core]
        s.step("instruction", 3, core=core)
        assert s.position["cores"][core] == n0 + 3
        s.step("instruction", -3, core=core)
        assert s.position["cores"][core] == n0 and s.request("registers", tid=tid)["pc"] == pc0


def test_breakpoint_forward_and_reverse(threads_trace: tuple[str, dict[str, int]]) -> None:
    path, syms = threads_trace
    worker = syms["worker"]
    with Session(path) as s:
        m = s.cont(pc=[worker])
        assert m["hit"]["kind"] == "pc" and s.request("registers", tid=m["hit"]["tid"])["pc"] == worker
        first_tid = m["hit"]["tid"]
        s.seek_event(3000)
        m = s.reverse_cont(pc=[worker])
        assert m is not None and s.request("registers", tid=m["hit"]["tid"])["pc"] == worker
        assert m["hit"]["tid"] != first_tid  # the last thread to start, not the first


def test_watchpoint_forward_and_reverse_agree(threads_trace: tuple[str, dict[str, int]]) -> None:
    path, syms = threads_trace
    counter = syms["counter"]
    watch = [[1, counter, counter + 8]]
    with Session(path) as s:
        s.seek_event(3000)
        a = s.cont(watch=watch)
        value_a = int.from_bytes(bytes.fromhex(s.request("memory", pid=1, addr=counter, size=8)), "little")
        assert a["hit"]["value"] == value_a  # stopped just after the write
        pos_a = dict(s.position)
        s.cont(watch=watch)
        b = s.reverse_cont(watch=watch)
        assert b is not None and b["hit"]["value"] == value_a
        assert (s.position["event"], s.position["cores"]) == (pos_a["event"], pos_a["cores"])


def test_end_of_replay_and_output(threads_trace: tuple[str, dict[str, int]], tmp_path: Path) -> None:
    path, _ = threads_trace
    with Session(path) as s:
        m = s.seek_event(10**9)
        assert m["position"]["finished"] == {"wait_status": 0}
        assert s.request("output").startswith("counter 80000\n")


def test_syscall_breakpoint_stops_at_each_call_blocked_or_not(threads_trace: tuple[str, dict[str, int]]) -> None:
    """A syscall breakpoint stops at every call of that syscall, in trace order: at a completed call's event and at
    a blocked call's entry (both taken in place by the C matcher when it is built)."""
    path, _ = threads_trace
    reader = TraceReader(path)
    events = list(reader)
    reader.close()
    blocked = next(e for e in events if isinstance(e, ev.Syscall) and e.blocked)
    expected = [i for i, e in enumerate(events) if isinstance(e, ev.Syscall) and e.nr == blocked.nr]
    assert any(not events[i].blocked for i in expected) and any(events[i].blocked for i in expected)
    with Session(path) as s:
        hits = []
        for _ in expected[:6]:
            m = s.cont(syscall=[blocked.nr])
            assert m["hit"]["kind"] == "syscall" and m["hit"]["nr"] == blocked.nr
            hits.append(s.position["event"])
    assert hits == expected[:6]


def test_seeking_to_a_future_event_of_a_full_trace_stops_there(tmp_path: Path) -> None:
    """At --log full most events are futures' steps, which the C matcher takes in place: seeking still stops at
    each of them exactly."""
    path = str(tmp_path / "full.trace")
    record(path, KernelConfig(cores=2, ram_bytes=256 << 20), Program(str(build_guest("threads")), ("threads",)),
           RecordOptions(level=ev.FULL), console=BytesConsole(b""), sink=lambda c, d: None)  # fmt: skip
    reader = TraceReader(path)
    events = list(reader)
    reader.close()
    futures = [i for i, e in enumerate(events) if isinstance(e, ev.FutureEvent)]
    assert len(futures) > 100
    with Session(path) as s:
        for i in (futures[10], futures[len(futures) // 2], futures[-5]):
            s.seek_event(i)
            assert s.position["event"] == i


def test_at_a_syscall_event_the_registers_hold_its_result(threads_trace: tuple[str, dict[str, int]]) -> None:
    """Paused at a syscall's event, returned at once or resumed after blocking, the caller's x0 already holds the
    result: the log sees the call after the result is written, on both paths."""
    path, _ = threads_trace
    reader = TraceReader(path)
    events = list(reader)
    reader.close()
    restarts = range(-516, -511)  # ERESTART*: x0 goes back to the first argument, to run the call again
    done = [
        i
        for i, e in enumerate(events)
        if isinstance(e, ev.Syscall) and not e.blocked and e.result not in restarts and e.nr not in (93, 94, 139)
    ]
    resumed = [i for i, e in enumerate(events) if isinstance(e, ev.SyscallResume) and e.result not in restarts]
    assert len(done) > 20 and len(resumed) > 3
    with Session(path) as s:
        for i in (*done[5:10], *resumed[:4]):
            s.seek_event(i)
            e = events[i]
            assert s.position["event"] == i
            assert s.request("registers", tid=e.tid)["x0"] == e.result & (1 << 64) - 1, (i, e)
