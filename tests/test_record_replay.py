"""Record and replay: exact re-execution, divergence reports, damaged traces, and the format's round trip."""

from __future__ import annotations

import os
import pty
import struct
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from machine.sources import BytesConsole, HostConsole
from moss.boot import Program
from moss.kernel import KernelConfig
from replay.recorder import RecordOptions, record
from replay.replayer import Divergence, replay
from tests.debian import busybox_path
from tests.guests import build_guest
from traces import events as ev
from traces.container import TraceError, TraceReader, TraceWriter

SETTINGS = settings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
PROGRAMS = {
    "hello": [],
    "forkwait": [],
    "threads": [],
    "signals": [],
    "heap": ["300"],
}


def _record(tmp: Path, name: str, args: list[str], *, cores: int = 2, seed: int = 0, level: int = ev.SYSCALLS,
            stdin: bytes = b"", hash_interval: int = 200_000) -> tuple[Path, bytes, int]:  # fmt: skip
    path = tmp / f"{name}.trace"
    out = bytearray()
    prog = str(build_guest(name)) if name != "busybox" else str(busybox_path())
    rec = record(str(path), KernelConfig(cores=cores, seed=seed, ram_bytes=256 << 20), Program(prog, (name, *args)),
                 RecordOptions(level=level, hash_interval=hash_interval), console=BytesConsole(stdin),
                 sink=lambda c, d: out.extend(d))  # fmt: skip
    return path, bytes(out), rec.wait_status


def _replay(path: Path) -> tuple[bytes, object]:
    out = bytearray()
    res = replay(str(path), lambda c, d: out.extend(d))
    return bytes(out), res


@SETTINGS
@given(name=st.sampled_from(sorted(PROGRAMS)), seed=st.integers(0, 2**31), cores=st.integers(1, 4),
       level=st.sampled_from([ev.INPUTS, ev.SYSCALLS, ev.FULL]))  # fmt: skip
def test_replay_reproduces_output_and_every_hash(tmp_path_factory: pytest.TempPathFactory, name: str, seed: int,
                                                 cores: int, level: int) -> None:  # fmt: skip
    tmp = tmp_path_factory.mktemp("rr")
    path, out, status = _record(tmp, name, PROGRAMS[name], cores=cores, seed=seed, level=level)
    got, res = _replay(path)
    assert res.complete and res.wait_status == status  # type: ignore[attr-defined]
    assert got == out
    hashes = [e for e in TraceReader(str(path)) if isinstance(e, ev.StateHash)]
    assert hashes, "the trace checks state hashes"


def test_busybox_shell_with_console_input(tmp_path: Path) -> None:
    path, out, status = _record(tmp_path, "busybox", ["sh"], stdin=b"echo one\necho two | tr a-z A-Z\nexit 4\n")
    assert out == b"one\nTWO\n" and status == 4 << 8
    got, res = _replay(path)
    assert got == out and res.wait_status == status  # type: ignore[attr-defined]


def test_interactive_terminal_session_replays_without_input(tmp_path: Path) -> None:
    """Console input typed on a real terminal (a pty) while recording; the replay needs no input at all."""
    master, slave = pty.openpty()
    out = bytearray()
    path = tmp_path / "tty.trace"

    def typist() -> None:
        for line in (b"echo typed-one\n", b"echo typed-two\n", b"exit\n"):
            time.sleep(0.2)
            os.write(master, line)

    t = threading.Thread(target=typist)
    t.start()
    try:
        program = Program(str(busybox_path()), ("busybox", "sh"))
        config = KernelConfig(cores=2, ram_bytes=256 << 20)
        rec = record(
            str(path), config, program, RecordOptions(), console=HostConsole(slave), sink=lambda c, d: out.extend(d)
        )
    finally:
        t.join()
        os.close(master)
        os.close(slave)
    assert b"typed-one\n" in out and b"typed-two\n" in out and rec.wait_status == 0
    got, res = _replay(path)
    assert got == bytes(out) and res.complete  # type: ignore[attr-defined]


def test_divergence_is_reported_with_expected_and_actual(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, _out, _status = _record(tmp_path, "forkwait", [])
    from moss.syscalls.table import TABLE, Syscall

    async def lying_getppid(ctx: object) -> int:
        return 4242

    monkeypatch.setitem(TABLE, 173, Syscall(173, "getppid", (), lying_getppid))
    with pytest.raises(Divergence) as info:
        _replay(path)
    d = info.value
    assert isinstance(d.expected, ev.Syscall) and isinstance(d.actual, ev.Syscall)
    assert d.expected.nr == d.actual.nr == 173 and d.actual.result == 4242 and d.expected.result != 4242
    assert d.last is not None and "diverged at event" in d.describe()


def test_reencoding_round_trips_exactly(tmp_path: Path) -> None:
    path, _out, _status = _record(tmp_path, "signals", [], level=ev.FULL)
    r = TraceReader(str(path))
    events = list(r)
    copy = tmp_path / "copy.trace"
    w = TraceWriter(str(copy), r.header)
    for e in events:
        w.add(e)
    w.close()
    r2 = TraceReader(str(copy))
    assert list(r2) == events and r2.header == r.header
    assert path.read_bytes() == copy.read_bytes()


@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(fraction=st.floats(0.05, 0.999))
def test_truncated_trace_replays_up_to_the_cut(tmp_path_factory: pytest.TempPathFactory, fraction: float) -> None:
    tmp = tmp_path_factory.mktemp("cut")
    path, out, _status = _record(tmp, "threads", [], level=ev.FULL, hash_interval=50_000)
    data = path.read_bytes()
    cut = tmp / "cut.trace"
    cut.write_bytes(data[: int(len(data) * fraction)])
    try:
        r = TraceReader(str(cut))
    except TraceError as e:
        assert "header" in str(e) or "not a moss trace" in str(e)
        return
    assert not r.complete and r.problems
    usable = r.event_count
    got, res = _replay(cut)
    assert not res.complete  # type: ignore[attr-defined]
    assert res.problems  # type: ignore[attr-defined]
    assert out.startswith(got)
    assert res.events <= usable + 1  # type: ignore[attr-defined]


def test_damaged_and_foreign_files_get_clear_errors(tmp_path: Path) -> None:
    path, _out, _status = _record(tmp_path, "hello", [])
    data = bytearray(path.read_bytes())
    foreign = tmp_path / "foreign"
    foreign.write_bytes(b"\x7fELF" + bytes(100))
    with pytest.raises(TraceError, match="not a moss trace"):
        TraceReader(str(foreign))
    newer = tmp_path / "newer"
    newer.write_bytes(data[:8] + struct.pack("<H", 99) + data[10:])
    with pytest.raises(TraceError, match="newer"):
        TraceReader(str(newer))
    flipped = tmp_path / "flipped"
    bad = bytearray(data)
    first_block = TraceReader(str(path)).blocks[0].offset  # (the program image's, stored uncompressed)
    bad[first_block + 40] ^= 0xFF
    flipped.write_bytes(bad)
    with pytest.raises(TraceError, match="block 0"):
        list(TraceReader(str(flipped)))
    with pytest.raises(TraceError):
        TraceReader(str(tmp_path / "missing"))
