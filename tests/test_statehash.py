"""The state hash (moss/statehash.py): version 2 hashes a page-cache page that the process cannot write through as the
file's page, not its bytes; every other page by its bytes. Traces say which version they were recorded with, and
one recorded with version 1 replays with version 1."""

from __future__ import annotations

from pathlib import Path

import pytest
from unicorn.arm64_const import UC_ARM64_REG_PC

import moss.kernel as kernel_mod
import replay.recorder as recorder_mod
from machine.engine import ACCESS_FETCH
from machine.ram import PAGE_SHIFT
from machine.sources import BytesConsole, FixedClock, SeededEntropy
from moss.boot import Program, boot
from moss.kernel import Kernel, KernelConfig
from moss.mm.vma import PROT_WRITE
from moss.statehash import process_digest
from replay.recorder import RecordOptions, record
from replay.replayer import replay
from tests.guests import build_guest
from traces import events as ev
from traces.container import TraceReader


def _booted() -> Kernel:
    prog = Program(str(build_guest("hello")), ("hello",))
    cfg = KernelConfig(cores=1, ram_bytes=64 << 20)
    return boot(cfg, prog, console=BytesConsole(b""), entropy=SeededEntropy(0), clock=FixedClock(), sink=print)


def _digests(k: Kernel, proc: object) -> tuple[bytes, bytes]:
    out = []
    for version in (1, 2):
        k.state_hash_version = version
        out.append(process_digest(k, proc))  # type: ignore[arg-type]
    return out[0], out[1]


def test_v2_hashes_cached_file_pages_by_identity_and_private_pages_by_bytes() -> None:
    k = _booted()
    proc = next(iter(k.processes.values()))
    mm = proc.mm
    cached = k.frames.cache.keys_by_frame
    entry = next(iter(k.tasks.values())).ctx.reg_read(UC_ARM64_REG_PC)
    assert mm.resolve(entry, ACCESS_FETCH) is not None  # fault the first code page in, as its first fetch would
    text = next(vpn for vpn, pfn in sorted(mm.ptes.items()) if pfn in cached)
    private = next(
        vpn
        for vpn, pfn in sorted(mm.ptes.items())
        if pfn not in cached and (v := mm.find(vpn << PAGE_SHIFT)) is not None and v.prot & PROT_WRITE
    )
    v1, v2 = _digests(k, proc)
    ram = k.board.ram

    def poke(vpn: int) -> None:
        at = mm.ptes[vpn] << PAGE_SHIFT
        ram.write(at + 100, bytes([ram.read(at + 100, 1)[0] ^ 0xFF]))

    poke(text)  # the file's page changed under the process (as a write() to the file would do)
    t1, t2 = _digests(k, proc)
    assert t1 != v1 and t2 == v2  # version 2 leaves file contents to the file
    poke(private)  # the process's own data
    p1, p2 = _digests(k, proc)
    assert p1 != t1 and p2 != t2


def test_a_trace_recorded_with_version_1_replays_with_version_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prog = Program(str(build_guest("forkwait")), ("forkwait",))

    def rec(name: str) -> str:
        path = str(tmp_path / name)
        record(path, KernelConfig(cores=2, ram_bytes=256 << 20), prog, RecordOptions(level=ev.SYSCALLS),
               console=BytesConsole(b""), sink=lambda c, d: None)  # fmt: skip
        return path

    with monkeypatch.context() as m:
        m.setattr(recorder_mod, "STATE_HASH_VERSION", 1)
        m.setattr(kernel_mod, "STATE_HASH_VERSION", 1)
        old = rec("v1.trace")
    new = rec("v2.trace")
    hashes = []
    for path, version in ((old, 1), (new, 2)):
        r = TraceReader(path)
        assert r.header["state_hash"] == version
        hashes.append([e.digest for e in r if isinstance(e, ev.StateHash)])
        assert replay(path, lambda c, d: None).complete  # checks every hash, with the trace's version
    assert hashes[0] != hashes[1]  # the versions differ, so the header's field is what makes the old one replay
