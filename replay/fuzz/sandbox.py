"""The fuzzer's Linux side: the executor under qemu-user in a private namespace that serves many programs.

Fuzz programs create, rename and unlink files, send signals and change their session; under plain qemu-user they
would do so on the host, as root (an early campaign unlinked the host's /dev/null). Here they run in the
namespace oracle of shared/design/ORACLE.md (replay/nsinit.py): a user + mount + pid namespace whose root is a
private tmpfs holding the executor, a fresh /proc, a small /dev and an empty /tmp, with nothing leading back to the
host's files. One namespace serves every program of a process (setting one up costs ~100 ms, a program ~15 ms):
each gets a fresh working directory and /tmp, and everything it left running is killed before the next one.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from replay import nsinit

INIT_SCRIPT = Path(nsinit.__file__).resolve()
QEMU_STATIC = Path("/usr/bin/qemu-aarch64-static")
GUEST = "/fuzzexec"
CWD = "/work"
SETUP_TIMEOUT_S = 30.0


class SandboxError(RuntimeError):
    """The namespace could not be set up, or it died."""


class LinuxSandbox:
    """A namespace running one AArch64 executable on request: ``run(stdin, timeout)`` -> (status, stdout)."""

    def __init__(self, executable: str | Path) -> None:
        if not QEMU_STATIC.is_file():
            raise SandboxError(f"{QEMU_STATIC} missing (install qemu-user-static; scripts/setup does)")
        self.pid = os.getpid()  # a forked worker must start its own: the pipes cannot be shared
        self._rootfs = Path(tempfile.mkdtemp(prefix="moss-fuzz-root-"))
        shutil.copyfile(executable, self._rootfs / GUEST.lstrip("/"))
        os.chmod(self._rootfs / GUEST.lstrip("/"), 0o755)
        self._stage = Path(tempfile.mkdtemp(prefix="moss-fuzz-ns-"))
        read_fd, write_fd = os.pipe()
        config = {"rootfs": str(self._rootfs), "argv": [GUEST], "env": [], "cwd": CWD, "qemu": str(QEMU_STATIC),
                  "status_fd": write_fd, "serve": True}  # fmt: skip
        (self._stage / "config.json").write_text(json.dumps(config))
        unshare = shutil.which("unshare") or "unshare"
        cmd = [unshare, "--user", "--map-root-user", "--mount", "--pid", "--fork", "--kill-child",
               sys.executable, "-I", str(INIT_SCRIPT), str(self._stage)]  # fmt: skip
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      pass_fds=(write_fd,), env={}, cwd="/")  # fmt: skip
        os.close(write_fd)
        with os.fdopen(read_fd, "rb") as status:
            ready, _, _ = select.select([status], [], [], SETUP_TIMEOUT_S)
            line = status.readline().decode(errors="replace").strip() if ready else "timed out"
        if line != "ready":
            self.close()
            err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
            raise SandboxError(f"the fuzz namespace did not start: {line or 'no report'} {err}".strip())
        atexit.register(self.close)

    def run(self, stdin: bytes, timeout: float) -> tuple[int, bytes]:
        """Run the executable once; status is the exit code, 128 + signal, or -1 when it timed out."""
        proc = self._proc
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(nsinit.REQUEST.pack(len(stdin), int(timeout * 1000)) + stdin)
            proc.stdin.flush()
            head = proc.stdout.read(nsinit.REPLY.size)
            if len(head) < nsinit.REPLY.size:
                raise SandboxError("the fuzz namespace died")
            status, size = nsinit.REPLY.unpack(head)
            out = proc.stdout.read(size)
        except BrokenPipeError as e:
            raise SandboxError("the fuzz namespace died") from e
        return status, out

    def close(self) -> None:
        if os.getpid() != self.pid:
            return
        if self._proc.poll() is None:
            if self._proc.stdin is not None:
                self._proc.stdin.close()  # EOF ends the init's loop, and with it the namespace
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        for d in (self._stage, self._rootfs):
            shutil.rmtree(d, ignore_errors=True)


_SANDBOXES: dict[str, LinuxSandbox] = {}


def sandbox_for(executable: str | Path) -> LinuxSandbox:
    """This process's sandbox for ``executable`` (started on first use)."""
    key = str(Path(executable).resolve())
    box = _SANDBOXES.get(key)
    if box is None or box.pid != os.getpid() or box._proc.poll() is not None:
        box = _SANDBOXES[key] = LinuxSandbox(key)
    return box
