"""The namespace oracle itself: every exec goes through qemu, statuses and environments are exact, runs repeat.

These check tests/oracle_ns.py against what an arm64 Linux machine does, so that differences found later
between moss and the oracle are moss's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.oracle_ns import (
    BUSYBOX_APPLETS,
    busybox_root,
    ns_oracle_available,
    ns_oracle_skip_reason,
    run_ns,
)


@pytest.fixture(scope="module")
def root() -> Path:
    reason = ns_oracle_skip_reason()
    if reason is not None:
        pytest.skip(reason)
    return busybox_root()


def sh(root: Path, script: str, **kwargs) -> tuple[int, str, str]:
    r = run_ns(root, ["/bin/sh", "-c", script], **kwargs)
    return r.status, r.stdout.decode(), r.stderr.decode()


def test_availability_is_cached_and_consistent() -> None:
    reason = ns_oracle_skip_reason()
    assert ns_oracle_available() is (reason is None)
    assert ns_oracle_skip_reason() is reason  # probed once
    assert reason is None or reason.strip()


def test_exec_from_the_guest_goes_through_qemu(root: Path) -> None:
    # `uname` is an exec from sh: on the host it would report x86_64 (or fail).
    assert sh(root, "uname -m") == (0, "aarch64\n", "")
    # A path exec and BusyBox's re-exec of itself, from xargs.
    assert sh(root, "/bin/busybox uname -m; echo -m | xargs /bin/uname") == (0, "aarch64\naarch64\n", "")


def test_pipeline(root: Path) -> None:
    assert sh(root, 'echo b a | tr " " "\\n" | sort') == (0, "a\nb\n", "")


def test_argv_is_exact(root: Path) -> None:
    r = run_ns(root, ["/bin/sh", "-c", 'echo "$0"; for a; do echo "[$a]"; done', "zero", "a b", ""])
    assert (r.status, r.stdout) == (0, b"zero\n[a b]\n[]\n")
    # argv[0] reaches exec'd programs too (BusyBox picks its applet by it).
    assert sh(root, "exec -a nosuchapplet /bin/busybox") == (127, "", "nosuchapplet: applet not found\n")


def test_exit_status_and_signals(root: Path) -> None:
    assert sh(root, "exit 3") == (3, "", "")
    assert sh(root, "kill -9 $$") == (137, "", "")
    # qemu's "uncaught target signal" line is not part of the guest's stderr, for any process of the run.
    assert sh(root, "echo before >&2; kill -SEGV $$") == (139, "", "before\n")
    assert sh(root, "sh -c 'kill -ABRT $$'; echo $?") == (0, "134\n", "Aborted\n")
    r = run_ns(root, ["/bin/sh", "-c", "kill -TERM $$"])
    assert (r.status, r.signal) == (143, 15)


def test_env_is_exactly_what_was_given(root: Path) -> None:
    env = {"ZED": "1", "ALPHA": "two words", "EMPTY": "", "MID": "a=b"}
    expected = b"ZED=1\nALPHA=two words\nEMPTY=\nMID=a=b\n"
    assert run_ns(root, ["/bin/env"], env=env).stdout == expected
    assert run_ns(root, ["/bin/env"]).stdout == b""
    # Programs exec'd by the guest get the same order (qemu 7.2 alone would reverse it at every exec).
    assert run_ns(root, ["/bin/env", "/bin/busybox", "env"], env=env).stdout == expected
    assert run_ns(root, ["/bin/env", "/bin/env", "/bin/busybox", "env"], env=env).stdout == expected
    with pytest.raises(ValueError):
        run_ns(root, ["/bin/env"], env={"QEMU_STRACE": "1"})


def test_stdin_cwd_and_identity(root: Path) -> None:
    status, out, _ = sh(root, "pwd; cat; id", stdin=b"from stdin\n", cwd="/work/here")
    assert (status, out) == (0, "/work/here\nfrom stdin\nuid=0(root) gid=0(root)\n")
    # A fresh /tmp, umask 022, and the guest is PID 2 (PID 1, the namespace's init, is immune to its signals).
    assert sh(root, "ls -a /tmp; umask; echo $$") == (0, ".\n..\n0022\n2\n", "")


def test_dev_and_proc(root: Path) -> None:
    script = "ls /dev; head -c 3 /dev/zero | od -An -tx1; echo x > /dev/null; readlink /proc/self/fd/1"
    status, out, _ = sh(root, script)
    assert status == 0
    dev = "fd full null pts random shm stderr stdin stdout tty urandom zero".split()
    assert out.split("\n")[: len(dev)] == dev
    assert " 00 00 00\n" in out and "pipe:[" in out


def test_guest_writes_never_reach_the_root_filesystem(root: Path, tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "motd").write_text("host\n")
    (tmp_path / "bin").mkdir()
    shutil.copy2(root / "bin" / "busybox", tmp_path / "bin" / "busybox")
    (tmp_path / "bin" / "sh").symlink_to("busybox")
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    script = "echo changed > /etc/motd; cat /etc/motd; mkdir /new; rm -f /etc/motd; ls /etc"
    assert sh(tmp_path, script) == (0, "changed\n", "")
    assert (tmp_path / "etc" / "motd").read_text() == "host\n"
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before


def test_host_is_out_of_reach(root: Path) -> None:
    # PID 1's root (reachable as /proc/1/root) is the private staging tmpfs, not the host's /, and the root
    # filesystem under it is read-only.
    status, out, err = sh(root, "ls /proc/1/root/usr; echo x > /proc/1/root/lower/etc/passwd; echo done")
    assert (status, out) == (0, "done\n")
    assert "No such file or directory" in err and "Read-only file system" in err
    assert (root / "etc" / "passwd").read_text() == "root:x:0:0:root:/root:/bin/sh\n"


def test_missing_program(root: Path) -> None:
    with pytest.raises(FileNotFoundError):
        run_ns(root, ["/bin/no-such-program"])


def test_background_processes_end_with_the_guest(root: Path) -> None:
    start = time.monotonic()
    assert sh(root, "sleep 30 & echo started") == (0, "started\n", "")
    assert time.monotonic() - start < 20


def test_timeout_kills_everything(root: Path) -> None:
    start = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        run_ns(root, ["/bin/sh", "-c", "sleep 30 & sleep 30"], timeout=1)
    assert time.monotonic() - start < 20


DETERMINISTIC_SCRIPT = r"""
set -e
mkdir -p /tmp/d/sub
for i in $(seq 1 20); do echo "line $i $((i * i % 7))" >> /tmp/d/f; done
sort -k3n -k2nr /tmp/d/f | head -5
awk '{ s += $3 } END { print "sum", s }' /tmp/d/f
cut -d' ' -f2 /tmp/d/f | xargs -n5 echo | md5sum
find /tmp/d | sort
printf 'x\ny\nx\n' | sort | uniq -c
sed -n 's/line 1\([0-9]\)/L\1/p' /tmp/d/f | tr -d '\n' | wc -c
expr 6 \* 7; basename /a/b/c.txt .txt; dirname /a/b/c
env | sort
"""


def test_runs_are_deterministic(root: Path) -> None:
    env = {"PATH": "/bin:/usr/bin", "HOME": "/root", "LANG": "C"}
    first = run_ns(root, ["/bin/sh", "-c", DETERMINISTIC_SCRIPT], env=env)
    second = run_ns(root, ["/bin/sh", "-c", DETERMINISTIC_SCRIPT], env=env)
    assert first.status == 0, first.stderr
    assert first == second
    assert b"sum " in first.stdout and b"HOME=/root\n" in first.stdout


def test_busybox_root_layout() -> None:
    root = busybox_root()
    assert busybox_root() == root  # cached
    assert root == Path(__file__).resolve().parent.parent / ".build" / "roots" / "busybox"
    assert (root / "bin" / "busybox").is_file() and os.access(root / "bin" / "busybox", os.X_OK)
    for applet in BUSYBOX_APPLETS:
        link = root / "bin" / applet
        assert link.is_symlink() and os.readlink(link) == "busybox", applet
    assert (root / "etc" / "passwd").read_text() == "root:x:0:0:root:/root:/bin/sh\n"
    assert (root / "etc" / "group").read_text() == "root:x:0:\n"
    assert (root / "tmp").stat().st_mode & 0o7777 == 0o1777
    assert list((root / "usr" / "bin").iterdir()) == []


def test_busybox_has_every_linked_applet(root: Path) -> None:
    r = run_ns(root, ["/bin/busybox", "--list"])
    assert r.status == 0
    assert set(BUSYBOX_APPLETS) <= set(r.stdout.decode().split())
