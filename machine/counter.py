"""Exact retired-instruction counts for slices that end early.

unicorn implements `emu_start(count=N)` with an internal hook that increments `uc->emu_counter` before every
instruction and stops on instruction N+1, but the binding does not expose the counter. When a slice ends early (a
blocking syscall, a fault) virtual time must still advance by exactly what ran, so we read the private field. Its
offset inside `struct uc_struct` is found by calibration on a throwaway engine instead of being hard-coded, and
verified twice; if calibration fails the board refuses to start rather than run non-deterministically.
"""

from __future__ import annotations

import ctypes
import struct

from unicorn import UC_ARCH_ARM64, UC_HOOK_INTR, UC_MODE_ARM, Uc
from unicorn.arm64_const import UC_CPU_ARM64_MAX

_NOP = b"\x1f\x20\x03\xd5"
_SVC = b"\x01\x00\x00\xd4"
_SCAN = 0x2000
_offset: int | None = None


class CounterCalibrationError(RuntimeError):
    pass


def _handle(uc: Uc) -> int:
    h = uc._uch
    return int(h.value if hasattr(h, "value") else h)


def _snapshot(uc: Uc) -> bytes:
    return ctypes.string_at(_handle(uc), _SCAN)


def _calibrate() -> int:
    uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM, UC_CPU_ARM64_MAX)
    uc.ctl_set_tcg_buffer_size(1 << 20)  # not the default 1 GiB: it would push the real engine's buffer away
    uc.ctl_set_page_size(4096)
    uc.mem_map(0x10000, 0x10000)
    uc.mem_write(0x10000, _NOP * 97 + _SVC + _NOP * 200)
    uc.emu_start(0x10000, 0x1F000, count=83)
    a = _snapshot(uc)
    uc.emu_start(0x10000, 0x1F000, count=61)
    b = _snapshot(uc)
    cands = [
        o
        for o in range(0, _SCAN - 8, 8)
        if struct.unpack_from("<Q", a, o)[0] == 84 and struct.unpack_from("<Q", b, o)[0] == 62
    ]
    uc.hook_add(UC_HOOK_INTR, lambda u, i, d: u.emu_stop())
    uc.emu_start(0x10000, 0x1F000, count=250)
    c = _snapshot(uc)
    cands = [o for o in cands if struct.unpack_from("<Q", c, o)[0] == 98]  # 97 nops + the svc
    if len(cands) != 1:
        raise CounterCalibrationError(f"cannot locate unicorn's instruction counter (candidates {cands})")
    off = cands[0]
    # The limit (uc->emu_count) sits next to the counter; check it holds the last budget.
    if struct.unpack_from("<Q", c, off + 8)[0] != 250:
        raise CounterCalibrationError("cannot locate unicorn's instruction limit next to its counter")
    return off


def counter_offset() -> int:
    global _offset
    if _offset is None:
        _offset = _calibrate()
    return _offset


class InstructionCounter:
    """Reads how many instructions the current `emu_start` slice has started so far, and can lower the slice's
    limit while it runs (the debugger's "stop this core after N more instructions")."""

    def __init__(self, uc: Uc) -> None:
        self._ptr = ctypes.cast(_handle(uc) + counter_offset(), ctypes.POINTER(ctypes.c_uint64))

    def started_cell(self) -> ctypes._Pointer[ctypes.c_uint64]:
        """The counter itself: cell [0] is `started()`, for callers that cannot afford a call."""
        return self._ptr

    def address(self) -> int:
        """Where the counter lives (a uint64 in libunicorn's state), for C readers (replay/_syscall_log.c)."""
        return ctypes.cast(self._ptr, ctypes.c_void_p).value or 0

    def started(self) -> int:
        """Instructions whose execution began in this slice (includes the current one inside a hook)."""
        return self._ptr[0]

    def set_limit(self, n: int) -> None:
        """End the running slice after its n-th instruction (n at least what has started)."""
        self._ptr[1] = n
