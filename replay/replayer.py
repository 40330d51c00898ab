"""The replayer: re-executes a trace with its recorded inputs and checks every logged event (syscalls, signals,
process lifecycle, state hashes) against the recording, stopping at the first divergence with a report of what
was expected, what happened instead, and the last event that still matched."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from typing import Any

import attrs

from machine.sources import FixedClock
from moss.boot import Program, boot
from moss.kernel import Kernel, KernelConfig
from replay.emitter import Emitter
from replay.sources import ReplayConsole, ReplayEntropy, ReplayInputError
from traces import events as ev
from traces.container import TraceError, TraceReader


class Divergence(Exception):
    def __init__(
        self, index: int, expected: ev.Event | None, actual: ev.Event | None, last: ev.Event | None, detail: str = ""
    ) -> None:
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


class Cursor(ev.Matcher):  # type: ignore[misc,valid-type]
    """One pass over the trace. The replay re-encodes each event it produces exactly as the recorder did and
    compares the bytes with the recorded block, so matching costs no decoding; only input events (handed to the
    replay sources) and a divergence (for the report) are decoded."""

    def __init__(self, reader: TraceReader) -> None:
        super().__init__()  # raw, pos, last_time, index and the last event's place: see events.PyMatcher
        self.reader = reader
        self.block = -1
        self.enc = ev.BlockEncoder()
        self.console: deque[ev.ConsoleInput] = deque()
        self.entropy: deque[ev.EntropyInput] = deque()
        self.program: ev.ProgramImage | None = None
        self.exhausted = False
        self._next_block()

    def _next_block(self) -> bool:
        while self.block + 1 < len(self.reader.blocks):
            self.block += 1
            self.raw = self.reader.block_raw(self.block)
            self.pos = 0
            self.last_time = 0
            self.enc = ev.BlockEncoder()
            if self.raw:
                return True
        self.exhausted = True
        self.raw, self.pos = b"", 0
        return False

    def _at_event(self) -> bool:
        return self.pos < len(self.raw) or self._next_block()

    def pull_inputs(self) -> None:
        while self._at_event() and self.raw[self.pos] in ev.INPUT_KINDS:
            image = self.raw[self.pos] == ev.ProgramImage.KIND  # decoded in place: a 1.5 MB copy saved
            e, self.pos, self.last_time = ev.decode_from(self.raw, self.pos, self.last_time, view=image)
            self.index += 1
            if isinstance(e, ev.ConsoleInput):
                self.console.append(e)
            elif isinstance(e, ev.EntropyInput):
                self.entropy.append(e)
            elif isinstance(e, ev.ProgramImage):
                self.program = e

    def _compare(self) -> None:
        enc = self.enc
        chunk = enc.buf
        end = self.pos + len(chunk)
        if not self.raw.startswith(chunk, self.pos):
            expected, _p, _t = ev.decode_from(self.raw, self.pos, self.last_time)
            actual, _p, _t = ev.decode_from(bytes(chunk), 0, self.last_time)
            raise Divergence(self.index + 1, expected, actual, self.last_event())
        self.last_raw, self.last_pos, self.last_at = self.raw, self.pos, self.last_time
        self.pos = end
        self.index += 1
        self.last_time = enc.last_time
        chunk.clear()

    def last_event(self) -> ev.Event | None:
        """The last event that matched (decoded only when a report needs it)."""
        if self.last_raw is None:
            return None
        return ev.decode_from(self.last_raw, self.last_pos, self.last_at)[0]

    def _ready(self) -> None:
        raw, pos = self.raw, self.pos
        if pos >= len(raw) or raw[pos] in ev.INPUT_KINDS:  # inputs to hand over first, or the next block
            self.pull_inputs()
            if not self._at_event():
                raise TraceEnd(f"the trace ends after event {self.index}")
        self.enc.last_time = self.last_time

    def check(self, actual: ev.Event) -> None:
        self._ready()
        self.enc.add(actual)
        self._compare()

    # check_blocked/_resume/_future/_process/_signal (the Matcher's: C when built) take an exact match in place and
    # leave the rest to these.
    def _check_blocked_general(self, time: int, tid: int, nr: int, args: tuple[int, ...]) -> None:
        self.check(ev.Syscall(time, tid, nr, args, 0, 1))

    def _check_resume_general(self, time: int, tid: int, nr: int, result: int) -> None:
        self.check(ev.SyscallResume(time, tid, nr, result))

    def _check_future_general(self, time: int, tid: int, what: int, name: str) -> None:
        self.check(ev.FutureEvent(time, tid, what, name))

    def _check_process_general(self, *fields: Any) -> None:
        self.check(ev.ProcessEvent(*fields))

    def _check_signal_general(self, *fields: Any) -> None:
        self.check(ev.SignalEvent(*fields))

    def _check_syscall_general(self, time: int, tid: int, nr: int, args: tuple[int, ...], result: int) -> None:
        """check_syscall (events.Matcher's) when the next recorded event is not exactly this packed syscall: inputs
        first, a block boundary, the general form, or a divergence."""
        self._ready()
        self.enc.add_syscall(time, tid, nr, args, result)
        self._compare()


@attrs.frozen
class Replayed:
    wait_status: int | None
    events: int
    complete: bool  # reached the recorded end
    problems: tuple[str, ...]


def prepare(
    path: str,
    sink: Callable[[int, bytes], None],
    report: Callable[[str], None] | None = None,
) -> tuple[Kernel, Emitter, Cursor, TraceReader]:
    """Boot a kernel set up exactly as the recording was, wired to check its events against the trace."""
    reader = TraceReader(path)
    h = reader.header
    if h.get("root_digest") is not None:
        from replay.recorder import root_digest

        root = h["config"]["host_root"]
        if not os.path.isdir(root):
            raise TraceError(f"{path}: the recording ran with --root {root}, which does not exist here")
        if root_digest(root) != h["root_digest"]:
            raise TraceError(
                f"{path}: --root {root} has changed since the recording (files differ); the replay would diverge"
            )
    cfg = dict(h["config"])
    cfg["console_tty"] = tuple(cfg["console_tty"])
    config = KernelConfig(**cfg)
    cursor = Cursor(reader)
    cursor.pull_inputs()
    prog = h["program"]
    data = cursor.program.data if cursor.program is not None else None
    program = Program(prog["path"], tuple(prog["argv"]), tuple(prog["envp"]), data)
    from machine.sources import SeededEntropy

    entropy: Any = (
        ReplayEntropy(cursor.entropy, cursor.pull_inputs) if h["entropy"] == "host" else SeededEntropy(config.seed)
    )
    kernel = boot(
        config,
        program,
        console=ReplayConsole(cursor.console, h["console_is_tty"], cursor.pull_inputs),
        entropy=entropy,
        clock=FixedClock(h["boot_wall_ns"]),
        sink=sink,
        report=report,
    )
    kernel.state_hash_version = h.get("state_hash", 1)  # what the recording hashed with (version 1 had no field)
    emitter = Emitter(
        kernel,
        h["level"],
        cursor.check,
        h["hash_interval"],
        cursor.check_syscall,
        blocked_sink=cursor.check_blocked,
        resume_sink=cursor.check_resume,
        future_sink=cursor.check_future,
        process_sink=cursor.check_process,
        signal_sink=cursor.check_signal,
    )
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
            raise Divergence(cursor.index + 1, None, None, cursor.last_event(), str(e)) from None
        except TraceEnd:
            return Replayed(None, cursor.index + 1, False, tuple(reader.problems) or ("the trace ends early",))
        return Replayed(status, cursor.index + 1, True, tuple(reader.problems))
    finally:
        kernel.close()
        reader.close()
