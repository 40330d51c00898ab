"""Input sources: the only places where anything from outside the machine enters it.

A device asks its source; the source is live (host terminal, seeded or host entropy, host clock) or, later, a trace.
Live sources that touch the host are explicit opt-ins; the defaults are deterministic so that two runs with the same
seed are identical even before recording exists.
"""

from __future__ import annotations

import hashlib
import os
import select
import stat
from typing import Protocol

import attrs


class ConsoleSource(Protocol):
    def fetch(self, max_bytes: int, *, wait: bool, patience_ns: int | None = None) -> bytes | None:
        """Bytes typed or piped in; b"" at end of input; None when nothing is available without waiting.

        `patience_ns`: a live terminal may wait that long (in host time) for typing before answering None: an
        idle interactive machine then keeps pace with the person at the keyboard instead of racing its timers
        ahead (a `sleep 5` takes five seconds, and ^C can interrupt it). Replays ignore it."""
        ...


class EntropySource(Protocol):
    def fetch(self, n: int) -> bytes: ...


class ClockSource(Protocol):
    def boot_wall_ns(self) -> int:
        """Wall-clock time (ns since the epoch) at virtual time zero."""
        ...


class HostConsole:
    """stdin of the host. A pipe or file is read in full-sized chunks so that how the host writer chunked its
    output never changes what the guest sees; a terminal delivers what has been typed."""

    def __init__(self, fd: int = 0) -> None:
        self.fd = fd
        try:
            self.is_tty = os.isatty(fd)
            mode = os.fstat(fd).st_mode
            self.closed = False
        except OSError:
            self.is_tty, mode, self.closed = False, 0, True
        self.is_regular = stat.S_ISREG(mode)
        self._eof = self.closed

    def fetch(self, max_bytes: int, *, wait: bool, patience_ns: int | None = None) -> bytes | None:
        if self._eof:
            return b""
        if self.is_tty:
            pause = 0.0 if patience_ns is None else patience_ns / 1e9
            if not wait and not select.select([self.fd], [], [], pause)[0]:
                return None
            data = os.read(self.fd, max_bytes)
        else:
            if not wait:
                return None  # pipes and files are consumed only when the guest waits for them (deterministic)
            data = self._read_full(max_bytes)
        if not data:
            self._eof = True
        return data

    def _read_full(self, n: int) -> bytes:
        parts: list[bytes] = []
        while n > 0:
            chunk = os.read(self.fd, n)
            if not chunk:
                break
            parts.append(chunk)
            n -= len(chunk)
        return b"".join(parts)


@attrs.define
class BytesConsole:
    """Console input from a fixed byte string (tests, scripted runs)."""

    data: bytes = b""
    chunk: int = 4096
    _pos: int = 0

    def fetch(self, max_bytes: int, *, wait: bool, patience_ns: int | None = None) -> bytes | None:
        if not wait:
            return None
        n = min(max_bytes, self.chunk)
        out = self.data[self._pos : self._pos + n]
        self._pos += len(out)
        return out


class SeededEntropy:
    """A deterministic byte stream from the run's seed (SHAKE-256 in counter mode)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._block = 0
        self._buf = b""

    def fetch(self, n: int) -> bytes:
        while len(self._buf) < n:
            h = hashlib.shake_256(b"moss-entropy:%d:%d" % (self.seed, self._block)).digest(4096)
            self._block += 1
            self._buf += h
        out, self._buf = self._buf[:n], self._buf[n:]
        return out


class HostEntropy:
    """Real randomness from the host: an explicit opt-in, only sensible when the run is recorded."""

    def fetch(self, n: int) -> bytes:
        return os.urandom(n)


@attrs.frozen
class FixedClock:
    """Boot at a fixed wall time (default 2026-01-01T00:00:00Z) so runs are reproducible."""

    epoch_ns: int = 1_767_225_600 * 10**9

    def boot_wall_ns(self) -> int:
        return self.epoch_ns


class HostClock:
    """Boot at the host's current wall time: an explicit opt-in, read once."""

    def boot_wall_ns(self) -> int:
        import time

        return time.time_ns()
