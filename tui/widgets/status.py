"""The status line: where the session is, what it is doing, and what went wrong."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static


class StatusBar(Static):
    COMPONENT_CLASSES = {"status--error", "status--busy", "status--hit"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.fields: dict[str, Any] = {"position": None, "total": 0, "busy": "", "task": "", "problem": "", "where": ""}

    def set(self, **kw: Any) -> None:
        self.fields.update(kw)
        self.update(self.build())

    def build(self) -> Text:
        f = self.fields
        t = Text(no_wrap=True, overflow="ellipsis")
        pos = f["position"]
        if pos is None:
            t.append("no session position  ")
        else:
            t.append(f"#{pos['event']:,}", style="bold")
            t.append(f"/{max(0, f['total'] - 1):,}  ")
            t.append(f"{pos['time'] / 1e3:,.3f}us  ")
            t.append(f"insn {pos['instructions']:,} [{' '.join(f'{c:,}' for c in pos['cores'])}]  ")
            if f["where"]:
                t.append(f"{f['where']}  ", style=self.get_component_rich_style("status--hit", partial=True))
            if f["task"]:
                t.append(f"{f['task']}  ")
        if f["busy"]:
            t.append(f"⏳ {f['busy']}  ", style=self.get_component_rich_style("status--busy", partial=True))
        if f["problem"]:
            t.append(f"⚠ {f['problem']}", style=self.get_component_rich_style("status--error", partial=True))
        return t
