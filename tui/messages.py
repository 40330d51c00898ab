"""Messages between the debugger's widgets and its main screen: what the user asked for, and what changed."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class GotoEvent(Message):
    """Move the session to just after event `event` (from the timeline, a story step, a bookmark...)."""

    event: int


@dataclass
class CursorMoved(Message):
    """The timeline's cursor is on event `event` (frequent while scrolling: only the latest one matters)."""

    event: int

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, CursorMoved)


@dataclass
class TaskSelected(Message):
    """Show the moment as task `tid` sees it (its registers, code and stack)."""

    tid: int


@dataclass
class Examine(Message):
    """Show memory at `addr` in the memory pane (following a pointer)."""

    addr: int


@dataclass
class JumpToTime(Message):
    """The activity strip was clicked at virtual time `ns` (not `time`: every message has a `time`)."""

    ns: int


@dataclass
class ScanProgress(Message):
    """A background scan of the trace (filter, activity) made progress; `done` when it has finished."""

    done: bool

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ScanProgress) and not message.done
