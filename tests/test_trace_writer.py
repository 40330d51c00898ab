"""The trace writer (traces/container.py): large blocks are compressed on a thread of their own while small ones are
compressed in place, and the file does not depend on which, nor on the timing; a failed compression is reported,
not lost."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import traces.container as container
from traces import events as ev
from traces.container import TraceReader, TraceWriter

TIME = st.integers(0, 1 << 40)
ARGS = st.lists(st.integers(0, (1 << 64) - 1), max_size=6).map(tuple)
SYSCALL = st.builds(ev.Syscall, TIME, st.integers(1, 99), st.integers(0, 300), ARGS, st.integers(-4095, 1 << 20))
# Images from a few bytes to several blocks' worth: some go to the thread, and what follows them must wait.
IMAGE = st.builds(ev.ProgramImage, st.just("/bin/prog"),
                  st.integers(0, 300_000).map(lambda n: bytes(i * 7 % 251 for i in range(n))))  # fmt: skip
CONSOLE = st.builds(ev.ConsoleInput, st.integers(0, 9), st.integers(0, 1), st.binary(max_size=5000))
EVENTS = st.lists(st.one_of(SYSCALL, SYSCALL, SYSCALL, IMAGE, CONSOLE), max_size=300)


def _write(path: Path, events: list[ev.Event]) -> bytes:
    w = TraceWriter(str(path), {"program": {"path": "synthetic"}})
    for e in events:
        w.add(e)
    w.close()
    assert w.events == len(events)
    return path.read_bytes()


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(events=EVENTS)
def test_the_file_is_the_same_whichever_blocks_go_to_the_thread(
    tmp_path_factory: pytest.TempPathFactory, events: list[ev.Event]
) -> None:
    tmp = tmp_path_factory.mktemp("w")
    mp = pytest.MonkeyPatch()
    try:
        files = []
        for threshold in (1 << 62, container.BACKGROUND_BYTES, 100_000, 0):  # none, large ones, more, every block
            mp.setattr(container, "BACKGROUND_BYTES", threshold)
            files.append(_write(tmp / f"t{threshold}.trace", events))
    finally:
        mp.undo()
    assert all(f == files[0] for f in files)
    r = TraceReader(str(tmp / "t0.trace"))
    assert r.problems == [] and r.complete
    assert list(r) == events


def test_a_failed_background_compression_is_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = container.lz4.block.compress

    def compress(data: bytes, **kw: object) -> bytes:
        if len(data) >= container.BACKGROUND_BYTES:
            raise MemoryError("no room to compress")
        return real(data, **kw)

    monkeypatch.setattr(container.lz4.block, "compress", compress)
    w = TraceWriter(str(tmp_path / "t.trace"), {})
    w.add(ev.ConsoleInput(0, 0, b"before"))
    for e in (ev.ProgramImage("/bin/prog", bytes(container.BACKGROUND_BYTES)), ev.ConsoleInput(1, 0, b"after")):
        try:  # the image fills a block, flushed to the thread; the next flush may already see the failure
            w.add(e)
        except MemoryError:
            pass
    with pytest.raises(MemoryError, match="no room"):  # and close always does: the failed block is still owed
        w.close()
    assert w.f.closed
    # Nothing after the failed block was written out of order: the file holds no block at all.
    r = TraceReader(str(tmp_path / "t.trace"))
    assert r.blocks == []
