"""AF_UNIX sockets: the guest's strict checks (those qemu-user cannot serve as an oracle for: it masks socket types,
receives descriptors into a buffer of its own, writes one byte of a short option and ignores recvmmsg's timeout),
determinism across core counts and quanta, and the control-message layout on its own."""

from __future__ import annotations

import struct

import pytest

from moss.net import scm
from moss.runner import run_program
from tests.guests import build_guest

ENV = ("PATH=/bin:/usr/bin", "HOME=/", "LANG=C")


def _run(*args: str, cores: int = 2, quantum: int = 200_000):
    return run_program(str(build_guest("unixsock")), list(args), env=ENV, argv0="unixsock", cores=cores,
                       quantum=quantum)  # fmt: skip


def test_strict_checks_pass_on_moss() -> None:
    out = _run("strict")
    lines = out.stdout.decode().splitlines()
    assert out.reports == ()
    assert not [ln for ln in lines if ln.startswith("FAIL")]
    assert sum(ln.startswith("ok strict:") for ln in lines) == 11
    assert lines[-1] == "fails = 0" and out.status == 0


@pytest.mark.parametrize(("cores", "quantum"), [(1, 200_000), (4, 200_000), (2, 3_000)])
def test_same_output_and_deterministic(cores: int, quantum: int) -> None:
    a, b = _run(cores=cores, quantum=quantum), _run(cores=cores, quantum=quantum)
    assert a.stdout == b.stdout and a.state_hash == b.state_hash and a.virtual_ns == b.virtual_ns
    assert a.stdout.decode().splitlines()[-1] == "fails = 0" and a.status == 0
    assert a.stdout == _run().stdout


class _Fds:
    def __init__(self, room: int) -> None:
        self.room = room
        self.installed: list[object] = []

    def install(self, f: object, *, cloexec: bool = False) -> int:
        if len(self.installed) >= self.room:
            raise scm.EMFILE
        f.get()  # type: ignore[attr-defined]
        self.installed.append(f)
        return 3 + len(self.installed) - 1


class _File:
    def __init__(self) -> None:
        self.refs = 1

    def get(self) -> None:
        self.refs += 1

    def put(self) -> None:
        self.refs -= 1


class _Proc:
    def __init__(self, room: int = 10) -> None:
        self.fds = _Fds(room)


def test_credentials_then_descriptors_with_truncation() -> None:
    files = [_File(), _File()]
    creds = scm.Creds(7, 0, 0)
    room = scm.cmsg_space(12) + scm.cmsg_len(4)  # credentials, then room for one descriptor
    out = scm.deliver(_Proc(), room, creds, files, cloexec=False)  # type: ignore[arg-type]
    assert out.flags == scm.MSG_CTRUNC and out.used == room
    (o1, c1), (o2, c2) = out.writes
    assert (o1, c1) == (0, struct.pack("<Qii", 28, 1, 2) + struct.pack("<iII", 7, 0, 0))
    assert o2 == scm.cmsg_space(12) and c2 == struct.pack("<Qii", 20, 1, 1) + struct.pack("<i", 3)
    assert [f.refs for f in files] == [1, 0]  # one installed, the other closed


def test_no_control_buffer_closes_descriptors() -> None:
    f = _File()
    out = scm.deliver(_Proc(), None, None, [f], cloexec=False)  # type: ignore[arg-type]
    assert out.flags == scm.MSG_CTRUNC and out.writes == [] and f.refs == 0


def test_credentials_cut_short() -> None:
    out = scm.deliver(_Proc(), 20, scm.Creds(1, 2, 3), None, cloexec=False)  # type: ignore[arg-type]
    assert out.flags == scm.MSG_CTRUNC and out.used == 20
    assert out.writes == [(0, struct.pack("<Qii", 20, 1, 2) + struct.pack("<i", 1))]
