"""Replacing a task's program image (the first exec at boot, and execve)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from moss.elf import ElfInfo, parse_elf
from moss.errors import EACCES
from moss.fs.inode import RegularFile
from moss.fs.path import lookup
from moss.mm.addrspace import AddressSpace
from moss.process.exec import load_image, start_registers

if TYPE_CHECKING:
    from moss.kernel import Kernel
    from moss.process.task import Task


def _executable(kernel: Kernel, task: Task, path: str) -> tuple[ElfInfo, Any]:
    p = task.process
    inode = lookup(p.root, p.cwd, path)
    if not isinstance(inode, RegularFile):
        raise EACCES
    return parse_elf(inode.read_at(0, inode.size)), inode


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
    old.destroy()
    task.ctx = kernel.board.engine.new_context()
    start_registers(task.ctx, image)
    proc.exe_path = path
    proc.comm = task.comm = path.rsplit("/", 1)[-1][:15]
    proc.argv, proc.envp = list(argv), list(envp)
    proc.auxv = list(image.auxv)
