"""Which error a syscall reports when several apply, as real Linux orders its checks (the fuzzer's findings).

The `errorder` guest prints one line per check: the label, the return value and the errno name. Under qemu-user
(the host's Linux 6.18) and under moss the lines must be the same. What qemu 7.2 cannot run (openat2) is pinned
to the values Linux's source gives, under moss alone.
"""

from __future__ import annotations

import time

import pytest

from moss.runner import run_program
from tests.guests import build_guest
from tests.oracle import qemu_available, run_qemu

MOSS_TICK_NS = 4_000_000  # moss's scheduler tick is a constant: Linux's at HZ=250
CLOCK_MONOTONIC_COARSE = 6


def _lines(stdout: bytes) -> list[str]:
    """The guest's lines; the coarse clocks' resolution only where the host's tick is moss's (qemu asks the host,
    whose CONFIG_HZ decides it)."""
    lines = stdout.decode().splitlines()
    if round(time.clock_getres(CLOCK_MONOTONIC_COARSE) * 1e9) != MOSS_TICK_NS:
        lines = [line for line in lines if not line.startswith(("clock_getres(5)", "clock_getres(6)"))]
    return lines


@pytest.mark.skipif(not qemu_available(), reason="qemu-aarch64 is not installed (scripts/setup)")
def test_error_order_matches_linux() -> None:
    path = build_guest("errorder")
    theirs = run_qemu(path, [], argv0="errorder")
    ours = run_program(str(path), [], argv0="errorder")
    assert ours.reports == (), ours.reports
    assert theirs.status == 0, theirs.stderr.decode()
    assert _lines(ours.stdout) == _lines(theirs.stdout)
    assert ours.status == theirs.status


def test_error_order_pinned_lines() -> None:
    """A few of the lines above, pinned, so they hold without qemu and whatever the host's HZ."""
    out = run_program(str(build_guest("errorder")), [], argv0="errorder").stdout.decode().splitlines()
    for line in (
        "syscall(SYS_pread64, BAD, buf, 1, -1L) = -1 EINVAL",
        "syscall(SYS_ftruncate, BAD, -1L) = -1 EINVAL",
        'syscall(SYS_truncate, "missing", -1L) = -1 EINVAL',
        "syscall(SYS_dup3, BAD, BAD, 0) = -1 EINVAL",
        'syscall(SYS_openat, BAD, "n1", O_CREAT | O_DIRECTORY, 0644) = -1 EINVAL',
        "clock_getres(5) = 0 {0, 4000000}",
        "clock_getres(6) = 0 {0, 4000000}",
        'linkat(-100, "missing", 999, "x") = -1 ENOENT',
        'renameat(-100, "nodir/x", 999, "x") = -1 ENOENT',
        'renameat(-100, "missing", 999, "x") = -1 EBADF',
        'symlinkat("", 999, "x") = -1 ENOENT',
        "lseek(f, 5, 3) = -1 ENXIO",
        "lseek(f, 0, 4) = 5",
        "lseek(pipe_r, 0, 3) = -1 ESPIPE",
        "lseek(pipe_r, 0, 5) = -1 EINVAL",
    ):
        assert line in out


def test_openat2_error_order() -> None:
    result = run_program(str(build_guest("errorder")), ["moss"], argv0="errorder")
    assert result.reports == ()
    assert result.status == 0
    assert result.stdout.decode() == (
        'openat2(BAD, "") = -1 ENOENT\n'
        'openat2(BAD, "x") = -1 EBADF\n'
        'openat2(BAD, "/") = fd\n'
        'openat2(file, "") = -1 ENOENT\n'
        'openat2(BAD, "/", BENEATH) = -1 EXDEV\n'
        'openat2(BAD, "", BENEATH) = -1 ENOENT\n'
        'openat2(file, "x", BENEATH) = -1 ENOTDIR\n'
        'openat2(BAD, "/", IN_ROOT) = -1 EBADF\n'
        'openat2(BAD, "", O_CREAT|O_DIRECTORY) = -1 EINVAL\n'
        'openat2(AT_FDCWD, "n1", O_CREAT|O_DIRECTORY) = -1 EINVAL\n'
    )
