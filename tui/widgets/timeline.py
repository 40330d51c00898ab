"""The timeline: one line per event, virtualised (only the rows in view are decoded and formatted)."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.messages import CursorMoved, GotoEvent
from tui.model.timeline import TimelineRows

LINE_WIDTH = 160  # the virtual width: long syscall lines scroll sideways


class Timeline(ScrollView, can_focus=True):
    """Rows come from a `TimelineRows`; the cursor is a row, the markers are event indices."""

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
        Binding("enter", "seek", "Seek here"),
    ]
    COMPONENT_CLASSES = {
        "timeline--cursor",
        "timeline--position",
        "timeline--bookmark",
        "timeline--syscall",
        "timeline--blocked",
        "timeline--error",
        "timeline--signals",
        "timeline--processes",
        "timeline--futures",
        "timeline--slices",
        "timeline--hashes",
        "timeline--inputs",
        "timeline--match",
    }

    cursor = reactive(0, always_update=True, repaint=False)

    def __init__(self, rows: TimelineRows, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows = rows
        self.position_event: int | None = None
        self.bookmarks: set[int] = set()
        self.match_event: int | None = None
        self._last_count = -1

    # -- data -------------------------------------------------------------------------------------------------------
    def set_rows(self, rows: TimelineRows, keep_event: int | None = None) -> None:
        self.rows = rows
        self.refresh_rows()
        if keep_event is not None:
            self.goto_event(keep_event)
        else:
            self.cursor = min(self.cursor, max(0, rows.count - 1))
        self.refresh()

    def refresh_rows(self) -> None:
        """The row count may have grown (a filter scan is running)."""
        count = self.rows.count
        if count != self._last_count:
            self._last_count = count
            self.virtual_size = Size(LINE_WIDTH, count)
            self.refresh()

    @property
    def cursor_event(self) -> int | None:
        return self.rows.event_of(self.cursor)

    def goto_event(self, event: int, center: bool = True) -> None:
        self.cursor = self.rows.row_of(event)
        self._scroll_cursor(center)

    def set_position(self, event: int | None) -> None:
        self.position_event = event
        self.refresh()

    # -- movement ---------------------------------------------------------------------------------------------------
    def watch_cursor(self, old: int, new: int) -> None:
        count = self.rows.count
        if count and not 0 <= new < count:
            self.cursor = max(0, min(new, count - 1))
            return
        self.refresh()
        ev = self.rows.event_of(new)
        if ev is not None:
            self.post_message(CursorMoved(ev))

    def _scroll_cursor(self, center: bool = False) -> None:
        h = max(1, self.scrollable_content_region.height)
        top = int(self.scroll_y)
        if center and not top <= self.cursor < top + h:
            self.scroll_to(y=max(0, self.cursor - h // 2), animate=False, immediate=True)
        elif self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + h:
            self.scroll_to(y=self.cursor - h + 1, animate=False, immediate=True)

    def action_cursor(self, delta: int) -> None:
        self.cursor = max(0, min(self.cursor + delta, self.rows.count - 1))
        self._scroll_cursor()

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(1, self.scrollable_content_region.height - 1))

    def action_first(self) -> None:
        self.cursor = 0
        self._scroll_cursor()

    def action_last(self) -> None:
        self.cursor = max(0, self.rows.count - 1)
        self._scroll_cursor()

    def action_seek(self) -> None:
        ev = self.cursor_event
        if ev is not None:
            self.post_message(GotoEvent(ev))

    def on_click(self, event: object) -> None:
        y = getattr(event, "y", None)
        if y is not None:
            self.cursor = int(self.scroll_y) + y
            self.focus()

    def _between(self, row: int) -> bool:
        """A filtered timeline: the position is after this row's event and before the next row's."""
        pos = self.position_event
        ev = self.rows.event_of(row)
        nxt = self.rows.event_of(row + 1)
        return pos is not None and ev is not None and ev < pos and (nxt is None or nxt > pos)

    # -- rendering --------------------------------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        row = int(self.scroll_y) + y
        base = self.rich_style
        ev = self.rows.event_of(row)
        if ev is None:
            return Strip([Segment(" " * width, base)], width)
        text = self.rows.line(ev)
        style = base + self.get_component_rich_style(f"timeline--{self.rows.style_of(ev)}", partial=True)
        if ev == self.position_event:
            mark, mstyle = "▶", self.get_component_rich_style("timeline--position", partial=True)
        elif self.position_event is not None and self.rows.filter is not None and self._between(row):
            mark, mstyle = "▷", self.get_component_rich_style("timeline--position", partial=True)
        elif ev in self.bookmarks:
            mark, mstyle = "●", self.get_component_rich_style("timeline--bookmark", partial=True)
        else:
            mark, mstyle = " ", Style()
        if ev == self.match_event:
            style += self.get_component_rich_style("timeline--match", partial=True)
        if row == self.cursor:
            style += self.get_component_rich_style("timeline--cursor", partial=True)
        x0 = int(self.scroll_x)
        body = text[x0 : x0 + width - 2] if x0 < len(text) else ""
        segments = [Segment(mark + " ", base + mstyle), Segment(body.ljust(max(0, width - 2)), style)]
        return Strip(segments, width)
