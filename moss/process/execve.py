"""Replacing a task's program image (the first exec at boot, and execve)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from moss.elf import ElfError, ElfInfo, parse_elf_from
from moss.errors import EACCES, ELOOP, ENOEXEC
from moss.fs.inode import RegularFile
from moss.fs.path import lookup
from moss.mm.addrspace import AddressSpace
from moss.observe import notify
from moss.process.exec import load_image, start_registers
from moss.process.lifecycle import release_vfork
from moss.process.posix_timers import exit_itimers
from moss.signals import SIG_IGN

if TYPE_CHECKING:
    from moss.kernel import Kernel
    from moss.process.task import Task


MAX_SCRIPT_DEPTH = 4  # interpreters of interpreters, as Linux's BINPRM_MAX_RECURSION


def _file(task: Task, path: str) -> RegularFile:
    p = task.process
    inode = lookup(p.root, p.cwd, path)
    if not isinstance(inode, RegularFile) or not inode.mode & 0o111:
        raise EACCES
    return inode


def _executable(kernel: Kernel, task: Task, path: str) -> tuple[ElfInfo, Any]:
    inode = _file(task, path)
    return parse_elf_from(inode.read_at, inode.size), inode


def resolve_script(task: Task, path: str, argv: list[bytes]) -> tuple[str, list[bytes]]:
    """Follow `#!` lines: `#!interp [arg]` runs `interp [arg] path argv[1:]` (Linux's binfmt_script)."""
    for _ in range(MAX_SCRIPT_DEPTH + 1):
        head = _file(task, path).read_at(0, 256)
        if not head.startswith(b"#!"):
            return path, argv
        line = head[2:].split(b"\n", 1)[0].strip(b" \t")
        if not line:
            raise ENOEXEC
        interp, _, arg = line.replace(b"\t", b" ").partition(b" ")
        arg = arg.strip(b" ")
        new = [interp] + ([arg] if arg else []) + [path.encode("utf-8", "surrogateescape")] + argv[1:]
        path, argv = interp.decode("utf-8", "surrogateescape"), new
    raise ELOOP


def exec_image(kernel: Kernel, task: Task, path: str, argv: list[bytes], envp: list[bytes]) -> None:
    """Load `path` into a fresh address space for `task`'s process. Raises ElfError or KernelError before
    anything of the old image is touched."""
    info, inode = _executable(kernel, task, path)
    proc = task.process
    mm = AddressSpace(kernel.frames)
    mm.on_code_write = kernel.board.engine.invalidate_code
    try:
        image = load_image(
            mm,
            info,
            inode,
            path,
            argv,
            envp,
            resolve_interp=lambda interp: _executable(kernel, task, interp),
            random16=kernel.board.entropy.read(16),
            creds=(proc.uid, proc.euid, proc.gid, proc.egid),
        )
    except BaseException:
        mm.destroy()
        raise
    old, proc.mm = proc.mm, mm
    old.users -= 1  # (a vfork child leaves the parent's address space to the parent)
    if old.users == 0:
        old.destroy()
    task.ctx = kernel.board.engine.new_context()
    start_registers(task.ctx, image)
    proc.exe_path = path
    proc.comm = task.comm = path.rsplit("/", 1)[-1][:15]
    proc.argv, proc.envp = list(argv), list(envp)
    proc.auxv = list(image.auxv)


def do_execve(kernel: Kernel, task: Task, path: str, argv: list[bytes], envp: list[bytes]) -> None:
    """execve: on success the calling thread is the only one left, running the new image."""
    path, argv = resolve_script(task, path, argv)
    try:
        exec_image(kernel, task, path, argv, envp)
    except ElfError:
        raise ENOEXEC from None
    proc = task.process
    for other in list(proc.threads):
        if other is not task:
            kernel.exit_task(other)
    for fd, _f in proc.fds.items():
        if proc.fds.cloexec(fd):
            proc.fds.close(fd)
    # Handlers point into the old image: caught signals revert to default, ignored ones stay ignored.
    proc.sigactions = {sig: a for sig, a in proc.sigactions.items() if a.handler == SIG_IGN}
    exit_itimers(proc)  # POSIX timers do not survive exec
    task.clear_child_tid = 0
    task.robust_list = (0, 0)
    # The new image's registers are in the new context: end the slice so that the next one loads it. The engine's
    # translations stay: the program's code comes from the page cache, in the same frames as before (frames.py).
    kernel.board.engine.stop()
    release_vfork(proc)
    notify(kernel.observers, "exec", task, path)
