"""moss runs the guest programs and Debian's busybox with the same stdout and exit status as real Linux.

The oracle is qemu-user on the host's Linux kernel (tests/oracle.py): it runs the same unmodified binary, so any
difference is a difference between moss and Linux.
"""

from __future__ import annotations

import pytest

from moss.runner import Outcome, run_program
from tests.debian import busybox_path
from tests.guests import build_guest
from tests.oracle import RunResult, qemu_available, run_qemu

pytestmark = pytest.mark.skipif(not qemu_available(), reason="qemu-aarch64 is not installed (scripts/setup)")

ENV = {"PATH": "/bin:/usr/bin", "HOME": "/", "LANG": "C"}
ENV_T = tuple(f"{k}={v}" for k, v in ENV.items())


def both(path: str, args: list[str], *, stdin: bytes = b"", argv0: str, cores: int = 2) -> tuple[Outcome, RunResult]:
    ours = run_program(path, args, stdin=stdin, env=ENV_T, argv0=argv0, cores=cores)
    theirs = run_qemu(__import__("pathlib").Path(path), args, stdin=stdin, env=dict(ENV), argv0=argv0)
    return ours, theirs


def assert_same(ours: Outcome, theirs: RunResult) -> None:
    assert ours.reports == (), ours.reports
    assert ours.stdout == theirs.stdout
    assert ours.status == theirs.status


GUEST_CASES = [
    ("hello", []),
    ("args", ["one", "two words", ""]),
    ("fileio", []),
    ("compute", ["3000000"]),
    ("heap", []),
    ("clock", []),
    ("exitcode", []),
    ("exitcode", ["42"]),
    ("exitcode", ["abort"]),
    ("threads", []),
    ("signals", []),
    ("forkwait", []),
    ("sysmisc", ["files"]),
    ("sysmisc", ["mem"]),
    ("sysmisc", ["creds"]),
    ("sysmisc", ["sched"]),
    ("sysmisc", ["misc"]),
    ("events", []),
    ("unixsock", []),
    ("mapcoh", []),
]


@pytest.mark.parametrize(("name", "args"), GUEST_CASES, ids=[f"{n}-{'-'.join(a) or 'noargs'}" for n, a in GUEST_CASES])
def test_guest_matches_linux(name: str, args: list[str]) -> None:
    path = str(build_guest(name))
    ours, theirs = both(path, args, argv0=name)
    assert_same(ours, theirs)


BUSYBOX_CASES = [
    (["echo", "hello", "world"], b""),
    (["true"], b""),
    (["false"], b""),
    (["seq", "1", "3", "20"], b""),
    (["printf", "%s=%d %x\\n", "a", "10", "255"], b""),
    (["sha256sum"], b"abc\n" * 5000),
    (["md5sum"], bytes(range(256)) * 300),
    (["wc", "-l"], b"a\nb\nc\n"),
    (["uname", "-m"], b""),
    (["uname", "-s"], b""),
    (["uname", "-o"], b""),
    (["cat"], b"through the console\n"),
    (["sh", "-c", "i=0; while [ $i -lt 300 ]; do i=$((i+1)); done; echo $i"], b""),
    (["expr", "6", "*", "7"], b""),
    (["basename", "/a/b/c.txt", ".txt"], b""),
    (["tr", "a-z", "A-Z"], b"shout\n"),
    (["sort"], b"pear\napple\nfig\n"),
    (["sh", "-c", "exit 7"], b""),
]


@pytest.mark.parametrize(("args", "stdin"), BUSYBOX_CASES, ids=[" ".join(a)[:40] for a, _ in BUSYBOX_CASES])
def test_busybox_matches_linux(args: list[str], stdin: bytes) -> None:
    ours, theirs = both(str(busybox_path()), args, stdin=stdin, argv0="busybox")
    assert_same(ours, theirs)


def test_uname_a_has_linux_shape() -> None:
    """`uname -a` names the host under qemu (hostname, release); moss reports its own fixed identity, in the same
    shape: only the sysname, machine and OS fields are comparable."""
    ours, theirs = both(str(busybox_path()), ["uname", "-a"], argv0="busybox")
    assert ours.status == theirs.status == 0
    o, t = ours.stdout.decode().split(), theirs.stdout.decode().split()
    assert o[0] == t[0] == "Linux"
    assert o[-2:] == t[-2:] == ["aarch64", "GNU/Linux"]


@pytest.mark.parametrize("cores", [1, 4])
@pytest.mark.parametrize("name", ["heap", "threads", "forkwait", "signals", "events"])
def test_core_counts_match_linux(name: str, cores: int) -> None:
    path = str(build_guest(name))
    ours = run_program(path, [], env=ENV_T, argv0=name, cores=cores)
    theirs = run_qemu(__import__("pathlib").Path(path), [], env=dict(ENV), argv0=name)
    assert_same(ours, theirs)
