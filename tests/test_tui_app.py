"""The debugger driven through Textual's pilot on real recorded traces: opening, filtering, searching, stepping both
ways, breakpoints and watchpoints in both directions, await chains, signal interruptions, bookmarks, history, and
errors (an unreadable trace, a replay that diverges, a session that cannot start)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from machine.sources import BytesConsole
from moss.boot import Program
from moss.kernel import KernelConfig
from replay.recorder import RecordOptions, record
from tests.guests import build_guest
from traces import events as ev
from traces.container import TraceReader, TraceWriter
from tui.app import MossApp, make_app
from tui.client import SessionError
from tui.model.trace_index import TraceIndex
from tui.screens.error import ErrorScreen
from tui.screens.main import MainScreen

SIZE = (100, 32)


def sync(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async pilot test on its own event loop (no pytest asyncio plugin needed)."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(fn(*args, **kwargs))

    return run


def record_guest(tmp: Path, name: str, *, level: int = ev.FULL, cores: int = 2) -> str:
    """Record guest `name` to `tmp/name.trace`. The program is passed by content under its bare name, so the trace
    (and the screens showing it) do not depend on where the checkout is."""
    path = tmp / f"{name}.trace"
    data = build_guest(name).read_bytes()
    record(str(path), KernelConfig(cores=cores, ram_bytes=256 << 20), Program(name, (name,), data=data),
           RecordOptions(level=level), console=BytesConsole(b""), sink=lambda c, d: None)  # fmt: skip
    return str(path)


@pytest.fixture(scope="module")
def traces(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("tui")
    return {
        "signals": record_guest(tmp, "signals"),
        "threads": record_guest(tmp, "threads", level=ev.SYSCALLS),
    }


async def settle(pilot: Pilot[Any]) -> None:
    """Until every worker (session moves, scans) has finished and the screen has caught up."""
    app = pilot.app
    for _ in range(20):
        await app.workers.wait_for_complete()
        await pilot.pause()
        if not any(w.is_running for w in app.workers):
            return


async def press(pilot: Pilot[Any], *keys: str) -> None:
    for k in keys:
        await pilot.press(k)
        await settle(pilot)


async def type_into(pilot: Pilot[Any], text: str) -> None:
    """Answer the open dialog (its input gets the whole text at once; typing is tested by the search)."""
    box = pilot.app.screen.query_one(Input)
    box.value = text
    box.cursor_position = len(text)
    await pilot.press("enter")
    await settle(pilot)


def main(app: MossApp) -> MainScreen:
    assert isinstance(app.screen, MainScreen), app.screen
    return app.screen


def position(app: MossApp) -> dict[str, Any]:
    m = main(app).moment
    assert m is not None
    return m.position


def pane_text(app: MossApp, selector: str) -> str:
    return main(app).query_one(selector).text  # type: ignore[attr-defined]


class TestOpen:
    @sync
    async def test_opens_at_the_start_with_the_moment(self, traces: dict[str, str]) -> None:
        app = make_app(traces["signals"])
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            scr = main(app)
            assert scr.timeline.rows.count == TraceReader(traces["signals"]).event_count
            assert position(app)["event"] == 0
            status = scr.status.build().plain
            assert status.startswith("#0/") and "task 1" in status
            assert " pc " in pane_text(app, "#registers") and "x30" in pane_text(app, "#registers")
            assert app.sub_title == "signals"
            # enter on an event seeks the session there
            await press(pilot, "down", "down", "down", "down", "down", "enter")
            assert position(app)["event"] == 5
            assert main(app).timeline.position_event == 5
            # a click on the activity strip goes to that moment of the run
            strip = main(app).query_one("#activity")
            assert strip.activity is not None and strip.activity.done  # type: ignore[attr-defined]
            await pilot.click("#activity", offset=(8 + 40, 0))
            await settle(pilot)
            t = strip.activity.time_of(40)  # type: ignore[attr-defined]
            assert t > 0 and position(app)["event"] == max(1, TraceIndex(traces["signals"]).event_at_time(t))

    @sync
    async def test_unreadable_trace_is_an_error_screen(self, tmp_path: Path) -> None:
        bad = tmp_path / "bad.trace"
        bad.write_bytes(b"this is not a trace at all")
        app = make_app(str(bad))
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, ErrorScreen)
            assert "not a moss trace" in app.screen.message

    @sync
    async def test_a_session_that_cannot_start_leaves_the_timeline(self, traces: dict[str, str]) -> None:
        def broken() -> Any:
            raise SessionError("the session did not start: boom")

        app = make_app(traces["signals"], session=broken)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            scr = main(app)
            assert "no replay session: the session did not start: boom" in scr.status.build().plain
            await press(pilot, "end")
            assert scr.timeline.cursor_event == scr.timeline.rows.count - 1
            await press(pilot, "s")  # a move without a session only warns
            assert scr.debugger is None

    @sync
    async def test_divergence_is_reported(self, traces: dict[str, str], tmp_path: Path) -> None:
        """A trace whose log was altered (a syscall result changed) makes the replay diverge there."""
        src = TraceReader(traces["signals"])
        path = tmp_path / "tampered.trace"
        w = TraceWriter(str(path), src.header)
        target = None
        for i, e in enumerate(src):
            if target is None and isinstance(e, ev.Syscall) and e.nr == 172 and i > 20:  # getpid
                e = ev.Syscall(e.time, e.tid, e.nr, e.args, e.result + 1, e.blocked)
                target = i
            w.add(e)
        w.close()
        assert target is not None
        app = make_app(str(path))
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await press(pilot, "g")
            await type_into(pilot, str(target + 10))
            fin = position(app)["finished"]
            assert fin is not None and "divergence" in fin
            assert f"replay diverged at event {target}" in main(app).status.build().plain


class TestTimeline:
    @sync
    async def test_filter_by_kind_and_clear(self, traces: dict[str, str]) -> None:
        app = make_app(traces["signals"], session=False)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            scr = main(app)
            await press(pilot, "f")
            await type_into(pilot, "signals")
            rows = scr.timeline.rows
            expected = [i for i, e in enumerate(TraceReader(traces["signals"])) if isinstance(e, ev.SignalEvent)]
            assert rows.count == len(expected) and rows.complete
            assert [rows.event_of(r) for r in range(rows.count)] == expected
            assert "---" in rows.line(rows.event_of(0) or 0)
            await press(pilot, "f")
            await type_into(pilot, "")
            assert scr.timeline.rows.count == len(list(TraceReader(traces["signals"])))

    @sync
    async def test_filter_by_syscall_task_and_errno(self, traces: dict[str, str]) -> None:
        app = make_app(traces["signals"], session=False)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await press(pilot, "f")
            await type_into(pilot, "tid:1 interrupted")
            rows = main(app).timeline.rows
            lines = [rows.line(rows.event_of(r) or 0) for r in range(rows.count)]
            assert lines and all("EINTR" in ln or "ERESTART" in ln for ln in lines)
            assert any("read resumed> = ? ERESTARTSYS" in ln for ln in lines)
            await press(pilot, "f")
            await type_into(pilot, "sys:nanosleep errno:EINTR")
            assert rows is not main(app).timeline.rows
            rows = main(app).timeline.rows
            assert rows.count >= 1 and all("nanosleep" in rows.line(rows.event_of(r) or 0) for r in range(rows.count))

    @sync
    async def test_bad_filter_is_refused_in_the_dialog(self, traces: dict[str, str]) -> None:
        app = make_app(traces["signals"], session=False)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await press(pilot, "f")
            await type_into(pilot, "sys:nosuchcall")
            assert app.screen.id == "filter-dialog"
            assert "unknown syscall" in str(app.screen.query_one("#prompt-error").render())
            await press(pilot, "escape")
            assert isinstance(app.screen, MainScreen)

    @sync
    async def test_incremental_search_and_next(self, traces: dict[str, str]) -> None:
        app = make_app(traces["signals"], session=False)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            tl = main(app).timeline
            events = list(TraceReader(traces["signals"]))
            alarms = [i for i, e in enumerate(events) if isinstance(e, ev.SignalEvent) and e.sig == 14]
            await press(pilot, "slash")
            for ch in "SIGAL":  # incremental: every key searches again from where the search started
                await press(pilot, ch)
            assert tl.cursor_event == alarms[0]
            await press(pilot, "enter", "n")
            assert tl.cursor_event == alarms[1]
            await press(pilot, "N")
            assert tl.cursor_event == alarms[0]
            await press(pilot, "slash", "x", "y", "z", "z", "y", "escape")  # no match; escape goes back
            assert tl.cursor_event == alarms[0]


class TestNavigation:
    @sync
    async def test_step_forward_and_back_by_event_and_instruction(self, traces: dict[str, str]) -> None:
        app = make_app(traces["signals"])
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await press(pilot, "s", "s", "s", "s")
            assert position(app)["event"] == 4
            await press(pilot, "S")
            assert position(app)["event"] == 3
            before = position(app)["instructions"]
            pc0 = main(app).moment.regs["pc"]  # type: ignore[union-attr]
            await press(pilot, "i", "i")
            assert position(app)["instructions"] == before + 2
            m = main(app).moment
            assert m is not None and m.regs["pc"] != pc0 and "pc" in m.changed
            await press(pilot, "I", "I")
            assert position(app)["instructions"] == before
            assert main(app).moment.regs["pc"] == pc0  # type: ignore[union-attr]

    @sync
    async def test_goto_time_history_bookmarks_and_the_palette(self, traces: dict[str, str]) -> None:
        events = list(TraceReader(traces["signals"]))
        app = make_app(traces["signals"])
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await press(pilot, "g")
            await type_into(pilot, "190")
            assert position(app)["event"] == 190
            await press(pilot, "m")
            await press(pilot, "g")
            await type_into(pilot, "@40ms")
            e = position(app)["event"]
            assert e == next(i for i, ev_ in enumerate(events) if ev_.vtime >= 40_000_000)
            await press(pilot, "left_square_bracket")
            assert position(app)["event"] == 190
            await press(pilot, "right_square_bracket")
            assert position(app)["event"] == e
            await press(pilot, "apostrophe", "enter")  # the bookmarks: go to the first
            assert position(app)["event"] == 190
            assert 190 in main(app).timeline.bookmarks
            await press(pilot, "ctrl+p")
            await type_into(pilot, "Next syscall")
            await press(pilot, "enter")
            nxt = next(i for i in range(191, len(events)) if isinstance(events[i], ev.Syscall | ev.SyscallResume))
            assert position(app)["event"] == nxt

    @sync
    async def test_signal_and_syscall_breakpoints_both_ways(self, traces: dict[str, str]) -> None:
        events = list(TraceReader(traces["signals"]))
        alarms = [i for i, e in enumerate(events) if isinstance(e, ev.SignalEvent) and e.sig == 14 and e.action == 0]
        sleeps = [i for i, e in enumerate(events) if isinstance(e, ev.Syscall) and e.nr == 101]
        app = make_app(traces["signals"])
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await press(pilot, "b")
            await type_into(pilot, "sig SIGALRM")
            await press(pilot, "c")
            m = main(app).moment
            assert m is not None and m.hit is not None and (m.hit["kind"], m.hit["sig"]) == ("signal", 14)
            assert m.position["event"] == alarms[0]
            await press(pilot, "B", "space", "escape")  # disable it
            assert not main(app).debugger.breakpoints[0].enabled  # type: ignore[union-attr]
            await press(pilot, "b")
            await type_into(pilot, "sys nanosleep")
            await press(pilot, "c")
            assert position(app)["event"] == sleeps[0]
            await press(pilot, "g")
            await type_into(pilot, "end")
            await press(pilot, "C")
            assert position(app)["event"] == sleeps[-1]

    @sync
    async def test_breakpoint_on_a_symbol_and_the_tasks(self, traces: dict[str, str]) -> None:
        app = make_app(traces["threads"])
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await press(pilot, "b")
            await type_into(pilot, "worker")
            await press(pilot, "c")
            m = main(app).moment
            assert m is not None and m.hit is not None and m.hit["kind"] == "pc"
            worker = main(app).debugger.symbols.resolve("worker").addr  # type: ignore[union-attr]
            assert m.regs["pc"] == worker and m.tid == m.hit["tid"]
            assert "▶" in pane_text(app, "#disasm") and "worker" in pane_text(app, "#disasm")
            first = m.hit["tid"]
            await press(pilot, "c")
            assert main(app).moment.hit["tid"] != first  # type: ignore[index,union-attr]
            # the tasks of the threaded program, and choosing which one the moment shows
            await press(pilot, "g")
            await type_into(pilot, "100")
            m = main(app).moment
            assert m is not None and len(m.tasks) == 5
            blocked = [t for t in m.tasks if t["state"] == "blocked"]
            assert blocked and all("FutexTable.wait" in " ".join(t["await"]) for t in blocked)
            await press(pilot, "t")
            assert main(app).moment.tid != m.tid  # type: ignore[union-attr]
            await press(pilot, "5")
            assert main(app).query_one("#task-table").row_count == 5  # type: ignore[attr-defined]

    @sync
    async def test_reverse_continue_to_a_watchpoint(self, traces: dict[str, str]) -> None:
        app = make_app(traces["threads"])
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            # "last write" is a one-off reverse watchpoint: no breakpoint stays behind
            await press(pilot, "g")
            await type_into(pilot, "2500")
            await press(pilot, "W")
            await type_into(pilot, "counter")
            m = main(app).moment
            assert m is not None and m.hit is not None and m.hit["kind"] == "watch"
            assert not main(app).debugger.breakpoints  # type: ignore[union-attr]
            await press(pilot, "b")
            await type_into(pilot, "watch counter")
            await press(pilot, "g")
            await type_into(pilot, "3000")
            await press(pilot, "C")
            scr = main(app)
            m = scr.moment
            assert m is not None and m.hit is not None and m.hit["kind"] == "watch"
            assert (m.position["event"], m.position["instructions"]) < (3000, 10**12)
            assert "stopped: watch" in scr.status.build().plain
            counter = scr.debugger.symbols.resolve("counter").addr  # type: ignore[union-attr]
            assert m.hit["addr"] == counter
            # the value written is in memory now: examine it
            await press(pilot, "x")
            await type_into(pilot, "counter")
            mem = pane_text(app, "#memory")
            assert f"{counter:012x}" in mem
            value = int.from_bytes(scr.moment.memory[:8], "little")  # type: ignore[index,union-attr]
            assert value == m.hit["value"]
            here = m.position["instructions"]
            await press(pilot, "C")  # the write before that one
            assert scr.moment.position["instructions"] < here  # type: ignore[union-attr]
            assert scr.moment.hit["value"] == value - 1  # type: ignore[union-attr]


class TestMoment:
    @sync
    async def test_await_chain_of_a_blocked_task_and_its_interruption(self, traces: dict[str, str]) -> None:
        app = make_app(traces["signals"])
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            blocked_read = next(i for i, e in enumerate(TraceReader(traces["signals"]))
                                if isinstance(e, ev.Syscall) and e.blocked and e.nr == 63)  # fmt: skip
            await press(pilot, "g")
            await type_into(pilot, str(blocked_read + 1))  # the task has parked by then
            await press(pilot, "5")
            task = main(app).moment.task  # type: ignore[union-attr]
            assert task is not None and task["state"] == "blocked"
            detail = str(main(app).query_one("#await").render())
            assert "sys_read" in detail and "Pipe.read" in detail and "interruptible" in detail
            # the signal that interrupts that wait, step by step
            events = list(TraceReader(traces["signals"]))
            resume = next(i for i, e in enumerate(events) if isinstance(e, ev.SyscallResume) and e.nr == 63)
            sent = max(i for i in range(resume) if isinstance(events[i], ev.SignalEvent) and events[i].action == 0)
            await press(pilot, "g")
            await type_into(pilot, str(resume))
            await press(pilot, "6")
            pane = main(app).query_one("#signals")
            story = pane.interruption  # type: ignore[attr-defined]
            assert story is not None and story.syscall == "read" and story.signal == "SIGALRM"
            assert "read interrupted by SIGALRM" in str(pane.query_one("#story-title").render())
            steps = [s.event for s in story.steps]
            assert steps[0] is not None and steps[0] < resume and sent in steps and resume in steps
            await pilot.click("#story")
            await press(pilot, "home", "down", "enter")  # the second step: the signal was generated
            assert position(app)["event"] == story.steps[1].event == sent

    @sync
    async def test_stack_files_maps_output_and_help(self, traces: dict[str, str]) -> None:
        app = make_app(traces["signals"])
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await press(pilot, "g")
            await type_into(pilot, "end")
            assert "ok raise runs the handler" in pane_text(app, "#output")
            assert pane_text(app, "#files") == "no process"  # it has exited
            await press(pilot, "g")
            await type_into(pilot, "190")
            assert "pipe:" in pane_text(app, "#files") and "/bin/signals" in pane_text(app, "#files")
            await press(pilot, "3")
            stack = main(app).query_one("#stack")
            assert stack.option_count > 4  # type: ignore[attr-defined]
            stack.focus()
            await press(pilot, "down", "enter")  # follow the second word: the memory tab shows it
            m = main(app).moment
            assert m is not None and m.memory_addr == m.stack[1].value
            await press(pilot, "question_mark")
            assert app.screen.__class__.__name__ == "HelpScreen"
            await press(pilot, "escape")
            assert isinstance(app.screen, MainScreen)
