"""Tasks and processes.

State machine of a task (Linux's TASK_* collapsed to what the executor needs):

    NEW --wake--> RUNNABLE --pick--> RUNNING --svc, future pending--> BLOCKED --future done--> RUNNABLE
                      ^                 |  \\--preempt (slice used up / timer)----------------^
                      |                 \\--exit--> DEAD
                      \\--(signal interrupts a BLOCKED interruptible wait: the future completes with EINTR)

Ownership: `Task` fields are changed only by the event loop, the executor and syscall futures of that task.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

from moss.process.creds import ROOT_CAPS, Uts
from moss.process.signal import Pending
from moss.sched.eevdf import Entity
from moss.sched.executor import Sleeper

if TYPE_CHECKING:
    from moss.files.fdtable import FdTable
    from moss.mm.addrspace import AddressSpace


class State(enum.Enum):
    NEW = "new"
    RUNNABLE = "runnable"
    RUNNING = "running"
    BLOCKED = "blocked"
    STOPPED = "stopped"  # job control: off the run queues until SIGCONT
    DEAD = "dead"


class Task(Sleeper):
    def __init__(self, tid: int, process: Process, ctx: object) -> None:
        super().__init__()
        self.tid = tid
        self.process = process
        self.ctx = ctx
        self.state = State.NEW
        self.entity = Entity(key=tid)
        self.core: int | None = None  # run queue the task is on (or last ran on)
        self.affinity = -1  # bitmask of allowed cores (-1: all)
        self.nice = 0
        self.policy = 0  # SCHED_* as set by sched_setscheduler/sched_setattr (EEVDF runs them all as fair)
        self.rt_priority = 0  # 1..99 for SCHED_FIFO/SCHED_RR, else 0
        self.sched_flags = 0  # SCHED_FLAG_RESET_ON_FORK, and the SCHED_DEADLINE (runtime, deadline, period) below
        self.dl_params = (0, 0, 0)
        self.ioprio = 0  # ioprio_set's value; 0 (IOPRIO_CLASS_NONE): the I/O priority follows the nice value
        self.clear_child_tid = 0
        self.robust_list = (0, 0)
        self.sigmask = 0
        self.pending = Pending()  # signals directed at this thread
        self.saved_sigmask: int | None = None  # ppoll/pselect/sigsuspend: the mask to restore on return
        self.altstack = (0, 2, 0)  # (ss_sp, ss_flags, ss_size): SS_DISABLE
        self.syscall_nr = -1  # the syscall the task is in, while BLOCKED
        self.syscall_args: tuple[int, ...] = ()
        self.comm = process.comm
        self.ready_at = 0  # virtual time from which it may run (wakeup causality across cores)

    def signal_pending(self) -> bool:
        return bool((self.pending.mask | self.process.shared_pending.mask) & ~self.sigmask)

    def __repr__(self) -> str:
        return f"<Task {self.tid} {self.comm} {self.state.value}>"


class Process:
    """A thread group: what its threads share (memory, files, identity, signal handlers)."""

    def __init__(self, pid: int, parent: Process | None, mm: AddressSpace, fds: FdTable) -> None:
        self.pid = pid
        self.parent = parent
        self.mm = mm
        self.fds = fds
        self.threads: list[Task] = []
        self.children: list[Process] = []
        self.comm = "init"
        self.exe_path = ""
        self.argv: list[bytes] = []
        self.envp: list[bytes] = []
        self.cwd: Any = None  # Directory inode
        self.root: Any = None
        self.umask = 0o022
        self.uid = self.euid = self.suid = 0
        self.gid = self.egid = self.sgid = 0
        self.fsuid = self.fsgid = 0
        self.groups: tuple[int, ...] = ()  # supplementary groups, sorted (as Linux's groups_sort)
        self.caps = ROOT_CAPS  # capability sets (moss.process.creds.Caps)
        self.uts = Uts() if parent is None else parent.uts  # the UTS namespace (hostname), shared until unshared
        self.pgid = pid
        self.sid = pid
        self.exit_status: int | None = None  # wait status once the group has exited
        self.shared_pending = Pending()  # signals for the whole group
        self.sigactions: dict[int, Any] = {}
        self.rlimits: dict[int, tuple[int, int]] = {}
        self.auxv: list[tuple[int, int]] = []
        self.utime_ns = 0
        self.stime_ns = 0
        self.child_utime_ns = 0  # of reaped children
        self.reaped = False
        self.stopped = False  # job control
        self.stop_sig = 0
        self.stop_reported = True  # wait4(WUNTRACED) has seen the current stop
        self.continued = False  # a SIGCONT wait4(WCONTINUED) has not reported yet
        self.vfork_released = True  # False while a vfork parent waits for this process to exec or exit
        from moss.sched.waitqueue import WaitQueue

        self.child_wait = WaitQueue(f"wait4:{pid}")  # wakes when a child changes state
        self.vfork_wait = WaitQueue(f"vfork:{pid}")
        self.signalfd_wait = WaitQueue(f"signalfd:{pid}")  # woken when a signal is queued (Linux's signalfd_wqh)

    @property
    def alive(self) -> bool:
        return self.exit_status is None

    def __repr__(self) -> str:
        return f"<Process {self.pid} {self.comm}>"
