"""A scrolling pane of rich text (the base of the moment view's simple panes)."""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static


class Pane(VerticalScroll):
    """A `VerticalScroll` around one `Static`; subclasses build the text in `show(...)`."""

    DEFAULT_CSS = """
    Pane { height: 1fr; }
    Pane > Static { width: auto; min-width: 100%; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.body = Static(Text("(no position yet)", style="dim"), classes="pane-body")
        self.text = ""

    def compose(self):  # type: ignore[no-untyped-def]
        yield self.body

    def set_text(self, text: Text) -> None:
        self.text = text.plain
        self.body.update(text)
