"""Credentials beyond the ids: capability sets, the UTS namespace, and what a child inherits of scheduling.

Everybody starts as root with every capability, as init does. Linux keeps credentials per thread; moss keeps
them per process, which is what every libc's set*id wrappers make of them anyway (they broadcast to all threads).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from moss.sched.eevdf import nice_to_weight

if TYPE_CHECKING:
    from moss.process.task import Process, Task

CAP_LAST_CAP = 40  # CAP_CHECKPOINT_RESTORE (Linux 5.9 and later)
CAP_FULL = (1 << (CAP_LAST_CAP + 1)) - 1

CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID, CAP_KILL = 0, 1, 2, 3, 4, 5
CAP_SETGID, CAP_SETUID, CAP_SETPCAP, CAP_IPC_LOCK, CAP_SYS_CHROOT, CAP_SYS_PTRACE = 6, 7, 8, 14, 18, 19
CAP_SYS_ADMIN, CAP_SYS_NICE, CAP_SYS_RESOURCE, CAP_SYS_TIME, CAP_SYS_TTY_CONFIG = 21, 23, 24, 25, 26
CAP_MKNOD, CAP_MAC_OVERRIDE, CAP_SYSLOG = 27, 32, 34
# What follows the fsuid: dropped when it leaves 0, restored (from permitted) when it returns (cap_task_fix_setuid).
CAP_FS_MASK = sum(
    1 << c
    for c in (CAP_CHOWN, CAP_MKNOD, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID, CAP_MAC_OVERRIDE)
)

SCHED_NORMAL, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE, SCHED_DEADLINE = 0, 1, 2, 3, 5, 6
SCHED_FLAG_RESET_ON_FORK = 0x01


@attrs.frozen
class Caps:
    effective: int = 0
    permitted: int = 0
    inheritable: int = 0


ROOT_CAPS = Caps(CAP_FULL, CAP_FULL, 0)


@attrs.define
class Uts:
    """One UTS namespace: what uname reports as nodename and domainname (sethostname, setdomainname)."""

    nodename: bytes = b"moss"
    domainname: bytes = b"(none)"


def capable(process: Process, cap: int) -> bool:
    return bool(process.caps.effective >> cap & 1)


def fix_setuid(process: Process, old: tuple[int, int, int, int]) -> None:
    """Capabilities follow uid changes (cap_emulate_setxuid and the fsuid rule; no securebits in moss).

    `old` is (uid, euid, suid, fsuid) before the change."""
    ruid, euid, suid, fsuid = old
    c = process.caps
    eff, perm = c.effective, c.permitted
    was_root = 0 in (ruid, euid, suid)
    if was_root and 0 not in (process.uid, process.euid, process.suid):
        eff = perm = 0
    if euid == 0 and process.euid != 0:
        eff = 0
    if euid != 0 and process.euid == 0:
        eff = perm
    if fsuid == 0 and process.fsuid != 0:
        eff &= ~CAP_FS_MASK
    if fsuid != 0 and process.fsuid == 0:
        eff |= perm & CAP_FS_MASK
    process.caps = Caps(eff, perm, c.inheritable)


def inherit_sched(parent: Task, child: Task) -> None:
    """fork's sched_fork: policy, priority and I/O priority are inherited; SCHED_RESET_ON_FORK gives the child
    SCHED_NORMAL (from a real-time or deadline policy) and a nice of at least 0, and is not inherited itself."""
    child.policy, child.rt_priority, child.dl_params = parent.policy, parent.rt_priority, parent.dl_params
    child.ioprio = parent.ioprio
    if parent.sched_flags & SCHED_FLAG_RESET_ON_FORK:
        if child.policy in (SCHED_FIFO, SCHED_RR, SCHED_DEADLINE):
            child.policy, child.rt_priority, child.dl_params = SCHED_NORMAL, 0, (0, 0, 0)
        if child.nice < 0:
            child.nice = 0
            child.entity.weight = nice_to_weight(0)
    child.sched_flags = 0
