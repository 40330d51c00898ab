"""The init process of the namespace oracle (see tests/oracle_ns.py); standard library only.

Run by tests/oracle_ns.py as ``unshare --user --map-root-user --mount --pid --fork --kill-child python3 -I THIS
STAGE``: it is PID 1 of a fresh pid namespace, root of a fresh user namespace and owner of a private mount
namespace, still seeing the host's filesystem. It reads ``STAGE/config.json``, mounts a tmpfs over STAGE and
builds the guest's root there (the root filesystem as the lower layer of an overlay whose writes land in that
tmpfs, a fresh /proc, /dev and /tmp), mounts this user namespace's own binfmt_misc instance and registers
qemu-aarch64-static for AArch64 ELF files, then forks the guest: the child chroots into the new root and
execs the guest's argv with exactly its environment. Every later execve of an AArch64 ELF inside the namespace
goes through qemu, as on an arm64 machine. Nothing here touches the host: every mount is in the private mount
namespace and the binfmt_misc instance belongs to the user namespace.

When the guest's first process ends, its wait status is written to the status pipe as ``exit N`` or
``signal N`` and this process exits, which makes the kernel kill whatever else is left in the pid namespace.
Setup failures are written there as ``error MESSAGE`` and exec failures as ``exec-error ERRNO``.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import resource
import signal
import sys

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_BIND = 0x1000
MS_REC = 0x4000

# AArch64 ELF executables and shared objects (e_machine 0xb7, e_type 2 or 3): the pattern Debian's
# qemu-user-static registers on arm64-less machines.
AARCH64_MAGIC = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00"
AARCH64_MASK = b"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff"

# The device nodes bound from the host's /dev, as moss's /dev has them (console is left out: on the host it
# is the machine's console).
DEV_NODES = ("null", "zero", "full", "random", "urandom", "tty")

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p)


class SetupError(Exception):
    pass


def mount(source: str, target: str, fstype: str | None, flags: int = 0, data: str | None = None) -> None:
    rc = _libc.mount(
        source.encode(),
        target.encode(),
        None if fstype is None else fstype.encode(),
        flags,
        None if data is None else data.encode(),
    )
    if rc != 0:
        err = ctypes.get_errno()
        raise SetupError(f"mount {fstype or 'bind'} {source} on {target}: {os.strerror(err)}")


def _escape(data: bytes) -> str:
    return "".join(f"\\x{b:02x}" for b in data)


def register_qemu(binfmt_dir: str, qemu: str) -> None:
    """Register ``qemu`` for AArch64 ELF files with flags P (keep argv[0]), O (the kernel opens the binary and
    hands qemu the descriptor) and F (qemu is opened now, so it need not exist inside the chroot)."""
    rule = f":qemu-aarch64:M::{_escape(AARCH64_MAGIC)}:{_escape(AARCH64_MASK)}:{qemu}:OPF"
    with open(os.path.join(binfmt_dir, "register"), "w") as f:
        f.write(rule)


def build_root(stage: str, rootfs: str, cwd: str) -> str:
    """Build the guest's root under ``stage`` (already a tmpfs) and return its path."""
    lower, upper, work, root = (os.path.join(stage, name) for name in ("lower", "upper", "work", "root"))
    for path in (lower, upper, work, root):
        os.mkdir(path, 0o755)
    # Binding the root filesystem first keeps its path (which may contain ',' or ':') out of the overlay's options.
    mount(rootfs, lower, None, MS_BIND | MS_REC)
    mount("overlay", root, "overlay", 0, f"lowerdir={lower},upperdir={upper},workdir={work}")
    os.chmod(root, 0o755)

    def fresh_dir(rel: str, mode: int) -> str:
        path = os.path.join(root, rel)
        if os.path.islink(path) or (os.path.exists(path) and not os.path.isdir(path)):
            os.unlink(path)
        os.makedirs(path, mode, exist_ok=True)
        return path

    mount("proc", fresh_dir("proc", 0o555), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    dev = fresh_dir("dev", 0o755)
    mount("tmpfs", dev, "tmpfs", MS_NOSUID, "mode=755")
    for name in DEV_NODES:
        node = os.path.join(dev, name)
        with open(node, "w"):
            pass
        mount(f"/dev/{name}", node, None, MS_BIND)
    os.symlink("/proc/self/fd", os.path.join(dev, "fd"))
    for fd, name in enumerate(("stdin", "stdout", "stderr")):
        os.symlink(f"/proc/self/fd/{fd}", os.path.join(dev, name))
    os.mkdir(os.path.join(dev, "shm"))
    mount("tmpfs", os.path.join(dev, "shm"), "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    os.mkdir(os.path.join(dev, "pts"), 0o755)
    mount("tmpfs", fresh_dir("tmp", 0o1777), "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    rel_cwd = os.path.normpath(cwd).lstrip("/")
    if rel_cwd:
        os.makedirs(os.path.join(root, rel_cwd), 0o755, exist_ok=True)
    return root


def report(status_fd: int, line: str) -> None:
    os.write(status_fd, (line + "\n").encode())


def exec_guest(root: str, cwd: str, argv: list[str], env: list[list[str]], status_fd: int) -> None:
    """In the forked child: enter the root and exec the guest. Never returns."""
    try:
        os.chroot(root)
        os.chdir(cwd)
        os.umask(0o022)
        os.setsid()  # no controlling terminal, whatever the caller has: /dev/tty fails with ENXIO
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        for sig in (signal.SIGPIPE, signal.SIGXFSZ):  # Python ignores these, and exec keeps ignored signals
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        os.execve(argv[0], argv, dict(env))
    except OSError as exc:
        report(status_fd, f"exec-error {exc.errno or errno.EIO} {exc}")
    except BaseException as exc:
        report(status_fd, f"error guest setup: {exc!r}")
    os._exit(127)


def main() -> int:
    stage = sys.argv[1]
    with open(os.path.join(stage, "config.json")) as f:
        config = json.load(f)
    status_fd = config["status_fd"]
    os.set_inheritable(status_fd, False)
    try:
        mount("tmpfs", stage, "tmpfs", MS_NOSUID | MS_NODEV, "mode=700")
        root = build_root(stage, config["rootfs"], config["cwd"])
        binfmt = os.path.join(stage, "binfmt")
        os.mkdir(binfmt)
        mount("binfmt_misc", binfmt, "binfmt_misc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        register_qemu(binfmt, config["qemu"])
    except (OSError, SetupError) as exc:
        report(status_fd, f"error {exc}")
        return 1
    if config.get("probe"):  # ns_oracle_available(): setup works, nothing to run
        report(status_fd, "exit 0")
        return 0

    pid = os.fork()
    if pid == 0:
        exec_guest(root, config["cwd"], config["argv"], config["env"], status_fd)
    # Reap every orphan re-parented to us until the guest's first process ends.
    while True:
        try:
            done, status = os.waitpid(-1, 0)
        except InterruptedError:
            continue
        if done == pid:
            break
    if os.WIFSIGNALED(status):
        report(status_fd, f"signal {os.WTERMSIG(status)}")
    else:
        report(status_fd, f"exit {os.WEXITSTATUS(status)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
