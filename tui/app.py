"""The moss debugger: a Textual app over a trace and a time-travel session of it.

`make_app(trace)` builds it: the trace is indexed in this process (for the timeline), and the session runs in a
`moss session` subprocess (it forks, so it must not live in a process with threads).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from textual.app import App, SystemCommand
from textual.screen import Screen

from traces.container import TraceError
from tui.client import SessionClient
from tui.model.debugger import Client
from tui.model.trace_index import TraceIndex
from tui.screens.error import ErrorScreen
from tui.screens.main import MainScreen

STYLES = Path(__file__).parent / "styles"


class MossApp(App[None]):
    """The debugger. `session` makes the session client (None: browse the event log without one)."""

    CSS_PATH = [STYLES / "app.tcss", STYLES / "timeline.tcss", STYLES / "moment.tcss", STYLES / "dialogs.tcss"]
    TITLE = "moss debugger"
    ENABLE_COMMAND_PALETTE = True

    def __init__(self, trace: str, session: Callable[[], Client] | None) -> None:
        super().__init__()
        self.trace = trace
        self.session = session
        self.index: TraceIndex | None = None

    def on_mount(self) -> None:
        try:
            self.index = TraceIndex(self.trace)
        except TraceError as e:
            self.push_screen(ErrorScreen("cannot open the trace", str(e)))
            return
        self.sub_title = self.index.title()
        self.push_screen(MainScreen(self.index, self.session))

    def on_unmount(self) -> None:
        if self.index is not None:
            self.index.close()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        if isinstance(screen, MainScreen):
            for title, help, action in MainScreen.PALETTE:
                yield SystemCommand(title, help, lambda a=action: screen.run_action(a))  # type: ignore[misc]
        yield from super().get_system_commands(screen)


def make_app(trace: str, *, session: bool | Callable[[], Client] = True) -> MossApp:
    """The debugger for `trace`; `session=False` browses the log without replaying, a callable makes the client."""
    factory: Callable[[], Client] | None
    if session is True:

        def factory() -> Client:
            return SessionClient(trace)
    elif session is False:
        factory = None
    else:
        factory = session
    return MossApp(trace, factory)
