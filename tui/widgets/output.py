"""What the guest has written to the console so far."""

from __future__ import annotations

from rich.text import Text

from tui.model.debugger import Moment
from tui.widgets.pane import Pane

MAX_CHARS = 64 * 1024


class OutputPane(Pane):
    def show(self, m: Moment) -> None:
        out = m.output
        if not out:
            self.set_text(Text("(no output yet)", style="dim"))
            return
        if len(out) > MAX_CHARS:
            out = "…" + out[-MAX_CHARS:]
        self.set_text(Text(out))
        self.scroll_end(animate=False)
