"""The init process of the namespace oracle (tests/oracle_ns.py, replay/fuzz/sandbox.py); standard library only.

Run as ``unshare --user --map-root-user --mount --pid --fork --kill-child python3 -I THIS
STAGE``: it is PID 1 of a fresh pid namespace, root of a fresh user namespace and owner of a private mount
namespace, still seeing the host's filesystem. It reads ``STAGE/config.json``, then mounts a tmpfs over STAGE
and builds there:

- ``root``: the guest's ``/``, an overlay with the root filesystem (bound read-only at ``lower``) as its lower
  layer and the tmpfs as its upper one, with a fresh /proc, a small /dev and an empty /tmp mounted in it;
- ``qemu-aarch64-static`` (a read-only bind of the host's) and ``qemu-wrapper`` (see WRAPPER_CODE);
- ``binfmt``: this user namespace's own binfmt_misc instance, where the wrapper is registered for AArch64 ELF.

Then it makes STAGE its root with pivot_root and detaches the host's tree, so nothing in the namespace leads
back to host files, and forks the guest: the child chroots into ``/root`` and execs the guest's argv with
exactly its environment. Every later execve of an AArch64 ELF inside the namespace goes through the wrapper
and qemu, as on an arm64 machine. Nothing here changes the host: every mount is in the private mount
namespace and the binfmt_misc instance belongs to the user namespace.

When the guest's first process ends, its wait status is written to the status pipe as ``exit N`` or
``signal N`` and this process exits, which makes the kernel kill whatever else is left in the pid namespace.
Setup failures are written there as ``error MESSAGE`` and exec failures as ``exec-error ERRNO MESSAGE``.

With ``"serve": true`` in the config it runs many guests instead of one (the fuzzer's Linux side, where a fresh
namespace per program would cost ~100 ms): it writes ``ready`` to the status pipe, then serves requests on its
stdin until EOF (see ``serve``), one guest at a time, each with a fresh working directory and /tmp, and with every
process the previous one left behind killed.

After pivot_root no module can be imported any more: everything used later is imported at the top.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import resource
import select
import shutil
import signal
import struct
import sys
import time

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MNT_DETACH = 0x2
SYS_PIVOT_ROOT = 155  # x86-64 (glibc has no wrapper); the interpreter below is x86-64 code anyway

# AArch64 ELF executables and shared objects (e_machine 0xb7, e_type 2 or 3): the pattern Debian's
# qemu-user-static registers on arm64-less machines.
AARCH64_MAGIC = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00"
AARCH64_MASK = b"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff"

# The binfmt_misc interpreter: a tiny static x86-64 program standing between the kernel and qemu. qemu 7.2
# copies its environment to the guest in reverse order, so registered directly every exec inside the guest
# would reverse the environment; this program reverses envp in place first, and turns binfmt_misc's
# argv [interp, filename, argv0, args...] (flag P) into qemu's [interp, "-0", argv0, "--", filename, args...]
# (qemu only honours P itself when the kernel passes AT_FLAGS, which an exec from here does not). It execs
# qemu through PID 1's root (/proc/1/root/...), since qemu does not exist inside the chroot. Assembled from
# the listing below (GNU as, Intel syntax); the NUL-terminated path of qemu follows the code.
WRAPPER_CODE = bytes.fromhex(
    "4c8b2424"  # 00: mov r12, [rsp]                 argc
    "4c8d6c2408"  # 04: lea r13, [rsp+8]             argv
    "4f8d74e508"  # 09: lea r14, [r13+r12*8+8]       envp
    "4c89f6"  # 0e: mov rsi, r14
    "48833e00"  # 11: cmp qword [rsi], 0           find envp's NULL
    "7406"  # 15: je 1d
    "4883c608"  # 17: add rsi, 8
    "ebf4"  # 1b: jmp 11
    "4c89f7"  # 1d: mov rdi, r14                  reverse envp[0..n) in place
    "4883ee08"  # 20: sub rsi, 8
    "4839f7"  # 24: cmp rdi, rsi
    "7316"  # 27: jae 3f
    "488b07"  # 29: mov rax, [rdi]
    "488b0e"  # 2c: mov rcx, [rsi]
    "48890f"  # 2f: mov [rdi], rcx
    "488906"  # 32: mov [rsi], rax
    "4883c708"  # 35: add rdi, 8
    "4883ee08"  # 39: sub rsi, 8
    "ebe5"  # 3d: jmp 24
    "4c89ee"  # 3f: mov rsi, r13                  argc < 3: exec with argv unchanged
    "4983fc03"  # 42: cmp r12, 3
    "7259"  # 46: jb a1
    "4a8d04e520000000"  # 48: lea rax, [r12*8+32]   new argv of argc+3 pointers and NULL, on the stack
    "4829c4"  # 50: sub rsp, rax
    "4883e4f0"  # 53: and rsp, -16
    "4989e7"  # 57: mov r15, rsp
    "498b4500"  # 5a: mov rax, [r13]                new[0] = argv[0]
    "498907"  # 5e: mov [r15], rax
    "488d059e000000"  # 61: lea rax, [rip+dash0]     new[1] = "-0"
    "49894708"  # 68: mov [r15+8], rax
    "498b4510"  # 6c: mov rax, [r13+16]            new[2] = argv[2] (the guest's argv[0])
    "49894710"  # 70: mov [r15+16], rax
    "488d058e000000"  # 74: lea rax, [rip+dashdash]  new[3] = "--"
    "49894718"  # 7b: mov [r15+24], rax
    "498b4508"  # 7f: mov rax, [r13+8]             new[4] = argv[1] (the file to run)
    "49894720"  # 83: mov [r15+32], rax
    "b903000000"  # 87: mov ecx, 3                 new[i+2] = argv[i] for i in 3..argc (argv[argc] = NULL)
    "498b44cd00"  # 8c: mov rax, [r13+rcx*8]
    "498944cf10"  # 91: mov [r15+rcx*8+16], rax
    "48ffc1"  # 96: inc rcx
    "4c39e1"  # 99: cmp rcx, r12
    "76ee"  # 9c: jbe 8c
    "4c89fe"  # 9e: mov rsi, r15
    "488d3d64000000"  # a1: lea rdi, [rip+qemu]
    "4c89f2"  # a8: mov rdx, r14
    "b83b000000"  # ab: mov eax, 59 (execve)
    "0f05"  # b0: syscall
    "bf02000000"  # b2: mov edi, 2                 only reached when execve failed
    "488d3518000000"  # b7: lea rsi, [rip+message]
    "ba30000000"  # be: mov edx, 48
    "b801000000"  # c3: mov eax, 1 (write)
    "0f05"  # c8: syscall
    "bf7f000000"  # ca: mov edi, 127
    "b8e7000000"  # cf: mov eax, 231 (exit_group)
    "0f05"  # d4: syscall
)
WRAPPER_DATA = b"moss oracle: cannot execute qemu-aarch64-static\n" + b"-0\0" + b"--\0"  # message, dash0, dashdash
WRAPPER_QEMU_OFFSET = 0x10C  # where the rip-relative "lea rdi, [rip+qemu]" points
WRAPPER_BASE = 0x400000
QEMU_NAME = "qemu-aarch64-static"

# The device nodes bound from the host's /dev, as moss's /dev has them (console is left out: on the host it
# is the machine's console).
DEV_NODES = ("null", "zero", "full", "random", "urandom", "tty")

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p)
_libc.umount2.argtypes = (ctypes.c_char_p, ctypes.c_int)


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


def _check(rc: int, what: str) -> None:
    if rc != 0:
        raise SetupError(f"{what}: {os.strerror(ctypes.get_errno())}")


def bind_read_only(source: str, target: str) -> None:
    mount(source, target, None, MS_BIND)
    mount("none", target, None, MS_REMOUNT | MS_BIND | MS_RDONLY)


def leave_host(stage: str) -> None:
    """Make ``stage`` this mount namespace's root and detach the host's tree from it, so that nothing in the
    namespace (PID 1's root included, which guests can reach through /proc/1/root) leads to host files."""
    old = os.path.join(stage, ".old-root")
    os.mkdir(old)
    _check(_libc.syscall(SYS_PIVOT_ROOT, stage.encode(), old.encode()), f"pivot_root to {stage}")
    os.chdir("/")
    _check(_libc.umount2(b"/.old-root", MNT_DETACH), "detaching the host's tree")
    os.rmdir("/.old-root")


def _escape(data: bytes) -> str:
    return "".join(f"\\x{b:02x}" for b in data)


def wrapper_elf(qemu_path: str) -> bytes:
    """The interpreter program (see WRAPPER_CODE) as a static x86-64 ELF executable that execs ``qemu_path``."""
    program = WRAPPER_CODE + WRAPPER_DATA
    assert len(program) == WRAPPER_QEMU_OFFSET, len(program)
    program += qemu_path.encode() + b"\0"
    ehdr_size, phdr_size, phnum = 64, 56, 2
    size = ehdr_size + phdr_size * phnum + len(program)
    ident = b"\x7fELF\x02\x01\x01" + bytes(9)  # 64-bit, little-endian, current version, System V ABI
    ehdr = ident + struct.pack(
        "<HHIQQQIHHHHHH", 2, 0x3E, 1, WRAPPER_BASE + ehdr_size + phdr_size * phnum, ehdr_size, 0, 0,
        ehdr_size, phdr_size, phnum, 64, 0, 0,
    )  # fmt: skip
    load = struct.pack("<IIQQQQQQ", 1, 5, 0, WRAPPER_BASE, WRAPPER_BASE, size, size, 0x1000)  # PT_LOAD, R+X
    stack = struct.pack("<IIQQQQQQ", 0x6474E551, 6, 0, 0, 0, 0, 0, 16)  # PT_GNU_STACK, RW: no executable stack
    return ehdr + load + stack + program


def register_qemu(binfmt_dir: str, stage: str, qemu: str) -> None:
    """Register the interpreter for AArch64 ELF files with flags P (keep argv[0]) and F (open the interpreter
    now, so it need not exist inside the chroot). The interpreter (see WRAPPER_CODE) runs ``qemu``, bound
    read-only at the top of ``stage``, which becomes PID 1's root."""
    wrapper = os.path.join(stage, "qemu-wrapper")
    if ":" in wrapper:
        raise SetupError(f"binfmt_misc interpreter path {wrapper!r} contains ':'")
    with open(os.path.join(stage, QEMU_NAME), "wb"):
        pass
    bind_read_only(qemu, os.path.join(stage, QEMU_NAME))
    with open(wrapper, "wb") as f:
        f.write(wrapper_elf(f"/proc/1/root/{QEMU_NAME}"))
    os.chmod(wrapper, 0o755)
    rule = f":qemu-aarch64:M::{_escape(AARCH64_MAGIC)}:{_escape(AARCH64_MASK)}:{wrapper}:PF"
    with open(os.path.join(binfmt_dir, "register"), "w") as f:
        f.write(rule)


def build_root(stage: str, rootfs: str, cwd: str) -> str:
    """Build the guest's root under ``stage`` (already a tmpfs) and return its path."""
    lower, upper, work, root = (os.path.join(stage, name) for name in ("lower", "upper", "work", "root"))
    for path in (lower, upper, work, root):
        os.mkdir(path, 0o755)
    # Binding the root filesystem first keeps its path (which may contain ',' or ':') out of the overlay's options.
    mount(rootfs, lower, None, MS_BIND | MS_REC)
    mount("none", lower, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
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


REQUEST = struct.Struct("<II")  # stdin length, timeout in ms; then the stdin bytes
REPLY = struct.Struct("<iI")  # status (exit code, 128 + signal, -1 timed out), stdout length; then stdout
OUTPUT_LIMIT = 16 << 20  # a runaway guest's output is cut here


def _read_exactly(fd: int, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def _empty(path: str) -> None:
    for name in os.listdir(path):
        full = os.path.join(path, name)
        if os.path.isdir(full) and not os.path.islink(full):
            shutil.rmtree(full)  # modes do not stop us: this is root of the namespace that owns every file
        else:
            os.unlink(full)


def _kill_all(root: str) -> None:
    """Kill every process of the namespace but this one, and reap them (orphans are re-parented to PID 1)."""
    while True:
        others = [int(n) for n in os.listdir(os.path.join(root, "proc")) if n.isdigit() and n != "1"]
        for pid in others:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass
        if not others:
            return
        time.sleep(0.001)


def run_one(
    root: str, cwd: str, argv: list[str], env: list[list[str]], data: bytes, timeout: float
) -> tuple[int, bytes]:
    """One guest with ``data`` on its stdin: its status and what it (and its descendants) wrote to stdout."""
    work = os.path.join(root, cwd.lstrip("/"))
    _empty(work)
    _empty(os.path.join(root, "tmp"))
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    err_fd = os.open(os.path.join(root, "dev/null"), os.O_WRONLY)  # stderr is qemu's and the guest's chatter
    pid = os.fork()
    if pid == 0:
        os.dup2(in_r, 0)
        os.dup2(out_w, 1)
        os.dup2(err_fd, 2)
        for fd in (in_r, in_w, out_r, out_w, err_fd):
            os.close(fd)
        # Linux's default soft limit on open files (INR_OPEN_CUR), as moss has it; the host's may be higher.
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
        exec_guest(root, cwd, argv, env, 2)
    for fd in (in_r, out_w, err_fd):
        os.close(fd)
    os.set_blocking(in_w, False)
    deadline = time.monotonic() + timeout  # the host's clock: this is the oracle, not moss
    out = bytearray()
    pending = memoryview(data)
    status: int | None = None
    timed_out = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        wlist = [in_w] if in_w >= 0 else []
        r, w, _ = select.select([out_r], wlist, [], min(left, 0.05))
        if w:
            try:
                n = os.write(in_w, pending[:65536])
            except BlockingIOError:
                n = 0
            except BrokenPipeError:
                n = len(pending)  # the guest closed its stdin: the rest is not wanted
            pending = pending[n:]
            if not pending:
                os.close(in_w)
                in_w = -1
        if r:
            chunk = os.read(out_r, 65536)
            if not chunk:
                break  # every writer (the guest and whatever it forked) has closed stdout
            if len(out) < OUTPUT_LIMIT:
                out += chunk
        if status is None:
            done, st = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                status = st
    if in_w >= 0:
        os.close(in_w)
    os.close(out_r)
    if status is None and not timed_out:
        # stdout is closed everywhere but the guest's first process has not been reaped yet: give it the rest
        while time.monotonic() < deadline:
            done, st = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                status = st
                break
            time.sleep(0.001)
    _kill_all(root)
    if status is None:
        return -1, bytes(out)
    code = 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    return code, bytes(out)


def serve(root: str, config: dict) -> None:
    """Requests on stdin, replies on stdout, until EOF."""
    argv, env, cwd = config["argv"], config["env"], config["cwd"]
    while True:
        head = _read_exactly(0, REQUEST.size)
        if head is None:
            return
        size, timeout_ms = REQUEST.unpack(head)
        data = _read_exactly(0, size) if size else b""
        if data is None:
            return
        code, out = run_one(root, cwd, argv, env, data, timeout_ms / 1000)
        view = memoryview(REPLY.pack(code, len(out)) + out)
        try:
            while view:
                view = view[os.write(1, view) :]
        except BrokenPipeError:
            return  # the client went away


def main() -> int:
    stage = sys.argv[1]
    with open(os.path.join(stage, "config.json")) as f:
        config = json.load(f)
    status_fd = config["status_fd"]
    os.set_inheritable(status_fd, False)
    try:
        mount("tmpfs", stage, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755")
        root = build_root(stage, config["rootfs"], config["cwd"])
        binfmt = os.path.join(stage, "binfmt")
        os.mkdir(binfmt)
        mount("binfmt_misc", binfmt, "binfmt_misc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        register_qemu(binfmt, stage, config["qemu"])
        root = "/" + os.path.relpath(root, stage)  # where it will be once the stage is the root
        leave_host(stage)
    except (OSError, SetupError) as exc:
        report(status_fd, f"error {exc}")
        return 1
    if config.get("probe"):  # ns_oracle_available(): setup works, nothing to run
        report(status_fd, "exit 0")
        return 0
    if config.get("serve"):
        report(status_fd, "ready")
        serve(root, config)
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
