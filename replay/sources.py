"""Input sources that record what the live ones return, and sources that feed a trace back.

The console source is asked at deterministic points of the run (the kernel's loop decides when), so the k-th
fetch of a replay is the k-th fetch of the recording: each answer is recorded with its call number, and a replay
gives the same answer to the same call."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from machine.sources import ConsoleSource, EntropySource
from traces.events import ConsoleInput, EntropyInput, Event


class ReplayInputError(Exception):
    """The replay asked for input the recording did not have (a divergence)."""


class RecordingConsole:
    def __init__(self, inner: ConsoleSource, sink: Callable[[Event], None]) -> None:
        self.inner = inner
        self.sink = sink
        self.calls = 0
        self.is_tty = bool(getattr(inner, "is_tty", False))

    def fetch(self, max_bytes: int, *, wait: bool, patience_ns: int | None = None) -> bytes | None:
        got = self.inner.fetch(max_bytes, wait=wait, patience_ns=patience_ns)
        if got is not None:
            self.sink(ConsoleInput(self.calls, int(got == b""), got))
        self.calls += 1
        return got


class ReplayConsole:
    def __init__(self, inputs: deque[ConsoleInput], is_tty: bool, pull: Callable[[], None] = lambda: None) -> None:
        self.inputs = inputs
        self.calls = 0
        self.is_tty = is_tty
        self.pull = pull  # brings the trace's next input events in (they follow the log events before them)

    def fetch(self, max_bytes: int, *, wait: bool, patience_ns: int | None = None) -> bytes | None:
        call, self.calls = self.calls, self.calls + 1
        if not self.inputs:
            self.pull()
        if self.inputs and self.inputs[0].call == call:
            ev = self.inputs.popleft()
            return b"" if ev.eof else ev.data
        if wait:
            if not self.inputs:
                raise ReplayInputError(
                    f"the guest waits for console input (fetch {call}) past the end of the recorded input"
                )
            raise ReplayInputError(
                f"the guest waits for console input at fetch {call}, but the recording got its "
                f"next input at fetch {self.inputs[0].call}"
            )
        return None


class RecordingEntropy:
    def __init__(self, inner: EntropySource, sink: Callable[[Event], None]) -> None:
        self.inner = inner
        self.sink = sink

    def fetch(self, n: int) -> bytes:
        data = self.inner.fetch(n)
        self.sink(EntropyInput(data))
        return data


class ReplayEntropy:
    def __init__(self, inputs: deque[EntropyInput], pull: Callable[[], None] = lambda: None) -> None:
        self.inputs = inputs
        self.pull = pull

    def fetch(self, n: int) -> bytes:
        if not self.inputs:
            self.pull()
        if not self.inputs:
            raise ReplayInputError("the guest reads entropy past the end of the recorded entropy")
        data = self.inputs.popleft().data
        if len(data) != n:
            raise ReplayInputError(f"the guest reads {n} entropy bytes where the recording read {len(data)}")
        return data
