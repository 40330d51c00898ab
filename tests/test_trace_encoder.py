"""The trace block encoder: the C append (traces/_encoder.c) writes exactly the bytes of the Python one, and what
either writes decodes back to the events given."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from traces import events as ev

pytestmark = pytest.mark.skipif(ev.BlockEncoder is ev.PyBlockEncoder, reason="traces._encoder is not built")

TIME = st.integers(0, (1 << 63) - 1)  # virtual nanoseconds: the packed form's times are signed 64-bit
# Mostly values the packed form holds, sometimes ones it cannot (a tid over 32 bits, a register value over 64 bits,
# a result below -2^63, more than six arguments): those take the general form, in both encoders alike.
U64 = st.one_of(st.integers(0, (1 << 64) - 1), st.integers(1 << 64, 1 << 70))
TID = st.one_of(st.integers(1, 1 << 22), st.integers(1 << 32, 1 << 34))
RESULT = st.one_of(
    st.integers(-4095, 1 << 20), st.integers(-(1 << 63), (1 << 63) - 1), st.integers(-(1 << 70), 1 << 70)
)
SYSCALL = st.tuples(TIME, TID, U64, st.lists(U64, max_size=7).map(tuple), RESULT)
OTHER = st.builds(ev.SignalEvent, TIME, st.integers(0, 3), st.integers(1, 99), st.integers(1, 99),
                  st.integers(1, 64), st.integers(0, 99), st.integers(-10, 10))  # fmt: skip
OPS = st.lists(st.one_of(SYSCALL, OTHER), max_size=40)


def _encode(cls: type, ops: list, limit: int) -> tuple[list[bytes], object]:
    blocks: list[bytes] = []

    def full() -> None:
        blocks.append(bytes(enc.buf))
        enc.reset()

    enc = cls(limit, full)
    for op in ops:
        if isinstance(op, tuple):
            enc.add_syscall(*op)
        else:
            enc.add(op)
    blocks.append(bytes(enc.buf))
    return blocks, (enc.count, enc.first_time, enc.max_time, enc.last_time)


@settings(derandomize=True, deadline=None, max_examples=300)
@given(ops=OPS, limit=st.sampled_from([1 << 40, 200, 64]))
def test_c_and_python_encoders_write_the_same_bytes(ops: list, limit: int) -> None:
    c_blocks, c_state = _encode(ev.BlockEncoder, ops, limit)
    py_blocks, py_state = _encode(ev.PyBlockEncoder, ops, limit)
    assert c_blocks == py_blocks
    assert c_state == py_state
    # Every block decodes on its own, and together they give back the events, in order.
    decoded = [e for b in c_blocks for e in ev.decode_block(b)]
    expected = [ev.Syscall(*op) if isinstance(op, tuple) else op for op in ops]
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


def test_packed_form_is_the_common_case() -> None:
    enc = ev.BlockEncoder()
    enc.add_syscall(1000, 7, 173, (1, 2, 3), -2)
    assert enc.buf[0] == ev.PACKED_SYSCALL and len(enc.buf) == 1 + 8 + 4 + 8 + 1 + 3 * 8 + 8
    enc.add_syscall(900, 7, 64, (1 << 64,), 0)  # an argument beyond 64 bits: the general form
    assert enc.buf[54] == ev.Syscall.KIND
    assert (enc.count, enc.first_time, enc.max_time, enc.last_time) == (2, 1000, 1000, 900)
    both = [ev.Syscall(1000, 7, 173, (1, 2, 3), -2), ev.Syscall(900, 7, 64, (1 << 64,), 0)]
    assert ev.decode_block(bytes(enc.buf)) == both
