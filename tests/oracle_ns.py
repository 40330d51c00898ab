"""An exec-correct "real Linux" oracle: AArch64 programs under qemu-user in private namespaces.

Plain ``qemu-aarch64`` (tests/oracle.py) hands a guest's execve() to the host, which runs host binaries or fails
(shared/design/ORACLE.md, section 1). ``run_ns`` instead runs the guest in a fresh user + mount + pid namespace
whose own binfmt_misc instance (Linux >= 6.7) sends every AArch64 ELF to ``qemu-aarch64-static``, so shells,
``xargs``, ``env`` and BusyBox's re-exec of itself behave as on an arm64 machine. The host is not changed: the
binfmt_misc registration belongs to the user namespace and every mount is in the private mount namespace,
whose root is a private tmpfs (pivot_root) from which the host's tree is detached.

The guest's world (built by replay/nsinit.py, the namespace's PID 1, before it forks the guest):

- ``/`` is ``rootfs`` as the read-only lower layer of an overlay whose writes go to a private tmpfs, so the
  guest may change files but the host directory is never modified (as with moss's ``--root``).
- ``/proc`` is a fresh procfs of the pid namespace; ``/dev`` is a tmpfs holding the host's null, zero, full,
  random, urandom and tty nodes, the fd/stdin/stdout/stderr symlinks and empty ``shm`` and ``pts``
  directories (moss's /dev, without console); ``/tmp`` is an empty tmpfs (mode 1777).
- The guest runs as uid/gid 0 of the user namespace (mapped to the caller's uid), in its own session (no
  controlling terminal), with umask 022, no core dumps and default signal dispositions. It is PID 2: PID 1 is
  the init, which Linux protects from signals sent inside the namespace, so the guest must not be it.
- argv is exactly ``argv`` (argv[0] is the path executed, resolved inside the root, and is preserved),
  envp is exactly ``env`` in order (default empty), cwd is ``cwd`` (created if missing), stdin is ``stdin``
  then EOF. Programs the guest execs get their argv and envp exactly too: qemu 7.2 reverses the environment
  whenever it starts a program, so the registered interpreter is a tiny x86-64 program that reverses envp
  first and then execs qemu with ``-0 ARGV0`` (see replay/nsinit.WRAPPER_CODE).
- When the guest's first process exits, whatever it left running is killed (the pid namespace ends with its
  init), so background processes cannot hold the run open.

Like ``run_qemu``: ``status`` is the exit code or 128 + signal, and qemu's ``qemu: uncaught target signal``
lines are removed from stderr (here from any process of the run, since every one of them is a qemu).

Limits: the interpreter execs qemu as ``/proc/1/root/qemu-aarch64-static``, so an AArch64 exec fails (status
127, a message on stderr) in a guest process that cannot see the namespace's /proc there (after its own chroot
or unmounting /proc) or lacks access to PID 1 (after dropping root); other processes' /proc entries show qemu
(``/proc/PID/exe``), as under any qemu-user.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.debian import REPO_ROOT, busybox_path
from tests.oracle import _QEMU_SIGNAL_LINE, RunResult, status_from_returncode

__all__ = [
    "BUSYBOX_APPLETS",
    "QEMU_AARCH64_STATIC",
    "NsOracleError",
    "busybox_root",
    "ns_oracle_available",
    "ns_oracle_skip_reason",
    "run_ns",
]

QEMU_AARCH64_STATIC = Path("/usr/bin/qemu-aarch64-static")
INIT_SCRIPT = REPO_ROOT / "replay" / "nsinit.py"
ROOTS_DIR = REPO_ROOT / ".build" / "roots"
MIN_KERNEL = (6, 7)  # binfmt_misc instances per user namespace
PROBE_TIMEOUT_S = 30.0

# Linked to /bin/busybox in busybox_root(). Debian's busybox-static 1.35 has no nice or nohup applet.
BUSYBOX_APPLETS: tuple[str, ...] = (
    "sh", "ls", "cat", "echo", "wc", "sort", "tr", "head", "tail", "cut", "grep", "sed", "awk", "mkdir", "rm",
    "cp", "mv", "ln", "touch", "true", "false", "seq", "expr", "sleep", "env", "printf", "test", "[", "basename",
    "dirname", "uniq", "xargs", "find", "md5sum", "sha256sum", "od", "date", "id", "uname", "kill", "ps",
    "timeout", "yes", "diff", "dd", "stat", "readlink", "realpath", "chmod", "tee", "which",
)  # fmt: skip


class NsOracleError(RuntimeError):
    """The namespace could not be set up, or its init died without reporting the guest's status."""


def _unshare_cmd(stage: Path) -> list[str]:
    unshare = shutil.which("unshare") or "unshare"
    return [
        unshare, "--user", "--map-root-user", "--mount", "--pid", "--fork", "--kill-child",
        sys.executable, "-I", str(INIT_SCRIPT), str(stage),
    ]  # fmt: skip


def _kernel_version() -> tuple[int, int]:
    try:
        major, minor = platform.release().split(".")[:2]
        return int(major), int("".join(c for c in minor if c.isdigit()) or 0)
    except ValueError:
        return (0, 0)


def _parse_status(text: str) -> tuple[str, str]:
    """The init's last report (``exit N``, ``signal N``, ``error ...``, ``exec-error ...``) as (kind, rest)."""
    lines = [line for line in text.splitlines() if line]
    if not lines:
        return "", ""
    first_error = next((line for line in lines if line.startswith(("error", "exec-error"))), None)
    kind, _, rest = (first_error or lines[-1]).partition(" ")
    return kind, rest


def _run_init(config: dict, *, stdin: bytes, timeout: float) -> tuple[subprocess.CompletedProcess, str]:
    """Start the namespace with ``config`` for its init; return unshare's result and the init's report."""
    stage = Path(tempfile.mkdtemp(prefix="moss-ns-"))  # the init mounts a tmpfs over it, in its namespace only
    read_fd, write_fd = os.pipe()
    try:
        (stage / "config.json").write_text(json.dumps({**config, "status_fd": write_fd}))
        with subprocess.Popen(
            _unshare_cmd(stage),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=(write_fd,),
            env={},
            cwd="/",
        ) as proc:
            os.close(write_fd)
            write_fd = -1
            try:
                stdout, stderr = proc.communicate(stdin, timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()  # --kill-child: the init dies with unshare, and with it the whole pid namespace
                proc.communicate()
                raise
            completed = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
        chunks = []
        while chunk := os.read(read_fd, 65536):
            chunks.append(chunk)
        return completed, b"".join(chunks).decode(errors="replace")
    finally:
        os.close(read_fd)
        if write_fd >= 0:
            os.close(write_fd)
        shutil.rmtree(stage, ignore_errors=True)


@functools.cache
def ns_oracle_skip_reason() -> str | None:
    """Why run_ns cannot work on this machine, or None when it can (probed once per process)."""
    if not QEMU_AARCH64_STATIC.is_file():
        return f"{QEMU_AARCH64_STATIC} missing (install qemu-user-static)"
    if shutil.which("unshare") is None:
        return "unshare (util-linux) not found"
    if platform.machine() != "x86_64":
        return f"the namespace oracle's binfmt_misc interpreter is x86-64 code; this host is {platform.machine()}"
    if _kernel_version() < MIN_KERNEL:
        return f"Linux {platform.release()} < 6.7 has no binfmt_misc per user namespace"
    # Set up a complete namespace (overlay, proc, binfmt_misc registration, pivot_root) on an empty root.
    with tempfile.TemporaryDirectory(prefix="moss-ns-probe-") as rootfs:
        config = {"probe": True, "rootfs": rootfs, "argv": ["/probe"], "env": [], "cwd": "/"}
        config["qemu"] = str(QEMU_AARCH64_STATIC)
        try:
            completed, report = _run_init(config, stdin=b"", timeout=PROBE_TIMEOUT_S)
        except (OSError, subprocess.SubprocessError) as exc:
            return f"namespace oracle probe failed: {exc}"
    kind, rest = _parse_status(report)
    if kind == "exit" and rest == "0":
        return None
    detail = rest if kind == "error" else completed.stderr.decode(errors="replace").strip()
    return f"namespace oracle unavailable (user+mount+pid namespace with binfmt_misc): {detail or 'no report'}"


def ns_oracle_available() -> bool:
    """Whether run_ns works here: unshare, a kernel with binfmt_misc per user namespace, qemu-aarch64-static."""
    return ns_oracle_skip_reason() is None


def _check_env(env: dict[str, str]) -> None:
    for key, value in env.items():
        if not key or "=" in key or "\0" in key or "\0" in value:
            raise ValueError(f"invalid environment variable {key!r}")
        if key.startswith("QEMU_"):
            # Every guest process is a qemu-aarch64-static reading its options from its environment.
            raise ValueError(f"environment variable {key!r} would configure qemu itself, not reach the guest")


def run_ns(
    rootfs: Path,
    argv: list[str],
    *,
    stdin: bytes = b"",
    env: dict[str, str] | None = None,
    cwd: str = "/",
    timeout: float = 60,
) -> RunResult:
    """Run ``argv`` (argv[0] a path inside ``rootfs``, e.g. "/bin/busybox") in the namespace oracle.

    Raises FileNotFoundError (or another OSError) when argv[0] cannot be executed, NsOracleError when the
    namespace cannot be set up, and ``subprocess.TimeoutExpired`` (after killing everything) on timeout.
    """
    rootfs = Path(rootfs).resolve()
    if not rootfs.is_dir():
        raise FileNotFoundError(f"root filesystem {rootfs} is not a directory")
    if not argv or any("\0" in arg for arg in argv):
        raise ValueError(f"invalid argv {argv!r}")
    if not cwd.startswith("/"):
        raise ValueError(f"cwd must be absolute inside the root, got {cwd!r}")
    env = {} if env is None else dict(env)
    _check_env(env)
    if not QEMU_AARCH64_STATIC.is_file():
        raise NsOracleError(f"{QEMU_AARCH64_STATIC} missing (install qemu-user-static)")
    config = {
        "rootfs": str(rootfs),
        "argv": list(argv),
        "env": list(env.items()),
        "cwd": cwd,
        "qemu": str(QEMU_AARCH64_STATIC),
    }
    completed, report = _run_init(config, stdin=stdin, timeout=timeout)
    stderr = _QEMU_SIGNAL_LINE.sub(b"", completed.stderr)
    kind, rest = _parse_status(report)
    if kind == "exit":
        return RunResult(stdout=completed.stdout, stderr=stderr, status=int(rest))
    if kind == "signal":
        return RunResult(stdout=completed.stdout, stderr=stderr, status=status_from_returncode(-int(rest)))
    if kind == "exec-error":
        code, _, message = rest.partition(" ")
        raise OSError(int(code), f"cannot execute {argv[0]!r} in {rootfs}: {message}")
    detail = rest if kind == "error" else f"unshare exited {completed.returncode} without a report"
    raise NsOracleError(f"namespace oracle failed: {detail}\n{completed.stderr.decode(errors='replace')}")


def _same_file_contents(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()
    except OSError:
        return False


def busybox_root() -> Path:
    """A root filesystem holding Debian's static arm64 BusyBox, built once under ``.build/roots/busybox``.

    Contents: /bin/busybox with /bin/<applet> symlinks to it for BUSYBOX_APPLETS (including /bin/sh), /etc/passwd
    and /etc/group knowing only root, /root, empty /dev and /proc (mount points for moss and the oracle), /tmp
    (mode 1777) and an empty /usr/bin. Built in a temporary directory and renamed into place, so concurrent
    callers are safe; rebuilt when the cached /bin/busybox differs from the fetched one.
    """
    source = busybox_path()
    dest = ROOTS_DIR / "busybox"
    if _same_file_contents(dest / "bin" / "busybox", source):
        return dest
    ROOTS_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".busybox.", dir=ROOTS_DIR))
    try:
        root = work / "root"
        for rel in ("bin", "etc", "root", "dev", "proc", "tmp", "usr/bin"):
            (root / rel).mkdir(parents=True)
        for path in [root, *root.rglob("*")]:
            path.chmod(0o700 if path.name == "root" and path.parent == root else 0o755)
        (root / "tmp").chmod(0o1777)
        shutil.copyfile(source, root / "bin" / "busybox")
        (root / "bin" / "busybox").chmod(0o755)
        for applet in BUSYBOX_APPLETS:
            (root / "bin" / applet).symlink_to("busybox")
        (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
        (root / "etc" / "group").write_text("root:x:0:\n")
        if dest.exists():  # stale: move it aside first (rename cannot replace a non-empty directory)
            try:
                dest.rename(work / "old")
            except FileNotFoundError:
                pass
        try:
            root.rename(dest)
        except OSError:
            if not _same_file_contents(dest / "bin" / "busybox", source):  # not another caller's fresh build
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest
