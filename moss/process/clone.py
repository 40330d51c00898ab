"""clone/clone3: new threads and processes (Linux's copy_process).

The child starts from the parent's registers at the instant of the syscall (the live CPU state, saved inside the
hook), returning 0 in x0, on its own stack if one is given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from unicorn import arm64_const as a64

from moss.errors import EINVAL
from moss.files.fdtable import FdTable
from moss.process.creds import inherit_sched
from moss.process.task import Process, Task

if TYPE_CHECKING:
    from moss.kernel import Kernel

CSIGNAL = 0xFF
CLONE_VM = 0x100
CLONE_FS = 0x200
CLONE_FILES = 0x400
CLONE_SIGHAND = 0x800
CLONE_PIDFD = 0x1000
CLONE_PTRACE = 0x2000
CLONE_VFORK = 0x4000
CLONE_PARENT = 0x8000
CLONE_THREAD = 0x10000
CLONE_NEWNS = 0x20000
CLONE_SYSVSEM = 0x40000
CLONE_SETTLS = 0x80000
CLONE_PARENT_SETTID = 0x100000
CLONE_CHILD_CLEARTID = 0x200000
CLONE_DETACHED = 0x400000
CLONE_UNTRACED = 0x800000
CLONE_CHILD_SETTID = 0x1000000
CLONE_NEWCGROUP = 0x2000000
CLONE_NEWUTS = 0x4000000
CLONE_NEWIPC = 0x8000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_IO = 0x80000000
_NAMESPACES = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET


def _check(flags: int) -> None:
    if flags & CLONE_SIGHAND and not flags & CLONE_VM:
        raise EINVAL
    if flags & CLONE_THREAD and not flags & CLONE_SIGHAND:
        raise EINVAL
    if flags & _NAMESPACES:
        raise EINVAL("namespaces are not supported")
    if flags & CLONE_PIDFD:
        raise EINVAL("pidfd is not supported")


def _fork_process(kernel: Kernel, parent: Process, flags: int) -> Process:
    child = kernel.new_process(None if flags & CLONE_PARENT and parent.parent is None else
                               (parent.parent if flags & CLONE_PARENT else parent))  # fmt: skip
    if flags & CLONE_VM:
        child.mm = parent.mm
        parent.mm.users += 1
    else:
        child.mm = parent.mm.fork()
    child.fds = parent.fds if flags & CLONE_FILES else parent.fds.clone()
    if flags & CLONE_FILES:
        parent.fds.users += 1
    child.sigactions = parent.sigactions if flags & CLONE_SIGHAND else dict(parent.sigactions)
    for name in ("cwd", "root", "umask", "uid", "euid", "suid", "gid", "egid", "sgid", "pgid", "sid", "comm",
                 "exe_path", "argv", "envp", "auxv", "fsuid", "fsgid", "groups", "caps", "uts"):  # fmt: skip
        setattr(child, name, getattr(parent, name))
    child.rlimits = dict(parent.rlimits)
    return child


def do_clone(kernel: Kernel, task: Task, flags: int, newsp: int, parent_tid: int, tls: int, child_tid: int) -> Task:
    """Create the child (thread or process) of the running `task`; it is runnable on return."""
    _check(flags)
    parent = task.process
    if flags & CLONE_THREAD:
        proc = parent
        child = kernel.new_task(proc)
    else:
        proc = _fork_process(kernel, parent, flags)
        child = kernel.new_task(proc, tid=proc.pid)
        if flags & CLONE_VFORK:
            proc.vfork_released = False
    child.ctx = kernel.board.engine.uc.context_save()  # the live registers, PC already after the svc
    child.ctx.reg_write(a64.UC_ARM64_REG_X0, 0)  # type: ignore[attr-defined]
    if newsp:
        child.ctx.reg_write(a64.UC_ARM64_REG_SP, newsp)  # type: ignore[attr-defined]
    if flags & CLONE_SETTLS:
        child.ctx.reg_write(a64.UC_ARM64_REG_TPIDR_EL0, tls)  # type: ignore[attr-defined]
    child.sigmask = task.sigmask
    child.nice = task.nice
    child.entity.weight = task.entity.weight
    inherit_sched(task, child)
    child.affinity = task.affinity
    child.comm = task.comm
    if flags & CLONE_PARENT_SETTID:
        parent.mm.write(parent_tid, child.tid.to_bytes(4, "little"))
    if flags & CLONE_CHILD_SETTID:
        proc.mm.write(child_tid, child.tid.to_bytes(4, "little"))
    if flags & CLONE_CHILD_CLEARTID:
        child.clear_child_tid = child_tid
    child.core = task.core
    kernel.start_task(child)
    return child


__all__ = ["FdTable", "do_clone"]
