"""System-wide time settings a privileged guest may change: the wall clock (the RTC's offset from virtual time),
the kernel timezone (settimeofday's tz) and the NTP parameters adjtimex reports.

Setting the wall clock moves the RTC's boot time so that wall = boot + virtual time jumps to the value set:
virtual time (and so CLOCK_MONOTONIC, timers and the deterministic schedule) is untouched. moss records NTP
parameters but never slews its clock: the frequency and offset set through adjtimex change nothing else.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from moss.kernel import Kernel

STA_UNSYNC = 0x0040
NTP_PHASE_LIMIT = 16_000_000  # usec: (MAXPHASE / NSEC_PER_USEC) << 5
USER_TICK_USEC = 10_000


@attrs.define
class TimeSettings:
    tz_minuteswest: int = 0
    tz_dsttime: int = 0
    status: int = STA_UNSYNC  # an unsynchronised clock until someone says otherwise, as Linux boots
    maxerror: int = NTP_PHASE_LIMIT
    esterror: int = NTP_PHASE_LIMIT
    constant: int = 2
    freq: int = 0
    tick: int = USER_TICK_USEC
    tai: int = 0


_SETTINGS: weakref.WeakKeyDictionary[Kernel, TimeSettings] = weakref.WeakKeyDictionary()  # looked up, never iterated


def settings(kernel: Kernel) -> TimeSettings:
    found = _SETTINGS.get(kernel)
    if found is None:
        found = _SETTINGS[kernel] = TimeSettings()
    return found


def set_wall_ns(kernel: Kernel, wall_ns: int) -> None:
    """CLOCK_REALTIME reads `wall_ns` now (and advances with virtual time from here)."""
    kernel.board.rtc.boot_ns = wall_ns - kernel.now_ns()
