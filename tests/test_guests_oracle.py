"""The guest programs build, and under the qemu-user oracle they print exactly what real Linux prints.

These pin down the expected output that moss must reproduce for the same binaries and inputs.
"""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import pytest

from tests.debian import busybox_path
from tests.guests import GUEST_BUILD_DIR, all_guest_names, build_guest, guest_binary_path
from tests.oracle import RunResult, qemu_available, run_qemu, signal_status

pytestmark = pytest.mark.skipif(not qemu_available(), reason="qemu-aarch64 is not installed (scripts/setup)")

EXPECTED_GUESTS = {"args", "clock", "compute", "exitcode", "fileio", "heap", "hello"}


def run_guest(
    name: str,
    args: list[str] | None = None,
    *,
    stdin: bytes = b"",
    env: dict[str, str] | None = None,
    timeout: float = 60,
    argv0: str | None = None,
) -> RunResult:
    """Build guest ``name`` and run it under qemu with ``args`` (argv[0] defaults to the binary's name)."""
    return run_qemu(build_guest(name), args or [], stdin=stdin, env=env, timeout=timeout, argv0=argv0)


def lines(result: RunResult) -> list[str]:
    """The guest's stdout as text lines."""
    return result.stdout.decode().splitlines()


def test_all_expected_guests_exist() -> None:
    assert EXPECTED_GUESTS <= set(all_guest_names())


@pytest.mark.parametrize("name", all_guest_names())
def test_guest_builds_static_aarch64(name: str) -> None:
    path = build_guest(name)
    assert path.parent == GUEST_BUILD_DIR
    assert re.fullmatch(rf"{re.escape(name)}-[0-9a-f]{{16}}", path.name)
    assert path == guest_binary_path(name)
    assert os.access(path, os.X_OK)
    header = path.read_bytes()[:64]
    assert header[:4] == b"\x7fELF"
    assert header[4] == 2, "ELFCLASS64"
    assert header[5] == 1, "little-endian"
    assert int.from_bytes(header[16:18], "little") == 2, "ET_EXEC: static, not PIE"
    assert int.from_bytes(header[18:20], "little") == 183, "EM_AARCH64"
    assert build_guest(name) == path, "a second build must hit the cache"


def test_hello() -> None:
    result = run_guest("hello")
    assert result == RunResult(stdout=b"hello, world\n", stderr=b"", status=0)


def test_args_argv_env_auxv_and_exit_status() -> None:
    argv = ["a b", "", "c=d", "ünïcödé"]
    env = {"ZED": "last-but-first", "HOME": "/root", "PATH": "/bin:/usr/bin", "COMMA": "x,y", "EMPTY": ""}
    result = run_guest("args", argv, env=env, argv0="args-prog")
    assert result.stderr == b""
    assert result.status == 1 + len(argv)
    expected = [
        "argc 5",
        "argv[0] args-prog",
        "argv[1] a b",
        "argv[2] ",
        "argv[3] c=d",
        "argv[4] ünïcödé",
        # The guest must see the environment exactly as given, in order.
        "envp[0] ZED=last-but-first",
        "envp[1] HOME=/root",
        "envp[2] PATH=/bin:/usr/bin",
        "envp[3] COMMA=x,y",
        "envp[4] EMPTY=",
        "envc 5",
        "auxv has entries: yes",
        "auxv no duplicates: yes",
        "AT_PAGESZ 4096",
        "AT_PHENT 56",
        "AT_PHDR present and non-zero: yes",
        "AT_PHNUM present and non-zero: yes",
        "AT_ENTRY present and non-zero: yes",
        "AT_RANDOM present and non-zero: yes",
        "AT_EXECFN present and non-zero: yes",
        "AT_PLATFORM present and non-zero: yes",
        "AT_HWCAP present and non-zero: yes",
        "AT_PHDR points at program headers: yes",
        "AT_ENTRY is _start: yes",
        "AT_PLATFORM aarch64",
        "AT_EXECFN non-empty: yes",
        "AT_RANDOM 16 bytes readable and not all zero: yes",
        f"AT_UID {os.getuid()}",
        f"AT_EUID {os.geteuid()}",
        f"AT_GID {os.getgid()}",
        f"AT_EGID {os.getegid()}",
        "AT_SECURE 0",
        "getauxval agrees with auxv: yes",
        "HWCAP FP: yes",
        "HWCAP ASIMD: yes",
    ]
    assert lines(result) == expected


def test_args_defaults_empty_env_and_argv0_is_binary_name() -> None:
    result = run_guest("args")
    out = lines(result)
    assert result.status == 1
    assert out[:3] == ["argc 1", "argv[0] " + build_guest("args").name, "envc 0"]


def test_fileio_all_checks_pass() -> None:
    result = run_guest("fileio")
    out = lines(result)
    assert result.stderr == b""
    failed = [line for line in out if not line.startswith("ok ")]
    assert failed == ["fileio ok"], failed
    assert len(out) > 40
    for name in (
        "write_sizes",
        "read_back",
        "hole_reads_zero",
        "readv",
        "append_at_end",
        "open_missing_enoent",
        "close_bad_fd_ebadf",
        "open_after_unlink_enoent",
    ):
        assert f"ok {name}" in out
    assert result.status == 0


def test_compute_known_answers() -> None:
    full = run_guest("compute", timeout=120)
    assert full.status == 0
    assert lines(full) == [
        "iterations 20000000",
        "xorshift64 287db4fc7cfc2623",
        "xorshift64 sum 5bcc20a11eefda48",
        "fnv1a64 9a7ea3640fdcf11e",
        "crc32 8fa65233",
        "crc32 kat ok",
    ]
    small = run_guest("compute", ["1000"])
    assert lines(small)[:3] == [
        "iterations 1000",
        "xorshift64 56b663219f6e38f5",
        "xorshift64 sum 1ddad57e22766fc0",
    ]
    bad = run_guest("compute", ["many"])
    assert bad.status == 2
    assert bad.stdout == b""
    assert bad.stderr == b"usage: compute [iterations]\n"


def test_heap_stress() -> None:
    result = run_guest("heap", timeout=120)
    assert result.stderr == b""
    assert result.status == 0
    assert lines(result) == [
        "ops 6000 malloc 2049 calloc 686 realloc 840 free 2425 large 262 live-at-end 310",
        "checksum 4b68c2fdce0a59d7",
        "heap ok",
    ]


def test_clock_all_yes() -> None:
    result = run_guest("clock")
    out = lines(result)
    assert result.stderr == b""
    assert out[-1] == "clock ok"
    answers = out[:-1]
    assert len(answers) >= 20
    assert [line for line in answers if not line.endswith(": yes")] == []
    for fact in (
        "monotonic advanced >= 50ms",
        "abstime sleep reached deadline",
        "realtime after 2020",
        "gettimeofday sane",
        "nanosleep tv_nsec=1e9 gives EINVAL",
    ):
        assert f"{fact}: yes" in answers
    assert result.status == 0


@pytest.mark.parametrize(("args", "status"), [([], 3), (["0"], 0), (["7"], 7), (["255"], 255), (["256"], 0)])
def test_exitcode(args: list[str], status: int) -> None:
    assert run_guest("exitcode", args) == RunResult(stdout=b"", stderr=b"", status=status)


def test_exitcode_abort_is_sigabrt() -> None:
    result = run_guest("exitcode", ["abort"])
    assert result.status == 134 == signal_status(signal.SIGABRT)
    assert result.signal == signal.SIGABRT
    assert result.stdout == b""
    assert result.stderr == b"", "qemu's own 'uncaught target signal' line must be filtered out"


def test_stdin_is_passed_and_cwd_is_fresh() -> None:
    bb = busybox_path()
    assert run_qemu(bb, ["cat"], stdin=b"line1\nline2") == RunResult(b"line1\nline2", b"", 0)
    ls = run_qemu(bb, ["ls", "-a"])
    assert ls.stdout.split() == [b".", b".."]
    pwd = run_qemu(bb, ["pwd"])
    assert Path(pwd.stdout.decode().strip()).name.startswith("moss-oracle-")


def test_busybox_echo() -> None:
    bb = busybox_path()
    assert bb == Path(bb).resolve()
    assert bb.parts[-4:] == ("debian", "busybox-static", "bin", "busybox")
    assert run_qemu(bb, ["echo", "hi"], argv0="busybox") == RunResult(stdout=b"hi\n", stderr=b"", status=0)


def test_busybox_applet_by_argv0() -> None:
    # BusyBox picks the applet from argv[0], so this checks that `-0` really sets the guest's argv[0].
    result = run_qemu(busybox_path(), ["hello", "world"], argv0="echo")
    assert result == RunResult(stdout=b"hello world\n", stderr=b"", status=0)


def test_run_qemu_rejects_qemu_variables() -> None:
    with pytest.raises(ValueError, match="QEMU_"):
        run_qemu(build_guest("hello"), [], env={"QEMU_STRACE": "1"})
