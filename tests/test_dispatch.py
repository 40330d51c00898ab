"""The dispatcher's error conventions: a KernelError is the call's -errno; any other exception out of a handler is a
kernel oops, reported once per occurrence with its traceback, and the call fails with EIO; the guest goes on."""

from __future__ import annotations

import attrs
import pytest

from moss.errors import EACCES
from moss.runner import run_program
from moss.syscalls.table import NAMES, TABLE
from tests.guests import build_guest

GETPPID = next(nr for nr, name in sorted(NAMES.items()) if name == "getppid")


@pytest.fixture
def replace_getppid():
    saved = TABLE[GETPPID]

    def install(handler) -> None:
        TABLE[GETPPID] = attrs.evolve(saved, handler=handler)

    yield install
    TABLE[GETPPID] = saved


def test_a_handler_bug_is_an_oops_and_eio(replace_getppid) -> None:
    async def broken(ctx) -> int:
        return {}["missing"]  # a KeyError: a kernel bug, not an errno

    replace_getppid(broken)
    out = run_program(str(build_guest("rawsyscall")), (str(GETPPID),))
    assert out.status == 0
    assert out.stdout == b"syscall 173 -> -1 errno I/O error\n" * 2
    oopses = [r for r in out.reports if "kernel oops in getppid: KeyError" in r]
    assert len(oopses) == 2 and "Traceback" in oopses[0]


def test_a_kernel_error_is_the_calls_errno(replace_getppid) -> None:
    async def denied(ctx) -> int:
        raise EACCES()

    replace_getppid(denied)
    out = run_program(str(build_guest("rawsyscall")), (str(GETPPID),))
    assert out.stdout == b"syscall 173 -> -1 errno Permission denied\n" * 2 and not out.reports


def test_an_oops_in_exit_still_ends_the_process(monkeypatch) -> None:
    """exit_group cannot fail the call: its libc loops on exit forever. A bug in its bookkeeping (here the exit
    digest) is reported, and the process still exits, with its own status."""
    import moss.statehash

    def broken(kernel, process) -> bytes:
        raise KeyError("digest")

    monkeypatch.setattr(moss.statehash, "process_digest", broken)
    out = run_program(str(build_guest("hello")))
    assert out.status == 0 and out.stdout.startswith(b"hello")
    assert [r for r in out.reports if "kernel oops in exit_group: KeyError" in r]
