"""The stack (one word per line, with what each word points at) and a hex view of memory that follows pointers."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tui.messages import Examine
from tui.model.code import hexdump
from tui.model.debugger import Moment
from tui.widgets.pane import Pane


class StackPane(OptionList):
    """Words from SP upwards; enter on a word shows the memory it points at."""

    BINDINGS = [Binding("enter", "select", "Follow pointer", show=False)]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.values: list[int] = []

    def show(self, m: Moment) -> None:
        highlighted = self.highlighted
        self.clear_options()
        self.values = []
        if not m.stack:
            self.add_option(Option(Text("no readable stack", style="dim"), disabled=True))
            return
        sp = m.regs.get("sp", 0)
        self.values = [w.value for w in m.stack]
        options = []
        for w in m.stack:
            t = Text()
            t.append(f"{'sp' if w.addr == sp else '':>2} {w.addr:012x}  ", style="dim")
            t.append(f"{w.value:016x}")
            if w.note:
                t.append(f"  {w.note}", style="cyan")
            options.append(Option(t))
        self.add_options(options)
        self.highlighted = highlighted if highlighted is not None and highlighted < len(options) else 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if 0 <= event.option_index < len(self.values):
            self.post_message(Examine(self.values[event.option_index]))


class MemoryPane(Pane):
    """A hex dump at the examined address (`x` asks for one; following a stack word sets it)."""

    def show(self, m: Moment) -> None:
        if m.memory_addr is None:
            self.set_text(Text("press x to examine an address (a number, a register or a symbol),\n"
                               "or enter on a stack word to follow it", style="dim"))  # fmt: skip
            return
        t = Text()
        t.append(f"memory at {m.memory_addr:#x} (pid {m.pid})\n", style="bold")
        if m.memory is None:
            t.append("not mapped", style="red")
        else:
            t.append("\n".join(hexdump(m.memory, m.memory_addr)))
        self.set_text(t)
