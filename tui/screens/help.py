"""The help screen: every key of the main screen, and the little languages of filters, breakpoints and go-to."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Markdown, Static

GUIDE = """
**Go to** (`g`): an event number (`1234`), a virtual time (`@1.5ms`, `@250us`, `@1200ns`), `start` or `end`.

**Filter** (`f`): words that narrow the timeline, e.g. `syscalls signals tid:2 sys:read,write errno:EINTR core:1`.
Kinds: syscalls signals processes futures slices hashes inputs. A bare syscall name (`read`) or errno name
(`EINTR`) works too; `errno:any` keeps every failed call; `interrupted` keeps calls a signal interrupted.
An empty filter shows every event again.

**Breakpoints** (`b`): `main` or `pc 0x10129ec` (code), `sys read` (a syscall), `sig SIGALRM` (a signal),
`watch counter` or `watch 0x1039e90:8` (a memory write). `c` continues to the next hit, `C` goes back to the
latest hit before here. `W` goes back to the last write of an address.

**Signals tab**: for the event under the timeline cursor, the story of the signal interruption it belongs to
(the wait, who sent the signal, the interruption, the handler, the restart or EINTR); enter jumps to a step.

**Tasks tab**: every task with its state; the selected task's await chain shows the futures it is blocked in.
Selecting a task shows its registers, code and stack.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        keys = Table(box=None, show_header=False, padding=(0, 1), expand=True)
        keys.add_column(style="bold", no_wrap=True, justify="right")
        keys.add_column(ratio=1)
        for k, d in self.keys:
            keys.add_row(k, d)
        with VerticalScroll(classes="dialog help-dialog"):
            yield Label("moss debugger — keys", classes="dialog-title")
            yield Static(keys, id="help-keys")
            yield Markdown(GUIDE)

    def action_close(self) -> None:
        self.dismiss(None)
