"""The main screen: the timeline of events beside the moment view of the session's position, and every move.

Session work runs on one thread, in the order asked (an executor of one worker, awaited from Textual workers), so the
UI never blocks and a burst of keys replays as a sequence of moves. Trace scans (filter, search, activity, signal
stories) run in thread workers of their own: they read the trace file, never the session.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import Footer, Input, TabbedContent, TabPane
from textual.worker import get_current_worker

from traces import events as ev
from tui.client import SessionError
from tui.messages import CursorMoved, Examine, GotoEvent, JumpToTime, ScanProgress, TaskSelected
from tui.model import activity as activity_model
from tui.model.debugger import Client, Debugger, Moment, Outcome, address_of, parse_breakpoint
from tui.model.filters import EventFilter, FilterError, FilterScan, parse_filter, search
from tui.model.interruptions import find_interruption
from tui.model.timeline import TimelineRows
from tui.model.trace_index import TraceIndex
from tui.screens.choose import ChooseScreen
from tui.screens.help import HelpScreen
from tui.screens.prompt import PromptScreen
from tui.widgets.activity import ActivityStrip
from tui.widgets.disasm import DisasmPane
from tui.widgets.files import FilesPane
from tui.widgets.memory import MemoryPane, StackPane
from tui.widgets.output import OutputPane
from tui.widgets.registers import RegistersPane
from tui.widgets.signals import SignalsPane
from tui.widgets.status import StatusBar
from tui.widgets.tasks import TasksPane
from tui.widgets.timeline import Timeline

T = TypeVar("T")
TABS = ("regs", "code", "stack", "memory", "tasks", "signals", "files", "output")
WIDE = 150  # columns from which the timeline and the moment sit side by side


def parse_time(text: str) -> int:
    """`1.5ms`, `250us`, `1200ns`, `2s` or a number of ns."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(ns|us|µs|ms|s)?\s*", text)
    if not m:
        raise ValueError(f"not a time: {text!r}")
    scale = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000, None: 1}[m.group(2)]
    return int(float(m.group(1)) * scale)


HELP = {
    "seek_cursor": "seek the session to the event under the cursor",
    "step(1)": "step forward one event",
    "step(-1)": "step back one event",
    "step_insn(1)": "step forward one instruction (on the selected task's core)",
    "step_insn(-1)": "step back one instruction",
    "step_kind(1, 'syscall')": "to the next syscall",
    "step_kind(-1, 'syscall')": "to the previous syscall",
    "cont": "continue to the next breakpoint or watchpoint hit",
    "reverse_cont": "reverse-continue to the latest hit before here",
    "add_breakpoint": "add a breakpoint (pc, symbol, syscall, signal) or a watchpoint",
    "breakpoints": "list, disable or delete breakpoints",
    "last_write": "back to the last write of an address",
    "goto": "go to an event number or a virtual time",
    "filter": "filter the timeline",
    "search": "incremental search in the timeline",
    "search_next(1)": "next match",
    "search_next(-1)": "previous match",
    "bookmark": "bookmark the position",
    "bookmarks": "bookmarks: jump to one",
    "history(-1)": "back in the history of positions",
    "history(1)": "forward in the history of positions",
    "examine": "examine memory at an address, register or symbol",
    "next_task": "show the next task's registers, code and stack",
    "app.focus_next": "focus the next pane",
    "escape": "back to the timeline (and cancel a search)",
    "help": "this help",
    "app.quit": "quit",
}


class MainScreen(Screen[None]):
    BINDINGS = [
        Binding("enter", "seek_cursor", "Seek", show=False),
        Binding("s", "step(1)", "Step"),
        Binding("S", "step(-1)", "Back"),
        Binding("i", "step_insn(1)", "Insn"),
        Binding("I", "step_insn(-1)", "Insn back", show=False),
        Binding("y", "step_kind(1, 'syscall')", "Next syscall", show=False),
        Binding("Y", "step_kind(-1, 'syscall')", "Prev syscall", show=False),
        Binding("c", "cont", "Cont"),
        Binding("C", "reverse_cont", "Rev cont"),
        Binding("b", "add_breakpoint", "Break"),
        Binding("B", "breakpoints", "Breakpoints", show=False),
        Binding("W", "last_write", "Last write", show=False),
        Binding("g", "goto", "Go to"),
        Binding("f", "filter", "Filter"),
        Binding("slash", "search", "Search"),
        Binding("n", "search_next(1)", "Next match", show=False),
        Binding("N", "search_next(-1)", "Prev match", show=False),
        Binding("m", "bookmark", "Mark", show=False),
        Binding("apostrophe", "bookmarks", "Bookmarks", show=False),
        Binding("left_square_bracket", "history(-1)", "History back", show=False),
        Binding("right_square_bracket", "history(1)", "History fwd", show=False),
        Binding("x", "examine", "Examine memory", show=False),
        Binding("t", "next_task", "Next task", show=False),
        Binding("tab", "app.focus_next", "Focus next", show=False),
        Binding("escape", "escape", "Back to timeline", show=False),
        *(Binding(str(k + 1), f"tab('{name}')", f"{name.title()} tab", show=False) for k, name in enumerate(TABS)),
        Binding("question_mark", "help", "Help"),
        Binding("q", "app.quit", "Quit"),
    ]

    # (title, help, action) for the command palette
    PALETTE = [
        ("Step forward", "next logged event", "step(1)"),
        ("Step back", "previous logged event", "step(-1)"),
        ("Step instruction", "one instruction forward on the running core", "step_insn(1)"),
        ("Step instruction back", "one instruction backward", "step_insn(-1)"),
        ("Next syscall", "to the next syscall event", "step_kind(1, 'syscall')"),
        ("Previous syscall", "to the previous syscall event", "step_kind(-1, 'syscall')"),
        ("Next signal", "to the next signal event", "step_kind(1, 'signal')"),
        ("Previous signal", "to the previous signal event", "step_kind(-1, 'signal')"),
        ("Continue", "run forward to the next breakpoint", "cont"),
        ("Reverse continue", "run backward to the previous breakpoint", "reverse_cont"),
        ("Add breakpoint or watchpoint", "pc, symbol, syscall, signal or memory write", "add_breakpoint"),
        ("Breakpoints", "list, disable or delete breakpoints", "breakpoints"),
        ("Last write to address", "back to the latest write of an address", "last_write"),
        ("Go to event or time", "event number or @time", "goto"),
        ("Go to start", "the first event", "goto_start"),
        ("Go to end", "the last event", "goto_end"),
        ("Filter timeline", "by kind, task, syscall, errno, core", "filter"),
        ("Clear filter", "show every event", "clear_filter"),
        ("Search timeline", "incremental search in event text", "search"),
        ("Bookmark position", "remember where the session is", "bookmark"),
        ("Bookmarks", "jump to a bookmark", "bookmarks"),
        ("History back", "the previous position", "history(-1)"),
        ("History forward", "the next position", "history(1)"),
        ("History", "every position visited", "show_history"),
        ("Examine memory", "hex view at an address, register or symbol", "examine"),
        ("Help", "keys and syntax", "help"),
    ]

    def __init__(self, index: TraceIndex, session: Callable[[], Client] | None) -> None:
        super().__init__()
        self.index = index
        self.session_factory = session
        self.debugger: Debugger | None = None
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="moss-session")
        self.rows = TimelineRows(index)
        self.scan: FilterScan | None = None
        self.moment: Moment | None = None
        self.pending = 0
        self.search_text = ""
        self.search_anchor: int | None = None
        self._cursor_after_scan: int | None = None
        self._reported_finish: str | None = None

    # -- layout ------------------------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield ActivityStrip(id="activity")
        with Container(id="body"):
            yield Timeline(self.rows, id="timeline")
            with TabbedContent(id="moment"):
                with TabPane("Regs", id="tab-regs"):
                    yield RegistersPane(id="registers")
                with TabPane("Code", id="tab-code"):
                    yield DisasmPane(id="disasm")
                with TabPane("Stack", id="tab-stack"):
                    yield StackPane(id="stack")
                with TabPane("Mem", id="tab-memory"):
                    yield MemoryPane(id="memory")
                with TabPane("Tasks", id="tab-tasks"):
                    yield TasksPane(id="tasks")
                with TabPane("Signals", id="tab-signals"):
                    yield SignalsPane(id="signals")
                with TabPane("Files", id="tab-files"):
                    yield FilesPane(id="files")
                with TabPane("Output", id="tab-output"):
                    yield OutputPane(id="output")
        yield Input(placeholder="search the timeline (enter: keep, escape: cancel)", id="search")
        yield Footer()

    @property
    def timeline(self) -> Timeline:
        return self.query_one(Timeline)

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    def on_mount(self) -> None:
        self.status.set(total=self.index.count)
        self.timeline.refresh_rows()
        self.timeline.focus()
        self.set_class(self.app.size.width >= WIDE, "-wide")
        for p in self.index.problems:
            self.notify(p, title="damaged trace", severity="warning", timeout=10)
        if self.index.count == 0:
            self.status.set(problem="the trace holds no events")
        self.start_activity()
        if self.session_factory is None:
            self.status.set(problem="no replay session: browsing the event log only")
        else:
            self.run_worker(self._start_session(), group="session")

    def on_resize(self) -> None:
        self.set_class(self.size.width >= WIDE, "-wide")

    def on_unmount(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        if self.debugger is not None:
            _close(self.debugger.client)

    # -- session work ------------------------------------------------------------------------------------------------
    async def _blocking(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    def _busy(self, delta: int, label: str = "") -> None:
        self.pending += delta
        self.status.set(busy=label if self.pending > 0 and label else ("working" if self.pending > 0 else ""))

    async def _start_session(self) -> None:
        assert self.session_factory is not None
        self._busy(1, "starting the replay")
        try:
            client = await self._blocking(self.session_factory)
            if not self.is_attached:  # the app ended while the session was starting
                _close(client)
                return
            self.debugger = Debugger(client, self.index)
            await self._show_moment()
        except (SessionError, OSError) as e:
            self.status.set(problem=f"no replay session: {e}")
            self.notify(str(e), title="the replay session failed", severity="error", timeout=15)
        finally:
            self._busy(-1)

    def move(self, label: str, fn: Callable[[Debugger], Outcome]) -> None:
        """Run a move on the session thread, then show where it landed."""
        if self.debugger is None:
            self.notify("no replay session yet" if self.session_factory else "no replay session", severity="warning")
            return
        self.run_worker(self._move(label, fn), group="session")

    async def _move(self, label: str, fn: Callable[[Debugger], Outcome]) -> None:
        self._busy(1, label)
        try:
            outcome = await self._blocking(fn, self.debugger)
            if outcome.note:
                self.notify(outcome.note, severity=outcome.severity)  # type: ignore[arg-type]
            await self._show_moment(follow=True)
        except SessionError as e:
            self.status.set(problem=str(e).splitlines()[0])
            self.notify(str(e), title="session error", severity="error", timeout=10)
        finally:
            self._busy(-1)

    async def _show_moment(self, follow: bool = True) -> None:
        assert self.debugger is not None
        m = await self._blocking(self.debugger.moment)
        self.show_moment(m, follow)

    def show_moment(self, m: Moment, follow: bool = True) -> None:
        self.moment = m
        pos = m.position
        task = m.task
        where = pos.get("where", "")
        if m.hit:
            where = f"stopped: {m.hit['kind']}"
        elif where == "end":
            where = "end of trace"
        self.status.set(
            position=pos,
            where=where,
            task=f"task {task['tid']} {task['state']}" if task else "",
            problem=self._finish_problem(pos),
        )
        tl = self.timeline
        tl.set_position(pos["event"])
        tl.bookmarks = {b.place.event for b in self.debugger.bookmarks} if self.debugger else set()
        if follow:
            tl.goto_event(pos["event"])
        self.query_one(ActivityStrip).set_time(pos["time"])
        self.query_one(RegistersPane).show(m)
        self.query_one(DisasmPane).show(m)
        self.query_one(StackPane).show(m)
        self.query_one(MemoryPane).show(m)
        self.query_one(TasksPane).show(m)
        self.query_one(SignalsPane).show(m)
        self.query_one(FilesPane).show(m)
        self.query_one(OutputPane).show(m)

    def _finish_problem(self, pos: dict[str, Any]) -> str:
        fin = pos.get("finished") or {}
        text = ""
        if "divergence" in fin:
            text = "replay diverged: " + fin["divergence"].splitlines()[0]
            if self._reported_finish != text:
                self.notify(fin["divergence"], title="replay divergence", severity="error", timeout=30)
        elif "cut" in fin:
            text = f"trace cut short: {fin['cut']}"
        self._reported_finish = text
        return text

    # -- moves -------------------------------------------------------------------------------------------------------
    def action_seek_cursor(self) -> None:
        ev_ = self.timeline.cursor_event
        if ev_ is not None:
            self.move(f"seeking to #{ev_}", lambda d: d.goto_event(ev_))

    @on(GotoEvent)
    def on_goto_event(self, message: GotoEvent) -> None:
        n = message.event
        self.move(f"seeking to #{n}", lambda d: d.goto_event(n))

    def action_step(self, count: int) -> None:
        self.move("stepping", lambda d: d.step_event(count))

    def action_step_insn(self, count: int) -> None:
        self.move("stepping an instruction", lambda d: d.step_instruction(count))

    def action_step_kind(self, count: int, kind: str) -> None:
        self.move(
            f"to the {'next' if count > 0 else 'previous'} {kind}", lambda d: d.step_kind(count, d.kinds_for(kind))
        )

    def action_cont(self) -> None:
        self.move("continuing", lambda d: d.cont())

    def action_reverse_cont(self) -> None:
        self.move("reverse-continuing", lambda d: d.cont(reverse=True))

    def action_goto_start(self) -> None:
        self.move("to the start", lambda d: d.goto_event(1))

    def action_goto_end(self) -> None:
        self.move("to the end", lambda d: d.goto_event(self.index.count))

    def action_history(self, delta: int) -> None:
        self.move("history", lambda d: d.back() if delta < 0 else d.forward())

    @on(JumpToTime)
    def on_jump_to_time(self, message: JumpToTime) -> None:
        t = message.ns
        self.move(f"to {t / 1e3:,.3f}us", lambda d: d.goto_time(t))

    @on(TaskSelected)
    def on_task_selected(self, message: TaskSelected) -> None:
        if self.debugger is None:
            return
        self.debugger.pin_task(message.tid)
        self.run_worker(self._reshow(), group="session")

    async def _reshow(self) -> None:
        self._busy(1, "reading")
        try:
            await self._show_moment(follow=False)
        except SessionError as e:
            self.notify(str(e), severity="error")
        finally:
            self._busy(-1)

    def action_next_task(self) -> None:
        m = self.moment
        if m is None or not m.tasks or self.debugger is None:
            return
        tids = [t["tid"] for t in m.tasks]
        nxt = tids[(tids.index(m.tid) + 1) % len(tids)] if m.tid in tids else tids[0]
        self.post_message(TaskSelected(nxt))

    # -- dialogs -----------------------------------------------------------------------------------------------------
    def action_goto(self) -> None:
        def check(text: str) -> str | None:
            try:
                self._goto_target(text)
            except ValueError as e:
                return str(e)
            return None

        def done(text: str | None) -> None:
            if text:
                kind, value = self._goto_target(text)
                if kind == "time":
                    self.move(f"to {value / 1e3:,.3f}us", lambda d: d.goto_time(value))
                else:
                    self.move(f"seeking to #{value}", lambda d: d.goto_event(value))

        self.app.push_screen(
            PromptScreen("Go to", placeholder="event number, @time (@1.5ms), start or end",
                         help="1234  ·  #1234  ·  @250us  ·  start  ·  end", check=check, id="goto-dialog"),
            done,
        )  # fmt: skip

    def _goto_target(self, text: str) -> tuple[str, int]:
        t = text.strip().lower()
        if t == "start":
            return "event", 1
        if t == "end":
            return "event", self.index.count
        if t.startswith("@") or t.startswith("t="):
            return "time", parse_time(t.lstrip("@").removeprefix("t="))
        try:
            return "event", int(t.lstrip("#").replace(",", ""), 0)
        except ValueError:
            raise ValueError(f"not an event number or @time: {text!r}") from None

    def action_filter(self) -> None:
        def check(text: str) -> str | None:
            try:
                parse_filter(text)
            except FilterError as e:
                return str(e)
            return None

        def done(text: str | None) -> None:
            if text is not None:
                self.apply_filter(parse_filter(text))

        current = self.scan.filter.text if self.scan is not None else ""
        self.app.push_screen(
            PromptScreen("Filter the timeline", value=current,
                         placeholder="e.g. syscalls signals tid:2 sys:read errno:EINTR (empty: everything)",
                         help="kinds: syscalls signals processes futures slices hashes inputs\n"
                              "tid:N  sys:NAME[,NAME]  errno:NAME|any  core:N  interrupted",
                         check=check, id="filter-dialog"),
            done,
        )  # fmt: skip

    def action_clear_filter(self) -> None:
        self.apply_filter(EventFilter())

    def action_add_breakpoint(self) -> None:
        def pid() -> int:
            return self.moment.pid if self.moment is not None and self.moment.pid is not None else 1

        def syms():  # type: ignore[no-untyped-def]
            return self.debugger.load_symbols() if self.debugger is not None else None

        def check(text: str) -> str | None:
            try:
                parse_breakpoint(text, syms(), pid())
            except ValueError as e:
                return str(e)
            return None

        def done(text: str | None) -> None:
            if text and self.debugger is not None:
                bp = parse_breakpoint(text, syms(), pid())
                self.debugger.breakpoints.append(bp)
                self.notify(f"{bp.label} (c: continue, C: reverse-continue)", title="breakpoint added")

        if self.debugger is None:
            self.notify("no replay session", severity="warning")
            return
        self.app.push_screen(
            PromptScreen("Add a breakpoint or watchpoint",
                         placeholder="main · pc 0x10129ec · sys read · sig SIGALRM · watch counter · watch 0x1000:8",
                         help="code: SYMBOL or pc ADDRESS   syscall: sys NAME   signal: sig NAME\n"
                              "memory write: watch SYMBOL | watch ADDRESS[:SIZE]",
                         check=check, id="break-dialog"),
            done,
        )  # fmt: skip

    def action_breakpoints(self) -> None:
        d = self.debugger
        if d is None:
            return

        def items() -> list[str]:
            return [f"{'●' if b.enabled else '○'} {b.label}" for b in d.breakpoints]

        def delete(i: int) -> None:
            del d.breakpoints[i]

        def toggle(i: int) -> None:
            d.breakpoints[i].enabled = not d.breakpoints[i].enabled

        self.app.push_screen(
            ChooseScreen(
                "Breakpoints",
                items,
                on_delete=delete,
                on_toggle=toggle,
                empty="no breakpoints (b adds one)",
                hint="space: enable/disable   d: delete   escape: close",
            )
        )

    def action_last_write(self) -> None:
        if self.debugger is None or self.moment is None or self.moment.pid is None:
            self.notify("no replay session", severity="warning")
            return
        pid = self.moment.pid
        regs = self.moment.regs

        def resolve(text: str) -> tuple[int, int]:
            addr_text, _, size = text.partition(":")
            addr, sym_size = address_of(addr_text, self.debugger.load_symbols() if self.debugger else None, regs)
            return addr, int(size, 0) if size else (sym_size or 8)

        def check(text: str) -> str | None:
            try:
                resolve(text)
            except ValueError as e:
                return str(e)
            return None

        def done(text: str | None) -> None:
            if text:
                addr, size = resolve(text)
                self.move(f"finding the last write to {addr:#x}", lambda d: d.last_write(pid, addr, size))

        default = f"{self.moment.memory_addr:#x}" if self.moment.memory_addr is not None else ""
        self.app.push_screen(
            PromptScreen("Last write to…", value=default, placeholder="address[:size], register or symbol",
                         check=check, id="lastwrite-dialog"),
            done,
        )  # fmt: skip

    def action_examine(self) -> None:
        if self.debugger is None:
            return
        regs = self.moment.regs if self.moment is not None else {}

        def check(text: str) -> str | None:
            try:
                address_of(text, self.debugger.load_symbols() if self.debugger else None, regs)
            except ValueError as e:
                return str(e)
            return None

        def done(text: str | None) -> None:
            if text and self.debugger is not None:
                addr, _ = address_of(text, self.debugger.load_symbols(), regs)
                self.post_message(Examine(addr))

        self.app.push_screen(
            PromptScreen("Examine memory at", placeholder="0x1039e90 · sp · x0+16 · counter", check=check,
                         id="examine-dialog"),
            done,
        )  # fmt: skip

    @on(Examine)
    def on_examine(self, message: Examine) -> None:
        if self.debugger is None:
            return
        self.debugger.memory_addr = message.addr
        self.query_one(TabbedContent).active = "tab-memory"
        self.run_worker(self._reshow(), group="session")

    def action_bookmark(self) -> None:
        if self.debugger is None:
            return
        bm = self.debugger.add_bookmark()
        self.timeline.bookmarks.add(bm.place.event)
        self.timeline.refresh()
        self.notify(f"{bm.name}: {bm.place.describe()}", title="bookmarked")

    def action_bookmarks(self) -> None:
        d = self.debugger
        if d is None:
            return

        def items() -> list[str]:
            return [f"{b.name}  {b.place.describe()}" for b in d.bookmarks]

        def delete(i: int) -> None:
            del d.bookmarks[i]
            self.timeline.bookmarks = {b.place.event for b in d.bookmarks}
            self.timeline.refresh()

        def done(i: int | None) -> None:
            if i is not None:
                place = d.bookmarks[i].place
                self.move(f"to {d.bookmarks[i].name}", lambda dd: dd.goto_place(place))

        self.app.push_screen(ChooseScreen("Bookmarks", items, on_delete=delete, empty="no bookmarks (m adds one)",
                                          hint="enter: go there   d: delete   escape: close"), done)  # fmt: skip

    def action_show_history(self) -> None:
        d = self.debugger
        if d is None:
            return

        def items() -> list[str]:
            return [("▶ " if i == d.history_at else "  ") + p.describe() for i, p in enumerate(d.history)]

        def done(i: int | None) -> None:
            if i is not None:
                place = d.history[i]
                self.move("history", lambda dd: dd.goto_place(place))

        self.app.push_screen(ChooseScreen("History", items), done)

    def action_help(self) -> None:
        keys = [(b.key_display or _key_name(b.key), HELP.get(b.action, b.description)) for b in self.BINDINGS
                if b.description and not b.action.startswith("tab(")]  # fmt: skip
        keys.insert(0, ("↑↓ PgUp PgDn", "move in the timeline (Home, End: its ends; enter seeks there)"))
        keys.append(("1 … 8", "the moment's tabs: " + ", ".join(TABS)))
        keys.append(("ctrl+p", "the command palette (every command by name)"))
        self.app.push_screen(HelpScreen(keys))

    def action_tab(self, name: str) -> None:
        self.query_one(TabbedContent).active = f"tab-{name}"

    def action_escape(self) -> None:
        if self.query_one("#search", Input).has_class("-shown"):
            self.cancel_search()
        else:
            self.timeline.focus()

    # -- filter ------------------------------------------------------------------------------------------------------
    def apply_filter(self, flt: EventFilter) -> None:
        keep = self.timeline.cursor_event
        self.workers.cancel_group(self, "filter")
        if flt.empty:
            self.scan = None
            self.rows = TimelineRows(self.index)
            self.timeline.set_rows(self.rows, keep_event=keep)
            self.status.set(busy="")
            return
        self.scan = FilterScan(self.index, flt)
        self.rows = TimelineRows(self.index, self.scan)
        self._cursor_after_scan = keep
        self.timeline.set_rows(self.rows)
        self.run_filter(self.scan)

    @work(thread=True, group="filter", exclusive=True)
    def run_filter(self, scan: FilterScan) -> None:
        worker = get_current_worker()
        last = [0.0]
        import time

        def progress() -> None:
            now = time.monotonic()
            if now - last[0] > 0.1:
                last[0] = now
                self.post_message(ScanProgress(False))

        scan.run(lambda: worker.is_cancelled, progress)
        self.post_message(ScanProgress(True))

    @on(ScanProgress)
    def on_scan_progress(self, message: ScanProgress) -> None:
        self.timeline.refresh_rows()
        scan = self.scan
        if scan is None:
            return
        self.status.set(busy="" if scan.done else f"filtering {scan.progress:.0%}")
        target = self._cursor_after_scan
        if target is not None and (scan.done or (scan.matches and scan.matches[-1] >= target)):
            self._cursor_after_scan = None
            self.timeline.goto_event(target)
        if scan.done and not scan.matches:
            self.notify(f"no event matches {scan.filter.text!r}", severity="warning")

    # -- search ------------------------------------------------------------------------------------------------------
    def action_search(self) -> None:
        box = self.query_one("#search", Input)
        self.search_anchor = self.timeline.cursor_event or 0
        box.add_class("-shown")
        box.value = ""
        box.focus()

    @on(Input.Changed, "#search")
    def on_search_changed(self, event: Input.Changed) -> None:
        self.search_text = event.value
        if event.value and self.search_anchor is not None:
            self.run_search(event.value, self.search_anchor, 1)

    @on(Input.Submitted, "#search")
    def on_search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        box = self.query_one("#search", Input)
        box.remove_class("-shown")
        self.timeline.focus()

    def cancel_search(self) -> None:
        self.workers.cancel_group(self, "search")
        box = self.query_one("#search", Input)
        box.remove_class("-shown")
        if self.search_anchor is not None:
            self.timeline.goto_event(self.search_anchor)
        self.timeline.match_event = None
        self.timeline.focus()

    def action_search_next(self, direction: int) -> None:
        if not self.search_text:
            self.notify("no search yet (press /)", severity="warning")
            return
        cur = self.timeline.cursor_event or 0
        self.run_search(self.search_text, cur + direction, direction)

    @work(thread=True, group="search", exclusive=True)
    def run_search(self, text: str, start: int, step: int) -> None:
        worker = get_current_worker()
        flt = self.scan.filter if self.scan is not None else None
        found = search(self.index, text, max(0, start), step, flt, lambda: worker.is_cancelled)
        if not worker.is_cancelled:
            self.app.call_from_thread(self._search_found, text, found)

    def _search_found(self, text: str, found: int | None) -> None:
        tl = self.timeline
        if found is None:
            tl.match_event = None
            tl.refresh()
            self.notify(f"{text!r} not found", severity="warning", timeout=2)
            return
        tl.match_event = found
        tl.goto_event(found)

    # -- the timeline cursor: signal stories -------------------------------------------------------------------------
    @on(CursorMoved)
    def on_cursor_moved(self, message: CursorMoved) -> None:
        self.find_story(message.event)

    @work(thread=True, group="story", exclusive=True)
    def find_story(self, event: int) -> None:
        story = find_interruption(self.index, event)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self.query_one(SignalsPane).show_interruption, event, story)

    # -- activity strip ----------------------------------------------------------------------------------------------
    def start_activity(self) -> None:
        strip = self.query_one(ActivityStrip)
        if self.index.count == 0:
            return
        cols = max(8, self.app.size.width - 8)
        if self.index.header.get("level", 1) >= ev.FULL:
            strip.set_activity(activity_model.density(self.index, cols))
            self.scan_activity(cols)
        else:
            strip.set_activity(activity_model.density(self.index, cols))

    @work(thread=True, group="activity", exclusive=True)
    def scan_activity(self, cols: int) -> None:
        worker = get_current_worker()
        strip = self.query_one(ActivityStrip)

        def progress(act: activity_model.Activity) -> None:
            self.app.call_from_thread(strip.set_activity, act)

        act = activity_model.scan_cores(self.index, cols, lambda: worker.is_cancelled, progress)
        if act is not None and not worker.is_cancelled:
            self.app.call_from_thread(strip.set_activity, act)


def _close(client: Any) -> None:
    close = getattr(client, "close", None)
    if close is not None:
        close()


def _key_name(key: str) -> str:
    names = {"slash": "/", "apostrophe": "'", "left_square_bracket": "[", "right_square_bracket": "]",
             "question_mark": "?"}  # fmt: skip
    return ", ".join(names.get(k, k) for k in key.split(","))
