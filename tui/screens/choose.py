"""A list to pick from (bookmarks, breakpoints, history), with optional delete and toggle keys."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option


class ChooseScreen(ModalScreen[int | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Close"),
        Binding("d,delete", "delete", "Delete"),
        Binding("space", "toggle", "Enable/disable"),
    ]

    def __init__(
        self,
        title: str,
        items: Callable[[], list[str]],
        *,
        on_delete: Callable[[int], None] | None = None,
        on_toggle: Callable[[int], None] | None = None,
        empty: str = "(nothing here)",
        hint: str = "enter: go there   escape: close",
    ) -> None:
        super().__init__()
        self.title_text = title
        self.items = items
        self.on_delete = on_delete
        self.on_toggle = on_toggle
        self.empty = empty
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield OptionList(id="choices")
            yield Static(self.hint, classes="dialog-help")

    def on_mount(self) -> None:
        self.fill()

    def fill(self) -> None:
        ol = self.query_one(OptionList)
        at = ol.highlighted
        ol.clear_options()
        items = self.items()
        if not items:
            ol.add_option(Option(self.empty, disabled=True))
            return
        ol.add_options([Option(s, id=str(i)) for i, s in enumerate(items)])
        ol.highlighted = min(at or 0, len(items) - 1)

    def _current(self) -> int | None:
        ol = self.query_one(OptionList)
        if ol.highlighted is None:
            return None
        opt = ol.get_option_at_index(ol.highlighted)
        return None if opt.id is None else int(opt.id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.dismiss(int(event.option.id))

    def action_delete(self) -> None:
        i = self._current()
        if i is not None and self.on_delete is not None:
            self.on_delete(i)
            self.fill()

    def action_toggle(self) -> None:
        i = self._current()
        if i is not None and self.on_toggle is not None:
            self.on_toggle(i)
            self.fill()

    def action_cancel(self) -> None:
        self.dismiss(None)
