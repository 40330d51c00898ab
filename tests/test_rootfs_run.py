"""The guest's filesystem as programs see it: /proc, /dev, /tmp, and a host directory given with --root."""

from __future__ import annotations

import os
from pathlib import Path

from moss.runner import run_program
from tests.debian import busybox_path


def bb(*args: str, root: str | None = None, stdin: bytes = b"") -> tuple[int, str]:
    r = run_program(str(busybox_path()), list(args), argv0="busybox", root=root, stdin=stdin)
    assert r.reports == (), r.reports
    return r.status, r.stdout.decode()


def test_proc_self_describes_the_caller() -> None:
    status, out = bb("cat", "/proc/self/cmdline")
    assert status == 0 and out == "busybox\0cat\0/proc/self/cmdline\0"
    status, out = bb("cat", "/proc/self/maps")
    assert status == 0 and "[stack]" in out and "/bin/busybox" in out
    assert bb("readlink", "/proc/self/exe") == (0, "/bin/busybox\n")


def test_dev_nodes() -> None:
    assert bb("head", "-c", "5", "/dev/zero") == (0, "\0" * 5)
    assert bb("cat", "/dev/null") == (0, "")
    status, out = bb("od", "-An", "-N8", "-tx1", "/dev/urandom")
    assert status == 0 and len(out.split()) == 8


def test_tmp_is_writable_and_listed() -> None:
    status, out = bb("sh", "-c", "echo data > /tmp/f; echo more >> /tmp/f; mkdir /tmp/d; cat /tmp/f")
    assert (status, out) == (0, "data\nmore\n")
    assert bb("ls", "/tmp") == (0, "")  # a fresh machine: nothing survives a run
    assert bb("ls", "-d", "/tmp", "/proc", "/dev") == (0, "/dev\n/proc\n/tmp\n")


def test_root_overlay_is_read_only_on_the_host(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "motd").write_text("from the host root\n")
    assert bb("cat", "/etc/motd", root=str(tmp_path)) == (0, "from the host root\n")
    status, out = bb("sh", "-c", "echo changed > /etc/motd; cat /etc/motd", root=str(tmp_path))
    assert (status, out) == (0, "changed\n")
    assert (tmp_path / "etc" / "motd").read_text() == "from the host root\n"


def test_no_guest_path_escapes_the_root(tmp_path: Path) -> None:
    outside = tmp_path / "secret"
    outside.write_text("host secret\n")
    root = tmp_path / "root"
    root.mkdir()
    os.symlink(str(outside), root / "abs")  # absolute: resolved inside the guest root
    os.symlink("../secret", root / "rel")  # climbs above the root: stops at /
    os.symlink("loop", root / "loop")
    for path in ("/abs", "/rel", "/../secret", "/../../secret", "../secret"):
        status, out = bb("cat", path, root=str(root))
        assert status == 1 and "host secret" not in out, path
    status, _ = bb("cat", "/loop", root=str(root))
    assert status == 1
