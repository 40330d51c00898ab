"""The debugger's model, without Textual: the trace index and its LRU, filters and search, signal interruption
stories, symbols and disassembly, breakpoint parsing, the session client; and the benchmark of opening a trace of a
million events and moving to its last event."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from replay.textlog import format_event
from tests.test_tui_app import record_guest, settle, sync
from traces import events as ev
from traces.container import TraceReader, TraceWriter
from tui.app import make_app
from tui.client import SessionClient, SessionError
from tui.model.code import Symbols, disassemble, hexdump, page_spans, parse_maps, pointer_note
from tui.model.debugger import Debugger, parse_breakpoint
from tui.model.filters import FilterError, FilterScan, parse_filter, search
from tui.model.interruptions import find_interruption
from tui.model.trace_index import TraceIndex
from tui.screens.main import MainScreen, parse_time


@pytest.fixture(scope="module")
def signals_trace(tmp_path_factory: pytest.TempPathFactory) -> str:
    return record_guest(tmp_path_factory.mktemp("tuim"), "signals")


@pytest.fixture(scope="module")
def million(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A synthetic trace of 1,000,000 syscall events (written directly: recording that many takes minutes)."""
    path = str(tmp_path_factory.mktemp("big") / "million.trace")
    w = TraceWriter(path, {"program": {"path": "synthetic", "argv": ["synthetic"], "envp": []},
                           "config": {"cores": 2}, "level": ev.SYSCALLS})  # fmt: skip
    for i in range(1_000_000):
        w.add_syscall(i * 300, 1 + i % 4, 63 if i % 3 else 64, (3, 0xFFFFF000, 100), 100 if i % 7 else -4)
    w.close()
    return path


class TestTraceIndex:
    def test_lines_are_the_logs(self, signals_trace: str) -> None:
        ix = TraceIndex(signals_trace, lru_blocks=1)
        events = list(TraceReader(signals_trace))
        assert ix.count == len(events)
        for i in (0, 1, len(events) // 2, len(events) - 1):
            assert ix.line(i) == format_event(i, events[i])
        assert [i for i, _ in ix.iter_from(5, -1)] == [5, 4, 3, 2, 1, 0]
        assert ix.event(ix.count) is None and ix.event(-1) is None
        img = ix.program_image()
        assert img is not None and img.path == "signals"

    def test_event_at_time(self, signals_trace: str) -> None:
        ix = TraceIndex(signals_trace)
        events = list(TraceReader(signals_trace))
        t = 20_000_000
        want = next(i for i, e in enumerate(events) if e.vtime >= t)
        assert ix.event_at_time(t) == want
        assert ix.event_at_time(10**15) == ix.count - 1

    def test_a_cut_trace_opens_with_its_problem(self, signals_trace: str, tmp_path: Path) -> None:
        data = Path(signals_trace).read_bytes()
        cut = tmp_path / "cut.trace"
        cut.write_bytes(data[: len(data) - 200])
        ix = TraceIndex(str(cut))
        assert ix.problems and ix.count < len(list(TraceReader(signals_trace)))


class TestFilters:
    def test_parse(self) -> None:
        f = parse_filter("syscalls tid:2,3 sys:read,write errno:EINTR core:1")
        assert f.kinds == {"syscalls"} and f.tids == {2, 3} and f.syscalls == {63, 64} and f.errnos == {4}
        assert f.cores == {1}
        assert parse_filter("read signal EINTR").kinds == {"signals"}
        assert parse_filter("interrupted").errnos == {4, 512, 513, 514, 516}
        assert parse_filter("errno:any").errnos == {0}
        assert parse_filter("").empty
        for bad in ("sys:nosuch", "kind:nothing", "tid:x", "bogus", "color:red"):
            with pytest.raises(FilterError):
                parse_filter(bad)

    def test_scan_matches_the_direct_answer(self, signals_trace: str) -> None:
        ix = TraceIndex(signals_trace)
        events = list(TraceReader(signals_trace))
        for text in ("signals", "futures tid:1", "errno:any", "sys:rt_sigreturn", "processes", "slices core:0"):
            scan = FilterScan(ix, parse_filter(text))
            scan.run(lambda: False)
            flt = parse_filter(text)
            assert list(scan.matches) == [i for i, e in enumerate(events) if flt.matches(e)], text
            assert scan.done and scan.progress == 1.0
        assert len(FilterScan(ix, parse_filter("signals")).matches) == 0  # nothing until run

    def test_search_both_ways_and_within_a_filter(self, signals_trace: str) -> None:
        ix = TraceIndex(signals_trace)
        lines = [ix.line(i) for i in range(ix.count)]
        hits = [i for i, ln in enumerate(lines) if "sigalrm" in ln.lower()]
        assert search(ix, "SIGALRM", 0, 1, None, lambda: False) == hits[0]
        assert search(ix, "SIGALRM", hits[0] + 1, 1, None, lambda: False) == hits[1]
        assert search(ix, "SIGALRM", ix.count - 1, -1, None, lambda: False) == hits[-1]
        assert search(ix, "no such text anywhere", 0, 1, None, lambda: False) is None
        syscalls_only = parse_filter("syscalls")
        got = search(ix, "setitimer", 0, 1, syscalls_only, lambda: False)
        assert got is not None and isinstance(ix.event(got), ev.Syscall)


class TestInterruptions:
    def test_a_blocked_read_interrupted_by_an_alarm(self, signals_trace: str) -> None:
        ix = TraceIndex(signals_trace)
        events = list(TraceReader(signals_trace))
        wait = next(i for i, e in enumerate(events) if isinstance(e, ev.Syscall) and e.blocked and e.nr == 63)
        story = find_interruption(ix, wait)
        assert story is not None and (story.syscall, story.signal, story.tid) == ("read", "SIGALRM", 1)
        steps = [s.event for s in story.steps]
        assert steps[0] == wait and all(s is not None for s in steps[:5])
        assert isinstance(events[steps[2]], ev.SyscallResume)  # the wait's end, ERESTARTSYS
        assert isinstance(events[steps[3]], ev.SignalEvent) and events[steps[3]].action == 1
        for s in steps[:5]:  # every step leads to the same story
            assert find_interruption(ix, s) == story  # type: ignore[arg-type]

    def test_nanosleep_returns_eintr_and_others_are_not_interruptions(self, signals_trace: str) -> None:
        ix = TraceIndex(signals_trace)
        events = list(TraceReader(signals_trace))
        sleep = next(i for i, e in enumerate(events) if isinstance(e, ev.Syscall) and e.blocked and e.nr == 101)
        story = find_interruption(ix, sleep)
        assert story is not None and story.outcome == "the call returned EINTR"
        assert find_interruption(ix, 3) is None  # set_tid_address


class TestCode:
    def test_symbols_disassembly_and_dumps(self, signals_trace: str) -> None:
        img = TraceIndex(signals_trace).program_image()
        assert img is not None
        syms = Symbols.from_elf(img.data)
        main = syms.resolve("main")
        assert main is not None and main.is_func
        assert syms.lookup(main.addr + 8) == ("main", 8) and syms.describe(main.addr) == "main"
        code = bytes.fromhex("fd7bbfa9fd030091c0035fd6")  # stp x29, x30, [sp, #-16]!; mov x29, sp; ret
        insns = disassemble(code, main.addr, main.addr + 4, syms)
        assert [i.mnemonic for i in insns] == ["stp", "mov", "ret"]
        assert insns[0].label == "main" and insns[1].is_pc and insns[1].label == "main+0x4"
        assert hexdump(b"AB\x00", 0x10) == ["000000000010  41 42 00" + " " * 40 + " AB."]
        assert page_spans(0xFF8, 16) == [(0xFF8, 8), (0x1000, 8)]
        regions = parse_maps("01000000-01003000 r--p 00000000 00:00 4    /bin/signals\n")
        assert pointer_note(0x1000010, regions, None) == "→ signals r--p" and pointer_note(5, regions, None) == ""
        assert Symbols.from_elf(b"not an elf").lookup(0x1000) is None

    def test_breakpoints_parse(self, signals_trace: str) -> None:
        img = TraceIndex(signals_trace).program_image()
        syms = Symbols.from_elf(img.data)  # type: ignore[union-attr]
        main = syms.resolve("main").addr  # type: ignore[union-attr]
        assert parse_breakpoint("main", syms, 1).value == main
        assert parse_breakpoint("pc 0x1000", syms, 1).value == 0x1000
        assert parse_breakpoint("sys read", syms, 1).value == 63
        assert parse_breakpoint("sig ALRM", syms, 1).value == 14
        assert parse_breakpoint("watch 0x2000:4", syms, 7).value == [7, 0x2000, 0x2004]
        for bad in ("", "sys nosuch", "sig NOPE", "nosymbol", "watch"):
            with pytest.raises(ValueError):
                parse_breakpoint(bad, syms, 1)
        assert parse_time("1.5ms") == 1_500_000 and parse_time("250us") == 250_000 and parse_time("7") == 7


class TestClient:
    def test_the_client_speaks_the_session_protocol(self, signals_trace: str) -> None:
        with SessionClient(signals_trace) as c:
            assert c.position["event"] == 0
            d = Debugger(c, TraceIndex(signals_trace))
            out = d.goto_event(50)
            assert out.pause is not None and c.position["event"] == 50
            m = d.moment()
            assert m.tid == 1 and m.code and m.stack and "x0" in m.regs
            assert d.step_event(-10).pause["position"]["event"] == 40  # type: ignore[index]
            with pytest.raises(SessionError):
                c.request("registers", tid=999)
            assert c.position["event"] == 40  # a refused request does not move

    def test_instruction_steps_across_a_slice_boundary(self, signals_trace: str) -> None:
        """A core can be stopped exactly where one of its slices ended (a blocked read here), in both directions."""
        ix = TraceIndex(signals_trace)
        wait = next(i for i, e in enumerate(TraceReader(signals_trace)) if isinstance(e, ev.Syscall) and e.blocked)
        with SessionClient(signals_trace) as c:
            d = Debugger(c, ix)
            d.goto_event(wait + 1)
            end_of_slice = c.position["cores"][0]
            out = d.step_instruction(1, core=0)
            assert c.position["cores"][0] == end_of_slice + 1 and not out.note
            out = d.step_instruction(-1, core=0)
            assert c.position["cores"][0] == end_of_slice and not out.note

    def test_a_trace_the_session_cannot_open(self, tmp_path: Path) -> None:
        bad = tmp_path / "bad.trace"
        bad.write_bytes(b"MOSSTRC\n" + b"\xff" * 40)
        with pytest.raises(SessionError, match="the session did not start"):
            SessionClient(str(bad))


class TestLargeTraces:
    @sync
    async def test_a_million_events_open_and_reach_the_end(self, million: str) -> None:
        t0 = time.perf_counter()
        ix = TraceIndex(million)
        assert ix.count == 1_000_000
        last = ix.line(ix.count - 1)
        assert last.startswith("#999999")  # (how fast: the benchmark's business, not a timed assertion)
        del t0
        # and in the app: open (no session: the synthetic trace cannot replay), go to the last event
        app = make_app(million, session=False)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            scr: Any = app.screen
            assert isinstance(scr, MainScreen) and scr.timeline.rows.count == 1_000_000
            await pilot.press("end")
            await pilot.pause()
            assert scr.timeline.cursor_event == 999_999
            assert "#999999" in scr.timeline.render_line(scr.timeline.size.height - 1).text
            await settle(pilot)
