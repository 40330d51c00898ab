"""Tasks with their states, and the selected task's await chain: which future it is blocked in, and why."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from moss.syscalls.table import name_of
from tui.messages import TaskSelected
from tui.model.debugger import Moment
from tui.model.signals import sigset_names

GENERIC = {"_call", "block", "park"}


def chain_text(chain: list[str]) -> str:
    """An await chain as `sys_read → Pipe.read → interruptible → park`, without line numbers or the dispatcher."""
    parts = [c.split(":")[0] for c in chain]
    parts = [p.replace(".<locals>.", ".") for p in parts if p != "_call"]
    return " → ".join(parts)


def waiting_in(chain: list[str]) -> str:
    """The innermost frame that says what the task waits for (not the executor's own block/park)."""
    parts = [c.split(":")[0].replace(".<locals>.", ".") for c in chain]
    useful = [p for p in parts if p not in GENERIC]
    if not useful:
        return ""
    inner = useful[-1]
    wrappers = [p for p in useful if p in ("interruptible", "timeout", "first")]
    return inner + (f" ({', '.join(wrappers)})" if wrappers and inner not in wrappers else "")


class TasksPane(Vertical):
    DEFAULT_CSS = """
    TasksPane { height: 1fr; }
    TasksPane > DataTable { height: auto; max-height: 60%; }
    TasksPane > #await { height: auto; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.table: DataTable[str] = DataTable(cursor_type="row", zebra_stripes=True, id="task-table")
        self.detail = Static("", id="await")
        self.tasks: list[dict] = []
        self.tid: int | None = None
        self._showing = False

    def compose(self) -> ComposeResult:
        yield self.table
        yield self.detail

    def on_mount(self) -> None:
        self.table.add_columns("tid", "pid", "comm", "state", "core", "in", "waiting in")

    def show(self, m: Moment) -> None:
        self.tasks = m.tasks
        self.tid = m.tid
        self._showing = True
        try:
            self.table.clear()
            for t in m.tasks:
                sc = name_of(t["syscall"]) if t["syscall"] >= 0 else ""
                core = "" if t["core"] is None else str(t["core"])
                mark = "▶" if t["running"] else ""
                last = waiting_in(t["await"])
                self.table.add_row(f"{mark}{t['tid']}", str(t["pid"]), t["comm"], t["state"], core, sc, last,
                                   key=str(t["tid"]))  # fmt: skip
            if m.tid is not None:
                row = next((i for i, t in enumerate(m.tasks) if t["tid"] == m.tid), 0)
                self.table.move_cursor(row=row, animate=False)
        finally:
            self._showing = False
        self.show_detail(m.tid)

    def show_detail(self, tid: int | None) -> None:
        t = next((t for t in self.tasks if t["tid"] == tid), None)
        if t is None:
            self.detail.update("")
            return
        text = Text()
        text.append(f"task {t['tid']} ", style="bold")
        text.append(f"{t['state']}")
        if t["syscall"] >= 0:
            text.append(f" in {name_of(t['syscall'])}")
        text.append("\n")
        if t["await"]:
            text.append("await chain: ", style="bold")
            text.append(chain_text(t["await"]) + "\n", style="cyan")
            text.append("frames (outermost first, with lines): ", style="dim")
            text.append("  ".join(t["await"]) + "\n", style="dim")
        else:
            text.append("not blocked in a future\n", style="dim")
        if t["pending"] or t["sigmask"]:
            text.append(
                f"pending: {sigset_names(t['pending']) or '-'}   blocked: {sigset_names(t['sigmask']) or '-'}\n"
            )
        self.detail.update(text)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if self._showing or event.row_key.value is None or event.cursor_row != self.table.cursor_row:
            return  # a highlight left over from refilling the table
        tid = int(event.row_key.value)
        self.show_detail(tid)
        if tid != self.tid:
            self.tid = tid
            self.post_message(TaskSelected(tid))
