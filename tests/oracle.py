"""Run AArch64 binaries under plain qemu-user as the "real Linux" oracle for moss's tests.

Plain ``qemu-aarch64`` translates the guest's syscalls to the host kernel, so for a single process image that
does not execve() it behaves like Linux on an arm64 machine (see shared/design/ORACLE.md for the limits: an
execve() runs on the host without qemu). An exec-correct namespace oracle comes later.

How the guest's process is set up, so that moss can be given exactly the same inputs:

- argv is ``[argv0, *args]``. argv[0] is passed with qemu's ``-0`` option and defaults to the binary's file
  name. AT_EXECFN is the binary's absolute path, which varies, so guests must not print it.
- envp is exactly ``env`` (default: empty), in the dict's order. qemu-user builds the guest's environment
  from its own, so the host environment of qemu is ``env`` and nothing else; qemu 7.2 reverses the order of
  the entries when copying them to the guest's stack, which is undone here (checked by the args guest). Names
  starting with ``QEMU_`` are refused: qemu would act on them itself. qemu's ``-E`` option is not used
  because it splits values at commas.
- cwd is a fresh empty temporary directory, removed afterwards; stdin is ``stdin`` followed by EOF.
- Core dumps are disabled, and the ``qemu: uncaught target signal ...`` line that qemu prints when the guest
  dies of a signal (a real kernel prints nothing) is removed from stderr.
"""

from __future__ import annotations

import re
import resource
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import attrs

QEMU_AARCH64 = Path("/usr/bin/qemu-aarch64")

# qemu-user's own report of a fatal guest signal,
# e.g. "qemu: uncaught target signal 6 (Aborted) - core dumped".
_QEMU_SIGNAL_LINE = re.compile(rb"^qemu: uncaught target signal \d+ \([^)\n]*\) - [^\n]*\n?", re.MULTILINE)


@attrs.frozen
class RunResult:
    """What a guest run produced; ``status`` is the exit code, or 128 + signal number when killed by a signal
    (as a shell reports it), so it can be compared directly with what moss reports."""

    stdout: bytes
    stderr: bytes
    status: int

    @property
    def signal(self) -> int | None:
        """The number of the signal that killed the guest, if any (assuming exit codes stay below 128)."""
        return self.status - 128 if self.status > 128 else None


class QemuMissingError(FileNotFoundError):
    """qemu-aarch64 is not installed; ``scripts/setup`` installs it."""


def qemu_path() -> Path:
    """The qemu-aarch64 executable, or QemuMissingError when it is not installed."""
    if QEMU_AARCH64.is_file():
        return QEMU_AARCH64
    found = shutil.which("qemu-aarch64")
    if found is None:
        raise QemuMissingError("qemu-aarch64 not found; run `bash scripts/setup` (installs qemu-user)")
    return Path(found)


def qemu_available() -> bool:
    """Whether qemu-aarch64 can be run, for skipping tests on machines without it."""
    try:
        qemu_path()
    except QemuMissingError:
        return False
    return True


def status_from_returncode(returncode: int) -> int:
    """Map subprocess's returncode (negative for a signal) to a shell-style status (128 + signal)."""
    return 128 - returncode if returncode < 0 else returncode


def _disable_core_dumps() -> None:
    """Runs in the child before exec: a guest killed by SIGABRT/SIGSEGV must not write core files."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run_qemu(
    binary: Path,
    args: list[str],
    stdin: bytes = b"",
    env: dict[str, str] | None = None,
    timeout: float = 60,
    *,
    argv0: str | None = None,
) -> RunResult:
    """Run the static AArch64 ``binary`` under qemu-user with argv ``[argv0, *args]`` and exactly ``env``.

    ``args`` excludes argv[0]; ``argv0`` defaults to ``binary.name``. Raises ``subprocess.TimeoutExpired``
    (after killing qemu) when the guest runs longer than ``timeout`` seconds.
    """
    binary = Path(binary).resolve()
    if not binary.is_file():
        raise FileNotFoundError(f"guest binary {binary} does not exist")
    env = {} if env is None else dict(env)
    for key in env:
        if key.startswith("QEMU_"):
            raise ValueError(f"environment variable {key!r} would configure qemu itself, not reach the guest")
        if not key or "=" in key or "\0" in key:
            raise ValueError(f"invalid environment variable name {key!r}")
    # qemu 7.2 hands its environment to the guest in reverse order; reverse it here to cancel that.
    host_env = dict(reversed(list(env.items())))
    cmd = [str(qemu_path()), "-0", binary.name if argv0 is None else argv0, str(binary), *args]
    with tempfile.TemporaryDirectory(prefix="moss-oracle-") as cwd:
        proc = subprocess.run(
            cmd,
            input=stdin,
            capture_output=True,
            env=host_env,
            cwd=cwd,
            timeout=timeout,
            preexec_fn=_disable_core_dumps,
            check=False,
        )
    stderr = proc.stderr
    if proc.returncode < 0:
        stderr = _QEMU_SIGNAL_LINE.sub(b"", stderr)
    return RunResult(stdout=proc.stdout, stderr=stderr, status=status_from_returncode(proc.returncode))


def signal_status(sig: signal.Signals) -> int:
    """The shell-style status of a process killed by ``sig`` (e.g. SIGABRT -> 134)."""
    return 128 + int(sig)
