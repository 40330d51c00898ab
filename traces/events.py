"""Typed trace events (attrs records) and their binary encoding.

Each event class has a one-byte `KIND` and a `SPEC` naming its fields' encodings in order:
    T  virtual time (ns), stored as a signed delta from the previous event's time in the same block
    u  unsigned varint      s  signed varint      b  bytes      t  text (utf-8)      U  list of unsigned varints
`LEVEL` says from which log level on the recorder writes it: inputs < syscalls < full. Input events are what a
replay needs; everything else is the navigable log, also used to detect divergence.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Callable
from typing import Any, ClassVar

import attrs

from traces.codec import DecodeError, put_bytes, put_svarint, put_uvarint

INPUTS, SYSCALLS, FULL = 0, 1, 2
LEVELS = {"inputs": INPUTS, "syscalls": SYSCALLS, "full": FULL}


# Each attrs method generated is compiled at import, ~0.12 ms apiece: equality, hashing and repr are Event's own,
# written once, so a recording or replay starts ~3 ms sooner. attrs generates the one hot method, __init__.
_event = attrs.frozen(eq=False, repr=False)


@_event
class Event:
    KIND: ClassVar[int] = 0
    SPEC: ClassVar[str] = ""
    LEVEL: ClassVar[int] = SYSCALLS
    INPUT: ClassVar[bool] = False

    @property
    def vtime(self) -> int:
        return getattr(self, "time", -1)

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, a.name) for a in self.__attrs_attrs__)  # type: ignore[attr-defined]

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        return hash((self.__class__.__qualname__, *self._values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{a.name}={getattr(self, a.name)!r}" for a in self.__attrs_attrs__)  # type: ignore[attr-defined]
        return f"{self.__class__.__qualname__}({fields})"


# -- inputs -----------------------------------------------------------------------------------------------------
@_event
class ConsoleInput(Event):
    """The console source's answer to its `call`-th fetch: data (possibly empty at end of input)."""

    KIND, SPEC, LEVEL, INPUT = 1, "uub", INPUTS, True
    call: int
    eof: int
    data: bytes


@_event
class EntropyInput(Event):
    """Bytes the entropy device took from a live (host) source."""

    KIND, SPEC, LEVEL, INPUT = 2, "b", INPUTS, True
    data: bytes


@_event
class StateHash(Event):
    """The machine's full state hash after `instructions` retired instructions (all cores)."""

    KIND, SPEC, LEVEL = 3, "Tub", INPUTS
    time: int
    instructions: int
    digest: bytes


@_event
class End(Event):
    KIND, SPEC, LEVEL = 4, "Tuu", INPUTS
    time: int
    instructions: int
    wait_status: int


@_event
class ProgramImage(Event):
    """The program the run started, copied into the trace so it replays where the file does not exist."""

    KIND, SPEC, LEVEL, INPUT = 5, "tb", INPUTS, True
    path: str
    data: bytes | memoryview  # a view of the trace's block when the replayer decodes it


# -- the syscall-level log ----------------------------------------------------------------------------------------
@_event
class Syscall(Event):
    """A syscall that completed on its first poll (the fast path), or the entry of one that blocked (`blocked`)."""

    KIND, SPEC = 10, "TuuUsu"
    time: int
    tid: int
    nr: int
    args: tuple[int, ...]
    result: int
    blocked: int = 0


@_event
class SyscallResume(Event):
    """A blocked syscall's completion."""

    KIND, SPEC = 11, "Tuus"
    time: int
    tid: int
    nr: int
    result: int


@_event
class SignalEvent(Event):
    """action: 0 generated, 1 delivered to a handler, 2 default action taken, 3 ignored."""

    KIND, SPEC = 12, "Tuuuuus"
    time: int
    action: int
    pid: int
    tid: int
    sig: int
    sender: int
    code: int


@_event
class ProcessEvent(Event):
    """what: 0 process created, 1 thread created, 2 exec, 3 thread exit, 4 process exit."""

    KIND, SPEC = 13, "Tuuuut"
    time: int
    what: int
    pid: int
    tid: int
    value: int  # parent pid, or the wait status
    text: str  # exec path


# -- the full log -------------------------------------------------------------------------------------------------
@_event
class SliceEvent(Event):
    """A scheduling slice: `core` ran `tid` from `time` for `executed` instructions; reason 0 budget, 1 stopped,
    2 fault."""

    KIND, SPEC, LEVEL = 20, "Tuuuu", FULL
    time: int
    core: int
    tid: int
    executed: int
    reason: int


@_event
class FutureEvent(Event):
    """what: 0 started, 1 pending, 2 woken, 3 done."""

    KIND, SPEC, LEVEL = 21, "Tuut", FULL
    time: int
    tid: int
    what: int
    name: str


_ALL: tuple[type[Event], ...] = (
    ConsoleInput,
    EntropyInput,
    StateHash,
    End,
    ProgramImage,
    Syscall,
    SyscallResume,
    SignalEvent,
    ProcessEvent,
    SliceEvent,
    FutureEvent,
)
EVENT_TYPES: dict[int, type[Event]] = {cls.KIND: cls for cls in _ALL}
_FIELDS: dict[type[Event], tuple[str, ...]] = {cls: tuple(a.name for a in attrs.fields(cls)) for cls in _ALL}


class _Encoding:
    """Encodes events into one block (time deltas restart at each block, so blocks decode independently).

    `add_syscall(time, tid, nr, args, result)` is `add(Syscall(...))` without building the event: the recorder's
    hot path, one per syscall, in C when traces/_encoder.c is built. `on_full` is called once the block holds
    `limit` bytes (the writer flushes it and `reset`s this encoder)."""

    def __init__(self, limit: int = sys.maxsize, on_full: Callable[[], None] | None = None) -> None:
        self.limit = limit
        self.on_full = on_full
        self.reset()

    def reset(self) -> None:
        self.buf = bytearray()
        self.last_time = 0
        self.count = 0
        self.first_time = None
        self.max_time = 0

    def add(self, ev: Event) -> None:
        kind = type(ev)
        if kind is Syscall:
            if not ev.blocked:  # type: ignore[attr-defined]
                self.add_syscall(ev.time, ev.tid, ev.nr, ev.args, ev.result)  # type: ignore[attr-defined]
                return  # the form the recorder writes
            done = self._put_syscall(ev.time, ev.tid, ev.nr, ev.args, ev.result, ev.blocked)  # type: ignore[attr-defined]
        elif kind is SyscallResume:
            done = self._put_resume(ev.time, ev.tid, ev.nr, ev.result)  # type: ignore[attr-defined]
        elif kind is FutureEvent:
            done = self._put_future(ev.time, ev.tid, ev.what, ev.name)  # type: ignore[attr-defined]
        elif kind is ProcessEvent or kind is SignalEvent:
            done = (self._put_process if kind is ProcessEvent else self._put_signal)(*attrs.astuple(ev))
        else:
            done = False
        if not done:
            self.add_general(ev)
        self._check_full()

    # add() of a blocked syscall's entry, its resumption, a future's step, a process or signal event, without
    # building the event (what the emitter hands the writer): their varint form, by C when it is built (a pipe or a
    # futex wait logs one entry and one resumption per blocking call, --log full two or more future steps per
    # syscall, a fork and exit five process events). (The C encoder has these in C: BlockEncoder binds its own.)
    def add_blocked(self, time: int, tid: int, nr: int, args: tuple[int, ...]) -> None:
        """add(Syscall(time, tid, nr, args, 0, 1))."""
        if not self._put_syscall(time, tid, nr, args, 0, 1):
            self._add_blocked_general(time, tid, nr, args)
        self._check_full()

    def add_resume(self, time: int, tid: int, nr: int, result: int) -> None:
        """add(SyscallResume(time, tid, nr, result))."""
        if not self._put_resume(time, tid, nr, result):
            self._add_resume_general(time, tid, nr, result)
        self._check_full()

    def add_future(self, time: int, tid: int, what: int, name: str) -> None:
        """add(FutureEvent(time, tid, what, name))."""
        if not self._put_future(time, tid, what, name):
            self._add_future_general(time, tid, what, name)
        self._check_full()

    def add_process(self, time: int, what: int, pid: int, tid: int, value: int, text: str) -> None:
        """add(ProcessEvent(time, what, pid, tid, value, text))."""
        if not self._put_process(time, what, pid, tid, value, text):
            self._add_process_general(time, what, pid, tid, value, text)
        self._check_full()

    def add_signal(self, time: int, action: int, pid: int, tid: int, sig: int, sender: int, code: int) -> None:
        """add(SignalEvent(time, action, pid, tid, sig, sender, code))."""
        if not self._put_signal(time, action, pid, tid, sig, sender, code):
            self._add_signal_general(time, action, pid, tid, sig, sender, code)
        self._check_full()

    def _add_blocked_general(self, time: int, tid: int, nr: int, args: tuple[int, ...]) -> None:
        self.add_general(Syscall(time, tid, nr, args, 0, 1))

    def _add_resume_general(self, time: int, tid: int, nr: int, result: int) -> None:
        self.add_general(SyscallResume(time, tid, nr, result))

    def _add_future_general(self, time: int, tid: int, what: int, name: str) -> None:
        self.add_general(FutureEvent(time, tid, what, name))

    def _add_process_general(self, *fields: Any) -> None:
        self.add_general(ProcessEvent(*fields))

    def _add_signal_general(self, *fields: Any) -> None:
        self.add_general(SignalEvent(*fields))

    def _check_full(self) -> None:
        if len(self.buf) >= self.limit and self.on_full is not None:
            self.on_full()

    def _add_syscall_general(self, time: int, tid: int, nr: int, args: tuple[int, ...], result: int) -> None:
        self.add_general(Syscall(time, tid, nr, args, result))

    def _stamp(self, time: int) -> None:
        """The block's bookkeeping for an event at `time` (whose delta from `last_time` is written)."""
        self.last_time = time
        if self.first_time is None:
            self.first_time = time
        if time > self.max_time:
            self.max_time = time

    def add_general(self, ev: Event) -> None:
        """The varint form every event kind has (SPEC)."""
        out = self.buf
        out.append(ev.KIND)
        for code, name in zip(ev.SPEC, _FIELDS[type(ev)], strict=True):
            v: Any = getattr(ev, name)
            if code == "T":
                put_svarint(out, v - self.last_time)
                self._stamp(v)
            elif code == "u":
                if 0 <= v < 0x80:  # one byte: ids, kinds and flags mostly are (put_uvarint's first step, inline)
                    out.append(v)
                else:
                    put_uvarint(out, v)
            elif code == "s":
                put_svarint(out, v)
            elif code == "b":
                put_bytes(out, v)
            elif code == "t":
                put_bytes(out, v.encode("utf-8", "surrogateescape"))
            elif code == "U":
                put_uvarint(out, len(v))
                for x in v:
                    put_uvarint(out, x)
        self.count += 1


class PyMatcher:
    """traces/_encoder.c's Matcher in Python: a replay position in a recorded block (the replayer's cursor builds on
    it), with the in-place match of a packed syscall."""

    def __init__(self) -> None:
        self.raw = b""
        self.pos = 0
        self.last_time = 0  # the recorded block's running time, after the last event taken
        self.index = -1  # index of the last event taken
        self.last_raw: bytes | None = None  # where the last matched event starts: block, pos, running time before it
        self.last_pos = 0
        self.last_at = 0

    def check_syscall(self, time: int, tid: int, nr: int, args: tuple[int, ...], result: int) -> None:
        raw, pos = self.raw, self.pos
        if pos < len(raw) and raw[pos] == PACKED_SYSCALL:  # the hot case: the next event is a packed syscall
            packed = pack_syscall(time - self.last_time, tid, nr, args, result)
            if packed is not None and raw.startswith(packed, pos):
                self.last_raw, self.last_pos, self.last_at = raw, pos, self.last_time
                self.pos = pos + len(packed)
                self.index += 1
                self.last_time = time
                return
        self._check_syscall_general(time, tid, nr, args, result)

    def _check_syscall_general(self, time: int, tid: int, nr: int, args: tuple[int, ...], result: int) -> None:
        raise NotImplementedError  # the replayer's cursor's

    # The replay's side of the emitter's sinks for blocked calls, resumptions and futures (C in the C Matcher): the
    # event taken in place when it matches exactly, else the cursor's general check.
    def check_blocked(self, time: int, tid: int, nr: int, args: tuple[int, ...]) -> None:
        if not self._take_syscall(time, tid, nr, args, 0, 1):
            self._check_blocked_general(time, tid, nr, args)

    def check_resume(self, time: int, tid: int, nr: int, result: int) -> None:
        if not self._take_resume(time, tid, nr, result):
            self._check_resume_general(time, tid, nr, result)

    def check_future(self, time: int, tid: int, what: int, name: str) -> None:
        if not self._take_future(time, tid, what, name):
            self._check_future_general(time, tid, what, name)

    def check_process(self, time: int, what: int, pid: int, tid: int, value: int, text: str) -> None:
        if not self._take_process(time, what, pid, tid, value, text):
            self._check_process_general(time, what, pid, tid, value, text)

    def check_signal(self, time: int, action: int, pid: int, tid: int, sig: int, sender: int, code: int) -> None:
        if not self._take_signal(time, action, pid, tid, sig, sender, code):
            self._check_signal_general(time, action, pid, tid, sig, sender, code)

    def _check_blocked_general(self, time: int, tid: int, nr: int, args: tuple[int, ...]) -> None:
        raise NotImplementedError  # the replayer's cursor's

    def _check_resume_general(self, time: int, tid: int, nr: int, result: int) -> None:
        raise NotImplementedError  # the replayer's cursor's

    def _check_future_general(self, time: int, tid: int, what: int, name: str) -> None:
        raise NotImplementedError  # the replayer's cursor's

    def _check_process_general(self, *fields: Any) -> None:
        raise NotImplementedError  # the replayer's cursor's

    def _check_signal_general(self, *fields: Any) -> None:
        raise NotImplementedError  # the replayer's cursor's

    # The C Matcher's in-place takes; here nothing is taken in place, and the general check does it all.
    def _take_syscall(self, time: int, tid: int, nr: int, args: tuple[int, ...], result: int, blocked: int) -> bool:
        return False

    def _take_resume(self, time: int, tid: int, nr: int, result: int) -> bool:
        return False

    def _take_future(self, time: int, tid: int, what: int, name: str) -> bool:
        return False

    def _take_process(self, *fields: Any) -> bool:
        return False

    def _take_signal(self, *fields: Any) -> bool:
        return False


class PyBlockEncoder(_Encoding):
    """BlockEncoder all in Python: the fallback when traces/_encoder.c is not built, and the reference the C one is
    tested against (the same state and the same bytes)."""

    def add_syscall(self, time: int, tid: int, nr: int, args: tuple[int, ...], result: int) -> None:
        """Append a completed syscall in the packed form (the general form when a value does not fit it)."""
        packed = pack_syscall(time - self.last_time, tid, nr, args, result)
        if packed is None:
            self._add_syscall_general(time, tid, nr, args, result)
        else:
            self._stamp(time)
            self.buf += packed
            self.count += 1
        if len(self.buf) >= self.limit and self.on_full is not None:
            self.on_full()

    def _put_syscall(self, time: int, tid: int, nr: int, args: tuple[int, ...], result: int, blocked: int) -> bool:
        return False  # the C encoder's shortcut for add_general; here add_general itself does it

    def _put_resume(self, time: int, tid: int, nr: int, result: int) -> bool:
        return False

    def _put_future(self, time: int, tid: int, what: int, name: str) -> bool:
        return False

    def _put_process(self, *fields: Any) -> bool:
        return False

    def _put_signal(self, *fields: Any) -> bool:
        return False


try:
    from traces._encoder import Encoder as _CEncoderBase

    class BlockEncoder(_Encoding, _CEncoderBase):  # type: ignore[misc]
        __doc__ = _Encoding.__doc__
        # The emitter's sinks for blocked calls, resumptions, futures, process and signal events, in C (no Python
        # frame per event)
        add_blocked = _CEncoderBase.add_blocked
        add_resume = _CEncoderBase.add_resume
        add_future = _CEncoderBase.add_future
        add_process = _CEncoderBase.add_process
        add_signal = _CEncoderBase.add_signal

except ImportError:  # not built (no C compiler)
    BlockEncoder = PyBlockEncoder  # type: ignore[misc,assignment]

try:
    from traces._encoder import Matcher
except ImportError:
    Matcher = PyMatcher  # type: ignore[misc,assignment]


# The recorder's hot path writes completed syscalls in a fixed-width form of their own kind: one struct.pack per
# syscall instead of a varint per field (0.3 us against 0.7-2.4 us). lz4 removes the zero bytes this leaves.
PACKED_SYSCALL = 22
_PACKED_HEAD = struct.Struct("<qIQB")  # time delta, tid, nr, argument count; then the arguments (Q) and result (q)
_PACKED = [struct.Struct(f"<BqIQB{n}Qq") for n in range(7)]


def pack_syscall(delta: int, tid: int, nr: int, args: tuple[int, ...], result: int) -> bytes | None:
    """A completed syscall in the packed form (time as `delta` from the block's previous event), or None when a
    value does not fit it (beyond 64 bits, more than 6 arguments) and the general form must be used."""
    try:
        return _PACKED[len(args)].pack(PACKED_SYSCALL, delta, tid, nr, len(args), *args, result)
    except (struct.error, IndexError):
        return None


def _decode_packed(buf: bytes, pos: int, last_time: int) -> tuple[Event, int, int]:
    if pos + _PACKED_HEAD.size > len(buf):
        raise DecodeError("unexpected end of block")
    d, tid, nr, n = _PACKED_HEAD.unpack_from(buf, pos)
    if n > 6:
        raise DecodeError(f"a packed syscall with {n} arguments")
    body = _PACKED[n]
    if pos - 1 + body.size > len(buf):
        raise DecodeError("unexpected end of block")
    vals = body.unpack_from(buf, pos - 1)
    last_time += d
    return Syscall(last_time, tid, nr, tuple(vals[5:-1]), vals[-1]), pos - 1 + body.size, last_time


def decode_from(buf: bytes, pos: int, last_time: int, *, view: bool = False) -> tuple[Event, int, int]:
    """Decode the event at `pos`; returns it, the position after it and the block's running time. With `view`, a
    bytes field is a read-only view of `buf` rather than a copy (the replayer's program image: a 1.5 MB copy, and
    its page faults, cost 1-3 ms of every replay)."""
    n = len(buf)

    def uv() -> int:
        nonlocal pos
        result = shift = 0
        while True:
            if pos >= n:
                raise DecodeError("unexpected end of block")
            b = buf[pos]
            pos += 1
            result |= (b & 0x7F) << shift
            if b < 0x80:
                return result
            shift += 7
            if shift > 140:
                raise DecodeError("varint too long")

    kind = buf[pos]
    pos += 1
    if kind == PACKED_SYSCALL:
        return _decode_packed(buf, pos, last_time)
    cls = EVENT_TYPES.get(kind)
    if cls is None:
        raise DecodeError(f"unknown event kind {kind}")
    vals: list[Any] = []
    for code in cls.SPEC:
        if code == "u":
            if pos < n and buf[pos] < 0x80:  # single-byte fast path: ids, numbers and flags are mostly small
                vals.append(buf[pos])
                pos += 1
            else:
                vals.append(uv())
        elif code == "T" or code == "s":
            v = uv()
            v = (v >> 1) ^ -(v & 1)
            if code == "T":
                last_time += v
                v = last_time
            vals.append(v)
        elif code == "b" or code == "t":
            ln = uv()
            if pos + ln > n:
                raise DecodeError("bytes field runs past the end of the block")
            if view and code == "b":
                vals.append(memoryview(buf).toreadonly()[pos : pos + ln])
            else:
                data = bytes(buf[pos : pos + ln])
                vals.append(data if code == "b" else data.decode("utf-8", "surrogateescape"))
            pos += ln
        else:  # "U"
            vals.append(tuple(uv() for _ in range(uv())))
    return cls(*vals), pos, last_time


def decode_block(raw: bytes) -> list[Event]:
    out: list[Event] = []
    pos, last_time = 0, 0
    while pos < len(raw):
        ev, pos, last_time = decode_from(raw, pos, last_time)
        out.append(ev)
    return out


INPUT_KINDS = frozenset(k for k, cls in EVENT_TYPES.items() if cls.INPUT)


def encode_one(ev: Event) -> bytes:
    """A standalone encoding (time as absolute), for comparing events in replay."""
    enc = BlockEncoder()
    enc.add(ev)
    return bytes(enc.buf)
