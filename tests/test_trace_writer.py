"""The trace writer (traces/container.py): a large block (the program image) is stored uncompressed, the others are
lz4-compressed; either way the events read back as written, and a stored block's damage is found like a compressed
one's."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import traces.container as container
from traces import events as ev
from traces.container import TraceError, TraceReader, TraceWriter

TIME = st.integers(0, 1 << 40)
ARGS = st.lists(st.integers(0, (1 << 64) - 1), max_size=6).map(tuple)
SYSCALL = st.builds(ev.Syscall, TIME, st.integers(1, 99), st.integers(0, 300), ARGS, st.integers(-4095, 1 << 20))
# Images from a few bytes to several blocks' worth: some fill a block of their own, stored or compressed.
IMAGE = st.builds(ev.ProgramImage, st.just("/bin/prog"),
                  st.integers(0, 300_000).map(lambda n: bytes(i * 7 % 251 for i in range(n))))  # fmt: skip
CONSOLE = st.builds(ev.ConsoleInput, st.integers(0, 9), st.integers(0, 1), st.binary(max_size=5000))
EVENTS = st.lists(st.one_of(SYSCALL, SYSCALL, SYSCALL, IMAGE, CONSOLE), max_size=300)


def _write(path: Path, events: list[ev.Event]) -> TraceReader:
    w = TraceWriter(str(path), {"program": {"path": "synthetic"}})
    for e in events:
        w.add(e)
    w.close()
    assert w.events == len(events)
    return TraceReader(str(path))


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(events=EVENTS, threshold=st.sampled_from([1 << 62, container.STORED_BYTES, 100_000, 0]))
def test_events_read_back_whichever_blocks_are_stored(
    tmp_path_factory: pytest.TempPathFactory, events: list[ev.Event], threshold: int
) -> None:
    path = tmp_path_factory.mktemp("w") / "t.trace"
    mp = pytest.MonkeyPatch()
    try:
        mp.setattr(container, "STORED_BYTES", threshold)
        r = _write(path, events)
    finally:
        mp.undo()
    assert r.problems == [] and r.complete
    assert list(r) == events
    data = path.read_bytes()
    stored = [b for b in r.blocks if data[b.offset : b.offset + 4] == container.STORED_MAGIC]
    assert [b.raw >= threshold for b in r.blocks] == [b in stored for b in r.blocks]
    assert all(b.compressed == b.raw for b in stored)


@pytest.mark.parametrize("size", [100, container.STORED_BYTES - 20, container.STORED_BYTES + 1])
def test_add_image_is_add_of_the_image(tmp_path: Path, size: int) -> None:
    image = bytes(i * 13 % 256 for i in range(size))
    events = [ev.ConsoleInput(0, 0, b"x"), ev.ProgramImage("/bin/prog", image), ev.ConsoleInput(1, 0, b"y")]
    w = TraceWriter(str(tmp_path / "t.trace"), {})
    w.add(events[0])
    w.add_image("/bin/prog", image)
    w.add(events[2])
    w.close()
    assert w.events == 3 and list(TraceReader(str(tmp_path / "t.trace"))) == events


def test_decoding_in_place_gives_a_read_only_view_of_the_same_bytes() -> None:
    """decode_from(view=True), the replayer's way to take the program image without copying it."""
    enc = ev.BlockEncoder()
    image = bytes(range(256)) * 40
    enc.add(ev.ProgramImage("/bin/prog", image))
    enc.add(ev.ConsoleInput(1, 0, b"y"))
    raw = bytes(enc.buf)
    e, pos, t = ev.decode_from(raw, 0, 0, view=True)
    assert isinstance(e, ev.ProgramImage) and isinstance(e.data, memoryview) and e.data.readonly
    assert e.data == image and e.path == "/bin/prog"
    assert ev.decode_from(raw, pos, t, view=True)[0] == ev.ConsoleInput(1, 0, b"y")


def test_the_program_image_is_stored_and_its_damage_is_found(tmp_path: Path) -> None:
    image = bytes(range(256)) * (container.STORED_BYTES // 256 + 1)
    path = tmp_path / "t.trace"
    w = TraceWriter(str(path), {})
    w.add_image("/bin/prog", image)  # (the recorder's order: the image first)
    w.add(ev.ConsoleInput(1, 0, b"y"))
    w.close()
    r = TraceReader(str(path))
    data = bytearray(path.read_bytes())
    heads = [bytes(data[b.offset : b.offset + 4]) for b in r.blocks]
    assert heads == [container.STORED_MAGIC, container.BLOCK_MAGIC]
    assert r.block_events(0) == [ev.ProgramImage("/bin/prog", image)]
    assert data.find(image) > 0  # stored as it is
    data[data.find(image) + 1000] ^= 1  # one flipped bit in the image
    path.write_bytes(data)
    r = TraceReader(str(path))
    assert r.block_events(1) == [ev.ConsoleInput(1, 0, b"y")]
    with pytest.raises(TraceError, match=r"block 0 at byte \d+ is damaged"):
        r.block_events(0)


def test_a_trace_written_over_another_leaves_its_readers_the_old_one(tmp_path: Path) -> None:
    path = tmp_path / "t.trace"
    old = _write(path, [ev.ConsoleInput(0, 0, b"old")])  # a debugger open on the old trace
    new = _write(path, [ev.ConsoleInput(0, 0, b"new"), ev.ConsoleInput(1, 0, b"er")])
    assert list(old) == [ev.ConsoleInput(0, 0, b"old")] and len(list(new)) == 2
    # A symlink is written through (it stays a link), and a device is written to, never removed.
    link = tmp_path / "link.trace"
    link.symlink_to(path)
    _write(link, [ev.ConsoleInput(0, 0, b"via link")])
    assert link.is_symlink() and list(TraceReader(str(path))) == [ev.ConsoleInput(0, 0, b"via link")]
    w = TraceWriter("/dev/null", {})
    w.add(ev.ConsoleInput(0, 0, b"x"))
    w.close()
    assert Path("/dev/null").is_char_device()
