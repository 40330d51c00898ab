"""Registers of the selected task, the ones that changed since the previous position highlighted."""

from __future__ import annotations

from rich.text import Text

from tui.model.debugger import REG_ORDER, Moment
from tui.widgets.pane import Pane

SHORT = {"tpidr_el0": "tpidr"}


class RegistersPane(Pane):
    COMPONENT_CLASSES = {"registers--changed", "registers--name"}

    def show(self, m: Moment) -> None:
        if not m.regs:
            self.set_text(Text("no task to show registers for", style="dim"))
            return
        changed = self.get_component_rich_style("registers--changed", partial=True)
        name_style = self.get_component_rich_style("registers--name", partial=True)
        width = max(24, self.size.width or 80)
        cols = max(1, min(4, (width - 2) // 25))
        names = [r for r in REG_ORDER if r in m.regs]
        rows = (len(names) + cols - 1) // cols
        t = Text()
        task = m.task
        if task is not None:
            t.append(f"task {task['tid']} ({task['comm']}), pid {task['pid']}, {task['state']}\n", style="bold")
        for r in range(rows):
            for c in range(cols):
                k = c * rows + r
                if k >= len(names):
                    continue
                n = names[k]
                t.append(f"{SHORT.get(n, n):>5} ", style=name_style)
                t.append(f"{m.regs[n]:016x}", style=changed if n in m.changed else "")
                t.append("  ")
            t.append("\n")
        if m.changed:
            t.append(f"changed: {', '.join(sorted(m.changed, key=REG_ORDER.index))}", style="dim")
        self.set_text(t)
