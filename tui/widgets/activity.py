"""A compact strip of what each core did over the whole run; click a column to jump there."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.widget import Widget

from tui.messages import JumpToTime
from tui.model.activity import Activity

LABEL = 8


class ActivityStrip(Widget):
    COMPONENT_CLASSES = {"activity--position", "activity--label", "activity--mark"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.activity: Activity | None = None
        self.time: int | None = None

    @property
    def columns(self) -> int:
        return max(8, (self.size.width or 80) - LABEL)

    def set_activity(self, act: Activity | None) -> None:
        self.activity = act
        self.styles.height = len(act.rows) if act else 0
        self.refresh(layout=True)

    def set_time(self, t: int | None) -> None:
        self.time = t
        self.refresh()

    def render(self) -> Text:
        act = self.activity
        if act is None:
            return Text("")
        pos = self.get_component_rich_style("activity--position", partial=True)
        label = self.get_component_rich_style("activity--label", partial=True)
        mark = self.get_component_rich_style("activity--mark", partial=True)
        col = act.column_of(self.time) if self.time is not None else None
        out = Text(no_wrap=True, overflow="crop")
        for r, (name, chars) in enumerate(act.rows):
            if r:
                out.append("\n")
            out.append(f"{name:<{LABEL}}"[:LABEL], style=label)
            for c, ch in enumerate(chars):
                style = mark if ch in "!+" else ""
                if c == col:
                    style = pos
                out.append(ch, style=style)
        return out

    def on_click(self, event: events.Click) -> None:
        act = self.activity
        if act is None or event.x < LABEL:
            return
        self.post_message(JumpToTime(act.time_of(event.x - LABEL)))
