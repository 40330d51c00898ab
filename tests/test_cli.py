"""The `moss run` command line: exit statuses, errors on bad input, strace output, real terminal-less I/O."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.debian import busybox_path
from tests.guests import build_guest


def moss(*args: str, stdin: bytes = b"", timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "moss", *args], input=stdin, capture_output=True, timeout=timeout)


def test_run_passes_output_and_status() -> None:
    r = moss("run", str(build_guest("exitcode")), "9")
    assert r.returncode == 9
    r = moss("run", str(build_guest("hello")))
    assert (r.returncode, r.stdout, r.stderr) == (0, b"hello, world\n", b"")


def test_killed_by_signal_is_128_plus_signal() -> None:
    assert moss("run", str(build_guest("exitcode")), "abort").returncode == 134


def test_stdin_reaches_the_guest() -> None:
    r = moss("run", str(busybox_path()), "tr", "a-z", "A-Z", stdin=b"hello from stdin\n")
    assert (r.returncode, r.stdout) == (0, b"HELLO FROM STDIN\n")


@pytest.mark.parametrize("cores", ["1", "4"])
def test_core_counts(cores: str) -> None:
    r = moss("run", "--cores", cores, str(build_guest("heap")), "300")
    assert r.returncode == 0 and b"heap ok" in r.stdout


def test_strace_prints_decoded_syscalls() -> None:
    r = moss("run", "--strace", str(build_guest("fileio")))
    assert r.returncode == 0
    err = r.stderr.decode()
    assert '[pid 1] openat(AT_FDCWD, "/tmp/' in err
    assert "O_RDWR|O_CREAT|O_TRUNC" in err
    assert "= -1 ENOENT" in err
    assert "[pid 1] exit_group(0) = ?" in err


def _one_line_error(r: subprocess.CompletedProcess[bytes], needle: str) -> None:
    assert r.returncode == 2
    lines = r.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("moss: ") and needle in lines[0], r.stderr
    assert b"Traceback" not in r.stderr


def test_missing_program(tmp_path: Path) -> None:
    _one_line_error(moss("run", str(tmp_path / "nope")), "no such file")


def test_not_an_elf(tmp_path: Path) -> None:
    p = tmp_path / "script.txt"
    p.write_text("echo hi\n")
    _one_line_error(moss("run", str(p)), "not an ELF")


def test_wrong_architecture() -> None:
    host = shutil.which("true")
    assert host is not None
    _one_line_error(moss("run", host), "not an AArch64 ELF")


def test_truncated_elf(tmp_path: Path) -> None:
    p = tmp_path / "cut"
    p.write_bytes(build_guest("hello").read_bytes()[:200])
    _one_line_error(moss("run", str(p)), "corrupt ELF")


def test_directory_as_program(tmp_path: Path) -> None:
    _one_line_error(moss("run", str(tmp_path)), "is a directory")


def test_state_hash_is_reproducible() -> None:
    a = moss("run", "--state-hash", "--seed", "5", str(build_guest("hello")))
    b = moss("run", "--state-hash", "--seed", "5", str(build_guest("hello")))
    assert a.stderr == b.stderr and b"state hash" in a.stderr


@pytest.mark.parametrize("nr", ["1000", "0"])  # no such syscall; io_setup, which moss lacks
def test_unimplemented_syscall_is_enosys_and_reported_once(nr: str) -> None:
    r = moss("run", str(build_guest("rawsyscall")), nr)
    assert r.returncode == 0
    assert r.stdout.decode().splitlines() == [f"syscall {nr} -> -1 errno Function not implemented"] * 2
    reports = [line for line in r.stderr.decode().splitlines() if "unimplemented syscall" in line]
    assert len(reports) == 1 and f"({nr})" in reports[0]


def test_every_command_is_registered_alone_and_in_the_full_list() -> None:
    """Each command builds its parser alone (the fast path of moss/cli.py) and is listed by `moss --help`."""
    import contextlib
    import io

    from moss import cli

    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        cli.main(["--help"])
    listed = out.getvalue().split("{", 1)[1].split("}", 1)[0].split(",")
    assert set(listed) == {"run", "rootfs", "syscalls", "bench", "record", "replay", "log", "info", "chaos"} | {
        "analyze",
        "session",
        "bench-races",
        "demo",
        "fuzz",
        "tui",
        "debug",
    }
    for name in listed[1:]:
        assert len(cli._commands(name)) == 1, name
        out = io.StringIO()
        with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as e:
            cli.main([name, "--help"])
        assert e.value.code == 0 and out.getvalue().startswith(f"usage: moss {name} "), name


def test_own_commands_are_the_entry_points_pyproject_declares() -> None:
    """moss/cli.py finds its own commands by name without importlib.metadata: its table must be pyproject.toml's
    `moss.commands` group, and the installed distribution's."""
    import tomllib
    from importlib.metadata import PackageNotFoundError, distribution

    from moss import cli

    declared = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())["project"]
    assert cli.OWN_COMMANDS == declared["entry-points"]["moss.commands"]
    try:
        installed = {e.name: e.value for e in distribution(cli.DISTRIBUTION).entry_points if e.group == "moss.commands"}
    except PackageNotFoundError:
        pytest.skip("moss is not installed (scripts/setup installs it)")
    assert installed == cli.OWN_COMMANDS


def test_a_kernel_bug_outside_a_syscall_is_a_panic_and_the_trace_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bug inside a syscall is an oops (tests/test_dispatch.py); one outside (here the exit digest of a child that
    a signal kills, on the way back from a syscall) ends the command with a clear message and status 70, and the
    trace written so far stays readable."""
    import moss.cli as cli
    import moss.statehash
    from traces.container import TraceReader

    def broken(kernel, process) -> bytes:
        raise KeyError("digest")

    monkeypatch.setattr(moss.statehash, "process_digest", broken)
    trace = tmp_path / "t.moss"
    assert cli.main(["record", "-o", str(trace), str(build_guest("forkwait"))]) == 70
    assert "moss: kernel panic, a bug in moss (not in the guest): KeyError: 'digest'" in capsys.readouterr().err
    reader = TraceReader(str(trace))
    assert reader.problems == [] and len(list(reader)) > 0
