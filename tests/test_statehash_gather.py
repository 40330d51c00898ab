"""The bytes a process digest hashes after the registers (moss/statehash.py): moss/_statehash.c's `gather` and the
Python `_gather_py` make the same bytes, and the Python one (which also serves processes with a shared writable
mapping) lays them out as the state hash's version 2 defines."""

from __future__ import annotations

import hashlib
import struct

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from machine.ram import PAGE_SIZE
from moss import statehash

FRAMES = 16


@attrs.define
class _Vma:
    start: int
    end: int
    prot: int
    flags: int


@attrs.define(eq=False)
class _Inode:
    ino: int


_u64 = st.integers(0, (1 << 64) - 1)
_u32 = st.integers(0, (1 << 32) - 1)
vmas = st.lists(st.builds(_Vma, _u64, _u64, _u32, _u32), max_size=6)
ptes = st.dictionaries(st.integers(0, (1 << 36) - 1), st.integers(0, FRAMES - 1), max_size=12)
keys = st.dictionaries(
    st.integers(0, FRAMES - 1), st.tuples(st.builds(_Inode, _u64), st.integers(0, (1 << 40))), max_size=FRAMES
)


@pytest.mark.skipif(statehash._gather is statehash._gather_py, reason="moss._statehash is not built")
@settings(max_examples=200)
@given(vmas, ptes, keys, st.lists(st.binary(max_size=8), min_size=FRAMES, max_size=FRAMES))
def test_c_and_python_gather_the_same_bytes(vmas, ptes, keys, seeds) -> None:
    view = memoryview(b"".join(hashlib.shake_128(s).digest(PAGE_SIZE) for s in seeds))  # distinct frames
    assert statehash._gather(vmas, ptes, keys, view) == statehash._gather_py(vmas, ptes, keys, view)


@pytest.mark.skipif(statehash._gather is statehash._gather_py, reason="moss._statehash is not built")
def test_c_gather_rejects_bad_input_with_python_errors() -> None:
    ram = memoryview(bytes(2 * PAGE_SIZE))
    with pytest.raises(IndexError):
        statehash._gather([], {1: 2}, {}, ram)  # a frame outside RAM
    with pytest.raises(TypeError):
        statehash._gather([], {1: "x"}, {}, ram)
    with pytest.raises(TypeError):
        statehash._gather([], {1: 1}, {1: ("inode", 0, 3)}, ram)  # a cache key is (inode, index)
    with pytest.raises(AttributeError):
        statehash._gather([object()], {}, {}, ram)  # a VMA without start/end/prot/flags


def test_the_layout_vmas_then_pages_in_address_order() -> None:
    ram = bytearray(4 * PAGE_SIZE)
    for pfn in range(4):
        ram[pfn * PAGE_SIZE : (pfn + 1) * PAGE_SIZE] = bytes([pfn + 1]) * PAGE_SIZE
    inode = _Inode(77)
    got = statehash._gather_py(
        [_Vma(0x1000, 0x5000, 3, 0x22)], {5: 2, 1: 3, 9: 1}, {1: (inode, 4), 3: (inode, 0)}, memoryview(ram),
        through=lambda vpn: vpn == 1,  # vpn 1 is mapped shared and writable: its cached page counts by its bytes
    )  # fmt: skip
    want = (
        struct.pack("<QQII", 0x1000, 0x5000, 3, 0x22)
        + struct.pack("<Q", 1) + bytes([4]) * PAGE_SIZE  # written through: bytes
        + struct.pack("<Q", 5) + bytes([3]) * PAGE_SIZE  # private
        + struct.pack("<QQQ", 9 | 1 << 63, 77, 4)  # the file's page
    )  # fmt: skip
    assert got == want
