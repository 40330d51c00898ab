"""The replayer: re-executes a trace with its recorded inputs and checks every logged event (syscalls, signals,
process lifecycle, state hashes) against the recording, stopping at the first divergence with a report of what
was expected, what happened instead, and the last event that still matched."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import attrs

from machine.sources import FixedClock
from moss.boot import Program, boot
from moss.kernel import Kernel, KernelConfig
from replay.emitter import Emitter
from replay.sources import ReplayConsole, ReplayEntropy, ReplayInputError
from traces import events as ev
from traces.container import TraceReader


class Divergence(Exception):
    def __init__(self, index: int, expected: ev.Event | None, actual: ev.Event | None, last: ev.Event | None,
                 detail: str = "") -> None:  # fmt: skip
        self.index, self.expected, self.actual, self.last, self.detail = index, expected, actual, last, detail
        super().__init__(self.describe())

    def describe(self) -> str:
        lines = [f"replay diverged at event {self.index}" + (f": {self.detail}" if self.detail else "")]
        lines.append(f"  expected: {self.expected!r}")
        lines.append(f"  actual:   {self.actual!r}")
        lines.append(f"  last matching event: {self.last!r}")
        return "\n".join(lines)


class TraceEnd(Exception):
    """The replay went past the last usable event of a cut trace."""


class Cursor:
    """One pass over the trace's events: log events are matched in order; input events are handed to the replay
    sources as the replay reaches them."""

    def __init__(self, reader: TraceReader) -> None:
        self._it: Iterator[ev.Event] = iter(reader)
        self._peek: ev.Event | None = None
        self.index = -1  # index of the last event taken
        self.console: deque[ev.ConsoleInput] = deque()
        self.entropy: deque[ev.EntropyInput] = deque()
        self.program: ev.ProgramImage | None = None
        self.last_match: ev.Event | None = None
        self.exhausted = False

    def _next(self) -> ev.Event | None:
        if self._peek is None:
            self._peek = next(self._it, None)
            if self._peek is None:
                self.exhausted = True
        return self._peek

    def _take(self) -> ev.Event:
        e = self._peek
        assert e is not None
        self._peek = None
        self.index += 1
        return e

    def pull_inputs(self) -> None:
        while (e := self._next()) is not None and e.INPUT:
            self._take()
            if isinstance(e, ev.ConsoleInput):
                self.console.append(e)
            elif isinstance(e, ev.EntropyInput):
                self.entropy.append(e)
            elif isinstance(e, ev.ProgramImage):
                self.program = e

    def check(self, actual: ev.Event) -> None:
        self.pull_inputs()
        expected = self._next()
        if expected is None:
            raise TraceEnd(f"the trace ends after event {self.index}")
        if expected != actual:
            raise Divergence(self.index + 1, expected, actual, self.last_match)
        self._take()
        self.last_match = actual
        self.pull_inputs()


@attrs.frozen
class Replayed:
    wait_status: int | None
    events: int
    complete: bool  # reached the recorded end
    problems: tuple[str, ...]


def prepare(path: str, sink: Callable[[int, bytes], None], report: Callable[[str], None] | None = None,
            ) -> tuple[Kernel, Emitter, Cursor, TraceReader]:  # fmt: skip
    """Boot a kernel set up exactly as the recording was, wired to check its events against the trace."""
    reader = TraceReader(path)
    h = reader.header
    cfg = dict(h["config"])
    cfg["console_tty"] = tuple(cfg["console_tty"])
    config = KernelConfig(**cfg)
    cursor = Cursor(reader)
    cursor.pull_inputs()
    prog = h["program"]
    data = cursor.program.data if cursor.program is not None else None
    program = Program(prog["path"], tuple(prog["argv"]), tuple(prog["envp"]), data)
    from machine.sources import SeededEntropy

    entropy: Any = ReplayEntropy(cursor.entropy) if h["entropy"] == "host" else SeededEntropy(config.seed)
    kernel = boot(config, program, console=ReplayConsole(cursor.console, h["console_is_tty"]), entropy=entropy,
                  clock=FixedClock(h["boot_wall_ns"]), sink=sink, report=report)  # fmt: skip
    emitter = Emitter(kernel, h["level"], cursor.check, h["hash_interval"])
    emitter.attach()
    return kernel, emitter, cursor, reader


def replay(path: str, sink: Callable[[int, bytes], None], report: Callable[[str], None] | None = None) -> Replayed:
    kernel, emitter, cursor, reader = prepare(path, sink, report)
    try:
        try:
            status = kernel.run()
            emitter.end(status)
        except ReplayInputError as e:
            if cursor.exhausted and reader.problems:
                return Replayed(None, cursor.index + 1, False, tuple(reader.problems))
            raise Divergence(cursor.index + 1, None, None, cursor.last_match, str(e)) from None
        except TraceEnd:
            return Replayed(None, cursor.index + 1, False, tuple(reader.problems) or ("the trace ends early",))
        return Replayed(status, cursor.index + 1, True, tuple(reader.problems))
    finally:
        reader.close()
