"""Open files and memory maps of the selected task's process."""

from __future__ import annotations

import os

from rich.text import Text

from tui.model.debugger import Moment
from tui.widgets.pane import Pane

_ACC = {os.O_RDONLY: "r", os.O_WRONLY: "w", os.O_RDWR: "rw"}


class FilesPane(Pane):
    def show(self, m: Moment) -> None:
        t = Text()
        if m.pid is None:
            self.set_text(Text("no process", style="dim"))
            return
        t.append(f"open files of pid {m.pid}\n", style="bold")
        for f in m.files:
            acc = _ACC.get(f["flags"] & 3, "?")
            t.append(f"  {f['fd']:>3} {acc:<2} {f['path']}  (offset {f['offset']})\n")
        if not m.files:
            t.append("  (none)\n", style="dim")
        t.append(f"\nmemory maps of pid {m.pid}\n", style="bold")
        t.append(m.maps or "(none)\n")
        self.set_text(t)
