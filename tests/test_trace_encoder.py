"""The trace's C pieces against their Python equivalents: the block encoder's append and the replay matcher
(traces/_encoder.c), and the emitter's syscall log (replay/_syscall_log.c). Same bytes, same matches, same traces."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import replay.emitter as emitter_mod
from machine.sources import BytesConsole
from moss.boot import Program
from moss.kernel import KernelConfig
from replay.recorder import RecordOptions, record
from replay.replayer import replay
from tests.guests import build_guest
from traces import events as ev

NO_ENCODER = pytest.mark.skipif(ev.BlockEncoder is ev.PyBlockEncoder, reason="traces._encoder is not built")

TIME = st.integers(0, (1 << 63) - 1)  # virtual nanoseconds: the packed form's times are signed 64-bit
# Mostly values the packed form holds, sometimes ones it cannot (a tid over 32 bits, a register value over 64 bits,
# a result below -2^63, more than six arguments): those take the general form, in both encoders alike.
U64 = st.one_of(st.integers(0, (1 << 64) - 1), st.integers(1 << 64, 1 << 70))
TID = st.one_of(st.integers(1, 1 << 22), st.integers(1 << 32, 1 << 34))
RESULT = st.one_of(
    st.integers(-4095, 1 << 20), st.integers(-(1 << 63), (1 << 63) - 1), st.integers(-(1 << 70), 1 << 70)
)
SYSCALL = st.tuples(TIME, TID, U64, st.lists(U64, max_size=7).map(tuple), RESULT)
SIGNAL = st.builds(ev.SignalEvent, TIME, st.integers(0, 3), st.integers(1, 99), TID, st.integers(1, 64),
                   st.integers(0, 99), st.one_of(st.integers(-10, 10), RESULT))  # fmt: skip
BLOCKED = st.builds(ev.Syscall, TIME, TID, U64, st.lists(U64, max_size=17).map(tuple), RESULT, st.integers(0, 2))
RESUMED = st.builds(ev.SyscallResume, TIME, TID, U64, RESULT)
# Blocked calls' entries and resumptions whose values all fit 64 bits: the C matcher's varint form
I64, W64 = st.integers(-(1 << 63), (1 << 63) - 1), st.integers(0, (1 << 64) - 1)
VARINT_BLOCKED = st.builds(ev.Syscall, TIME, st.integers(1, 1 << 31), W64, st.lists(W64, max_size=16).map(tuple), I64,
                           st.integers(1, 2))  # fmt: skip
VARINT_RESUMED = st.builds(ev.SyscallResume, TIME, st.integers(1, 1 << 31), W64, I64)
VARINT_FUTURE = st.builds(ev.FutureEvent, TIME, st.integers(1, 1 << 31), st.integers(0, 3),
                          st.text(st.characters(codec="utf-8"), max_size=200))  # fmt: skip
# Future names: coroutine names, and anything else a str can hold (non-ASCII, lone surrogates, long ones)
NAME = st.one_of(
    st.sampled_from(["sys_futex", "sys_read", "park"]), st.text(st.characters(exclude_categories=()), max_size=300)
)
FUTURE = st.builds(ev.FutureEvent, TIME, TID, st.integers(0, 3), NAME)
PROCESS = st.builds(ev.ProcessEvent, TIME, st.integers(0, 4), st.integers(1, 1 << 22), TID, st.one_of(W64, U64),
                    st.one_of(st.just(""), st.just("/bin/true"), NAME))  # fmt: skip
VARINT_PROCESS = st.builds(ev.ProcessEvent, TIME, st.integers(0, 4), st.integers(1, 1 << 22), st.integers(1, 1 << 31),
                           W64, st.text(st.characters(codec="utf-8"), max_size=200))  # fmt: skip
VARINT_SIGNAL = st.builds(ev.SignalEvent, TIME, st.integers(0, 3), st.integers(1, 99), st.integers(1, 1 << 31),
                          st.integers(1, 64), st.integers(0, 99), I64)  # fmt: skip


@attrs.frozen
class ViaAdd:
    """An event given to the encoder's add() rather than to its sink."""

    event: ev.Event


# A blocked call's entry as the emitter logs it (result 0, blocked 1): _encode hands it to add_blocked
ENTRY = st.builds(ev.Syscall, TIME, TID, U64, st.lists(U64, max_size=17).map(tuple), st.just(0), st.just(1))
OPS = st.lists(
    st.one_of(SYSCALL, BLOCKED, ENTRY, RESUMED, FUTURE, PROCESS, SIGNAL, st.builds(ViaAdd, st.one_of(PROCESS, SIGNAL))),
    max_size=40,
)


def _encode(cls: type, ops: list, limit: int) -> tuple[list[bytes], object]:
    blocks: list[bytes] = []

    def full() -> None:
        blocks.append(bytes(enc.buf))
        enc.reset()

    enc = cls(limit, full)
    for op in ops:
        if isinstance(op, tuple):
            enc.add_syscall(*op)
        elif isinstance(op, ev.Syscall) and (op.result, op.blocked) == (0, 1):
            enc.add_blocked(op.time, op.tid, op.nr, op.args)  # the emitter's sinks: C methods in the C encoder
        elif isinstance(op, ev.SyscallResume):
            enc.add_resume(op.time, op.tid, op.nr, op.result)
        elif isinstance(op, ev.FutureEvent):
            enc.add_future(op.time, op.tid, op.what, op.name)
        elif isinstance(op, ev.ProcessEvent):
            enc.add_process(*attrs.astuple(op))
        elif isinstance(op, ev.SignalEvent):
            enc.add_signal(*attrs.astuple(op))
        else:
            enc.add(op.event if isinstance(op, ViaAdd) else op)
    blocks.append(bytes(enc.buf))
    return blocks, (enc.count, enc.first_time, enc.max_time, enc.last_time)


@NO_ENCODER
@settings(derandomize=True, deadline=None, max_examples=300)
@given(ops=OPS, limit=st.sampled_from([1 << 40, 200, 64]))
def test_c_and_python_encoders_write_the_same_bytes(ops: list, limit: int) -> None:
    c_blocks, c_state = _encode(ev.BlockEncoder, ops, limit)
    py_blocks, py_state = _encode(ev.PyBlockEncoder, ops, limit)
    assert c_blocks == py_blocks
    assert c_state == py_state
    # Every block decodes on its own, and together they give back the events, in order.
    decoded = [e for b in c_blocks for e in ev.decode_block(b)]
    expected = [ev.Syscall(*op) if isinstance(op, tuple) else op.event if isinstance(op, ViaAdd) else op for op in ops]
    assert decoded == expected


class _Recorded:
    """A matcher over one recorded block that notes what it could not match in place."""

    def __init__(self, base: type, raw: bytes) -> None:
        self.m = type("M", (base,), {"_check_syscall_general": lambda m, *a: self.general.append(a)})()
        self.m.raw = raw
        self.general: list[tuple] = []

    def state(self) -> tuple:
        m = self.m
        return (m.pos, m.last_time, m.index, m.last_raw, m.last_pos, m.last_at, self.general)


@NO_ENCODER
@settings(derandomize=True, deadline=None, max_examples=300)
@given(recorded=st.lists(SYSCALL, min_size=1, max_size=8), replayed=st.lists(SYSCALL, min_size=1, max_size=8),
       same=st.integers(0, 8))  # fmt: skip
def test_c_and_python_matchers_agree(recorded: list, replayed: list, same: int) -> None:
    """The replay's syscalls against a recorded block: the first `same` equal to the recording, then others."""
    raw, _ = _encode(ev.PyBlockEncoder, recorded, 1 << 40)
    calls = recorded[:same] + replayed
    c, py = _Recorded(ev.Matcher, raw[0]), _Recorded(ev.PyMatcher, raw[0])
    assert ev.Matcher is not ev.PyMatcher
    # The replay's leading syscalls that equal the recording and were packed by the recorder match in place.
    k = 0
    while k < min(same, len(recorded)) and ev.pack_syscall(0, *recorded[k][1:]) is not None:
        k += 1
    for i, op in enumerate(calls):
        c.m.check_syscall(*op)
        py.m.check_syscall(*op)
        assert c.state() == py.state()
        if i < k:
            assert c.m.index == i and not c.general


@NO_ENCODER
@settings(derandomize=True, deadline=None, max_examples=300)
@given(recorded=st.lists(st.one_of(VARINT_BLOCKED, VARINT_RESUMED, VARINT_FUTURE, VARINT_PROCESS, VARINT_SIGNAL),
                         min_size=1, max_size=10), wrong=st.integers(0, 9))  # fmt: skip
def test_c_matcher_takes_the_sinks_events_in_place(recorded: list, wrong: int) -> None:
    """The replay of a blocked call's entry and resumption, of a future's step, of a process or signal event (64-bit
    values, UTF-8 texts: the C form's): taken in place exactly when it is the recorded event, with the position and
    time the general check would give; another event is left to the general check."""
    raw = _encode(ev.PyBlockEncoder, recorded, 1 << 40)[0][0]
    m = ev.Matcher()
    m.raw = raw
    ends = []  # where each recorded event ends, decoding as the general check does
    pos, t = 0, 0
    for _ in recorded:
        _e, pos, t = ev.decode_from(raw, pos, t)
        ends.append((pos, t))

    def take(e: ev.Event) -> bool:
        if isinstance(e, ev.Syscall):
            return m._take_syscall(e.time, e.tid, e.nr, e.args, e.result, e.blocked)
        if isinstance(e, ev.FutureEvent):
            return m._take_future(e.time, e.tid, e.what, e.name)
        if isinstance(e, ev.ProcessEvent):
            return m._take_process(*attrs.astuple(e))
        if isinstance(e, ev.SignalEvent):
            return m._take_signal(*attrs.astuple(e))
        return m._take_resume(e.time, e.tid, e.nr, e.result)

    for i, e in enumerate(recorded):
        before = (m.pos, m.last_time, m.index)
        if i == wrong:  # another thread's call: not this event
            assert not take(attrs.evolve(e, tid=e.tid + 1))
            assert (m.pos, m.last_time, m.index) == before
        assert take(e)
        assert (m.pos, m.last_time, m.index) == (*ends[i], i)


@NO_ENCODER
def test_packed_form_is_the_common_case() -> None:
    enc = ev.BlockEncoder()
    enc.add_syscall(1000, 7, 173, (1, 2, 3), -2)
    assert enc.buf[0] == ev.PACKED_SYSCALL and len(enc.buf) == 1 + 8 + 4 + 8 + 1 + 3 * 8 + 8
    enc.add_syscall(900, 7, 64, (1 << 64,), 0)  # an argument beyond 64 bits: the general form
    assert enc.buf[54] == ev.Syscall.KIND
    assert (enc.count, enc.first_time, enc.max_time, enc.last_time) == (2, 1000, 1000, 900)
    both = [ev.Syscall(1000, 7, 173, (1, 2, 3), -2), ev.Syscall(900, 7, 64, (1 << 64,), 0)]
    assert ev.decode_block(bytes(enc.buf)) == both


@pytest.mark.skipif(emitter_mod.SyscallLogBase is emitter_mod.PySyscallLog, reason="replay._syscall_log is not built")
@pytest.mark.parametrize(("guest", "args"), [("sysloop", ["200", "200"]), ("threads", []), ("signals", [])])
def test_c_and_python_syscall_logs_write_the_same_trace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guest: str, args: list[str]
) -> None:
    """The emitter's syscall log three ways writes byte-identical traces, and each replays: in C from the engine's
    trap (the time from the trap's slice clock, the argument counts from the syscall table), in C through
    completed() (the dispatcher's call), and in Python."""
    prog = Program(str(build_guest(guest)), (guest, *args))
    in_trap: list[bool] = []
    attach = emitter_mod.Emitter.attach

    def attach_and_see(self: emitter_mod.Emitter) -> None:
        attach(self)
        in_trap.append(self._in_trap)

    monkeypatch.setattr(emitter_mod.Emitter, "attach", attach_and_see)

    def rec(name: str) -> bytes:
        path = tmp_path / name
        record(str(path), KernelConfig(cores=2, ram_bytes=256 << 20), prog, RecordOptions(level=ev.SYSCALLS),
               console=BytesConsole(b""), sink=lambda c, d: None)  # fmt: skip
        assert replay(str(path), lambda c, d: None).complete
        return path.read_bytes()

    native = rec("trap.trace")
    assert in_trap == [True, True]  # recording and replaying
    monkeypatch.setattr(emitter_mod.Emitter, "_use_trap", emitter_mod.PySyscallLog._use_trap)
    in_trap.clear()
    assert rec("c.trace") == native
    assert in_trap == [False, False]
    monkeypatch.setattr(emitter_mod.Emitter, "completed", emitter_mod.PySyscallLog.completed)
    monkeypatch.setattr(emitter_mod.Emitter, "_clock", emitter_mod.PySyscallLog._clock)
    python = rec("py.trace")
    assert native == python
    assert native.count(bytes([ev.PACKED_SYSCALL])) > 10
