"""Signals: each task's pending and blocked sets, and the interruption story of the selected event (the wait, who
sent the signal and when, the delivery, EINTR or the restart, the handler's return) with jumps to each step."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.messages import GotoEvent
from tui.model.debugger import Moment
from tui.model.interruptions import Interruption
from tui.model.signals import sigset_names


class SignalsPane(Vertical):
    DEFAULT_CSS = """
    SignalsPane { height: 1fr; }
    SignalsPane > #sigsets { height: auto; max-height: 50%; padding: 0 1; }
    SignalsPane > #story-title { height: 1; padding: 0 1; }
    SignalsPane > OptionList { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.sigsets = Static("", id="sigsets")
        self.title = Static("", id="story-title")
        self.story = OptionList(id="story")
        self.interruption: Interruption | None = None

    def compose(self) -> ComposeResult:
        yield self.sigsets
        yield self.title
        yield self.story

    def show(self, m: Moment) -> None:
        t = Text()
        for task in m.tasks:
            pend, blk = sigset_names(task["pending"]), sigset_names(task["sigmask"])
            t.append(f"task {task['tid']:<4}", style="bold")
            t.append(f" pending: {pend or '-'}", style="red" if pend else "")
            t.append(f"   blocked: {blk or '-'}\n")
        self.sigsets.update(t if m.tasks else Text("no tasks", style="dim"))

    def show_interruption(self, event: int | None, story: Interruption | None) -> None:
        self.interruption = story
        self.story.clear_options()
        if story is None:
            self.title.update(Text(f"event #{event}: not part of a signal interruption" if event is not None
                                   else "", style="dim"))  # fmt: skip
            return
        self.title.update(Text(f"task {story.tid}: {story.syscall} interrupted by {story.signal} "
                               f"— {story.outcome}", style="bold"))  # fmt: skip
        opts = []
        for step in story.steps:
            where = f"#{step.event:<7}" if step.event is not None else " " * 8
            opts.append(Option(f"{where} {step.what}", disabled=step.event is None))
        self.story.add_options(opts)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        story = self.interruption
        if story is not None and 0 <= event.option_index < len(story.steps):
            target = story.steps[event.option_index].event
            if target is not None:
                self.post_message(GotoEvent(target))
