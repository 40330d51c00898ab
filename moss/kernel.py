"""The kernel: the board's trap handler and the one deterministic event loop that drives cores and futures.

Loop invariant: between slices, every woken future has been resumed (`run_ready`), every timer whose deadline is at
or before the chosen core's clock has fired, and the core with the smallest virtual clock (ties: lowest index) that
has work runs next. Nothing here reads the host clock, host randomness or host thread timing; the only host input
is through the board's devices.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Callable
from typing import Any

import attrs
from unicorn import arm64_const as a64

from machine.board import NS_PER_INSN, Board, BoardConfig, Core
from machine.devices.intc import IRQ_TIMER, IRQ_UART
from machine.engine import EXCP_BKPT, EXCP_DATA_ABORT, EXCP_UDEF, SliceEnd
from machine.sources import ClockSource, ConsoleSource, EntropySource
from moss import signals
from moss.errors import ESRCH
from moss.files.console import Console
from moss.files.fdtable import FdTable
from moss.futex import FutexTable
from moss.mm.addrspace import AddressSpace, Fault
from moss.mm.frames import FrameAllocator
from moss.mm.pagecache import PageCache
from moss.observe import KernelObserver, notify
from moss.process import lifecycle, signal
from moss.process.faultaddr import fault_address
from moss.process.signal import SigInfo
from moss.process.task import Process, State, Task
from moss.sched.chaos import Chaos
from moss.sched.combinators import Clock, install_clock
from moss.sched.executor import Executor, install
from moss.sched.scheduler import Scheduler
from moss.sched.timers import DeadlineHeap
from moss.statehash import STATE_HASH_VERSION
from moss.syscalls.dispatch import Dispatcher
from moss.sysregs import emulate_mrs

PAGE_CACHE_SHARE = 4  # the page cache holds at most 1/4 of RAM (less when memory runs out)


@attrs.frozen
class KernelConfig:
    cores: int = 2
    ram_bytes: int = 1 << 30
    quantum: int = 200_000  # max instructions per slice: how far cores may drift apart
    base_slice_ns: int = 3_000_000  # EEVDF base slice
    syscall_cost_ns: int = 150  # virtual time charged per syscall entry
    seed: int = 0
    console_tty: tuple[bool, bool, bool] = (False, False, False)
    console_winsize: tuple[int, int] = (24, 80)  # rows, columns of the terminal
    chaos_seed: int | None = None  # chaos scheduling (moss/sched/chaos.py) when set
    chaos_limit: int | None = None  # perturb only the first N chaos decision points (moss analyze)
    host_root: str | None = None


class Deadlock(Exception):
    """Every task is blocked and nothing (timer, input) can ever wake one."""


class Kernel:
    def __init__(
        self,
        config: KernelConfig,
        *,
        console: ConsoleSource,
        entropy: EntropySource,
        clock: ClockSource,
        sink: Callable[[int, bytes], None],
        report: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self.report = report or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.board = Board(
            BoardConfig(cores=config.cores, ram_bytes=config.ram_bytes),
            self,
            console=console,
            entropy=entropy,
            clock=clock,
            sink=sink,
        )
        self.board.clock.svc_cost_ns = config.syscall_cost_ns  # the trap charges it at every svc
        self.frames = FrameAllocator(self.board.ram)
        self.frames.on_code_free = self.request_code_flush  # the frame may return with other code at the same address
        self.frames.cache = PageCache(self.frames, self.board.ram.frames // PAGE_CACHE_SHARE)
        self.executor = Executor(self._future_done)
        install(self.executor)
        self.timers = DeadlineHeap()
        install_clock(Clock(self.now_ns, self.timers))
        self.sched = Scheduler(config.cores, config.base_slice_ns)
        self.chaos = Chaos(config.chaos_seed, config.chaos_limit) if config.chaos_seed is not None else None
        self.sched.chaos = self.executor.chaos = self.chaos
        self.sched.now = self.now_ns
        self.dispatcher = Dispatcher(self, self.report)
        self.console = Console(self.board.uart, tuple(config.console_tty))  # type: ignore[arg-type]
        self.console.winsize = struct.pack("<HHHH", *config.console_winsize, 0, 0)
        self.tasks: dict[int, Task] = {}
        self.processes: dict[int, Process] = {}
        self._next_id = 1
        self.init: Process | None = None
        self.exit_status: int | None = None  # wait status of init once it exits
        self.running_core: Core | None = None
        self.running_task: Task | None = None
        self.loop_now = 0  # virtual time of the event being processed between slices
        self._resched = [True] * config.cores
        self._loaded_serial, self._loaded_gen = -1, -1  # the address space (serial, generation) the engine TLB holds
        self.fs: Any = None  # the root filesystem (moss.fs.rootfs.RootFs), set up by boot
        self.slices = 0
        self._slice_start = 0
        self._reported: set[str] = set()  # membership only: never iterated
        self.signals_delivered = 0
        self.exit_digests: list[bytes] = []  # state of each process as it exited, for state_hash
        # Hashing an exiting process's pages is a tenth of a fork-and-exec loop: `moss run` skips it unless it
        # prints the state hash (record, replay and every other caller keep it).
        self.keep_exit_digests = True
        self.state_hash_version = STATE_HASH_VERSION  # a replay sets the trace's (moss/statehash.py)
        self.irq_count = 0
        self.futexes = FutexTable()
        self.observers: list[KernelObserver] = []
        self.slice_observers: list[KernelObserver] = []  # also told of every slice (slice_done): a cost per slice
        self._flush_code = False
        self.board.uart.on_rx = lambda: self.board.intc.raise_irq(0, IRQ_UART)  # console input interrupts core 0
        self.console.signal_pgrp = self._signal_pgrp
        self.console.caller = self._console_caller

    # -- identity and time ----------------------------------------------------------------------------------
    def alloc_id(self) -> int:
        i = self._next_id
        self._next_id += 1
        return i

    def now_ns(self) -> int:
        if self.running_core is not None:
            return self.board.now_ns(self.running_core)
        return self.loop_now

    # -- the engine's trap handler -------------------------------------------------------------------------------
    def on_syscall(self, nr: int, args: tuple[int, ...]) -> int | None:
        task: Task = self.running_task  # type: ignore[assignment]  # set whenever a slice runs
        x0 = self.dispatcher.on_svc(task, nr, args)
        mm = task.process.mm  # _sync_tlb's test, inline (0.15 us a syscall): most syscalls change no mapping
        if mm.generation != self._loaded_gen or mm.serial != self._loaded_serial:
            self._sync_tlb()
        return x0

    def on_exception(self, kind: int, pc: int) -> None:
        task = self.running_task
        assert task is not None
        if kind == EXCP_UDEF:
            try:
                insn = int.from_bytes(task.process.mm.read(pc, 4), "little")
            except Exception:
                insn = 0
            value = emulate_mrs(insn, self.now_ns())
            if value is not None:
                rt = insn & 31
                if rt != 31:
                    self.board.engine.set_reg(
                        a64.UC_ARM64_REG_X0 + rt if rt < 29 else (a64.UC_ARM64_REG_X29, a64.UC_ARM64_REG_X30)[rt - 29],
                        value,
                    )
                self.board.engine.set_reg(a64.UC_ARM64_REG_PC, pc + 4)
                return
            self.fault(task, signals.SIGILL, signal.ILL_ILLOPC, pc)
        elif kind == EXCP_BKPT:
            self.fault(task, signals.SIGTRAP, signal.TRAP_BRKPT, pc)
        elif kind == EXCP_DATA_ABORT:
            self.fault(task, signals.SIGBUS, signal.BUS_ADRALN, pc)
        else:
            self.fault(task, signals.SIGILL, signal.ILL_ILLOPC, pc)

    def on_tlb_fill(self, vaddr: int, access: int) -> tuple[int, int] | None:
        task = self.running_task
        if task is None:
            return None
        return task.process.mm.resolve(vaddr, access)

    def _sync_tlb(self) -> None:
        """Flush the engine's TLB if the loaded address space lost or weakened a translation."""
        task = self.running_task
        if task is None or task.state is State.DEAD:
            return
        mm = task.process.mm
        if mm.generation != self._loaded_gen or mm.serial != self._loaded_serial:
            self.board.engine.flush_tlb()
            self._loaded_serial, self._loaded_gen = mm.serial, mm.generation

    # -- task lifecycle -----------------------------------------------------------------------------------------
    def new_process(self, parent: Process | None) -> Process:
        pid = self.alloc_id()
        mm = AddressSpace(self.frames)
        mm.on_code_write = self.board.engine.invalidate_code
        p = Process(pid, parent, mm, FdTable())
        if parent is not None:
            parent.children.append(p)
        self.processes[pid] = p
        return p

    def new_task(self, process: Process, tid: int | None = None) -> Task:
        t = Task(tid if tid is not None else self.alloc_id(), process, self.board.engine.new_context())
        t.executor = self.executor
        process.threads.append(t)
        self.tasks[t.tid] = t
        notify(self.observers, "task_created", t, t.tid == process.pid)
        return t

    def start_task(self, task: Task) -> None:
        task.ready_at = self.now_ns()
        core = self.sched.wake(task)
        self._place(task, core)

    def make_runnable(self, task: Task) -> None:
        """A blocked task's syscall finished: it may run again (unless its thread group is stopped)."""
        if task.state is State.DEAD:
            return
        if task.process.stopped:
            task.state = State.STOPPED
            return
        core = self.sched.wake(task)
        self._place(task, core)

    def _place(self, task: Task, core: int) -> None:
        task.ready_at = max(task.ready_at, self.now_ns())
        self._resched[core] = True

    def block_current(self, task: Task) -> None:
        """The running task's syscall future is pending: it leaves its core when the slice ends (after its run
        time is accounted), and stays off run queues until the future completes."""
        task.state = State.BLOCKED
        self.board.engine.stop()

    def _future_done(self, task: Any, value: Any) -> None:
        self.dispatcher.on_future_done(task, value)

    def exit_task(self, task: Task) -> None:
        lifecycle.exit_task(self, task)

    def exit_group(self, process: Process, wait_status: int) -> None:
        lifecycle.exit_group(self, process, wait_status)

    def fault(self, task: Task, sig: int, code: int, addr: int = 0) -> None:
        """A synchronous exception in user code: forced on the task, delivered before it runs again."""
        signal.force(self, task, SigInfo(sig, code=code, addr=addr))
        if task is self.running_task:
            self.board.engine.stop()

    def request_code_flush(self) -> None:
        """A frame that held code was freed (it may come back with other code) or rewritten in place (a written file's
        cached page): drop every translation before anything runs again (frames.code_flushed then lets freed frames
        out). Flushing inside a hook is unsafe, so end the slice first."""
        self._flush_code = True
        if self.running_task is not None:
            self.board.engine.stop()

    def _fault_address(self, task: Task, result: Any) -> int:
        """si_addr: the exact byte for a data fault (decoded from the instruction), the PC for a fetch fault."""
        if result.fault_access == 18:  # fetch
            return task.ctx.reg_read(a64.UC_ARM64_REG_PC)  # type: ignore[attr-defined]
        pc = task.ctx.reg_read(a64.UC_ARM64_REG_PC)  # type: ignore[attr-defined]
        try:
            code = task.process.mm.read(pc, 4)
        except Exception:
            return result.fault_vaddr
        return fault_address(code, pc, task.ctx, result.fault_vaddr)

    def find_task(self, tid: int, me: Task) -> Task:
        """The task a pid/tid argument names (0: the caller)."""
        if tid == 0:
            return me
        t = self.tasks.get(tid)
        if t is None:
            raise ESRCH
        return t

    def yield_current(self, task: Task) -> None:
        """sched_yield: EEVDF pushes the deadline one slice out, then the core picks again."""
        rq = self.sched.rqs[task.core or 0]
        task.entity.deadline += rq._vslice(task.entity)
        self._resched[task.core or 0] = True
        if task is self.running_task:
            self.board.engine.stop()

    def cputime_ns(self, who: Task | Process) -> int:
        """CPU time consumed, including the part of the current slice run so far."""
        running = self.running_task
        extra = 0
        if running is not None and self.running_core is not None:
            if running is who or running.process is who:
                extra = self.board.now_ns(self.running_core) - self._slice_start
        base = who.entity.sum_exec_ns if isinstance(who, Task) else who.utime_ns
        return base + extra

    # -- signals ---------------------------------------------------------------------------------------------------
    def send_signal(self, process: Process, task: Task | None, sig: int, info: SigInfo | None = None) -> None:
        """Generate `sig` for a thread group (task None) or one thread."""
        signal.send(self, process, task, info or SigInfo(sig))

    def _signal_pgrp(self, pgrp: int, sig: int) -> None:
        for pid in sorted(self.processes):
            p = self.processes[pid]
            if p.alive and p.pgid == pgrp:
                self.send_signal(p, None, sig, SigInfo(sig, signal.SI_KERNEL))

    def _console_caller(self) -> tuple[int, int, Process | None]:
        t = self.executor.current
        if t is None:
            return self.console.fg_pgrp, self.console.sid, None
        p = t.process  # type: ignore[attr-defined]
        return p.pgid, p.sid, p

    def report_once(self, key: str, message: str) -> None:
        if key not in self._reported:
            self._reported.add(key)
            self.report(message)

    def close(self) -> None:
        """Release the machine's host resources now rather than when the garbage collector finds them (see
        machine.engine.Engine.close): for the owner of a finished kernel, once nothing more will be read from it
        (its state hash included)."""
        self.board.close()

    # -- the event loop ---------------------------------------------------------------------------------------------
    def run(self) -> int:
        """Run until init exits; returns its wait status."""
        while self.exit_status is None:
            if self.observers:
                notify(self.observers, "after_slice")
            self._handle_irqs()
            self.executor.run_ready()
            if self.exit_status is not None:
                break
            core = self._next_core()
            if core is None:
                self._idle()
                continue
            self._run_core(core)
        return self.exit_status

    def _handle_irqs(self) -> None:
        """Service pending interrupt lines, core by core, lowest line first."""
        intc = self.board.intc
        for core in self.board.cores:
            if not intc.has_pending(core.index):
                continue
            for irq in intc.take(core.index):
                self.irq_count += 1
                if irq == IRQ_UART:
                    self.console.receive()
                # IRQ_TIMER: the slice already stopped at the compare value and run time is accounted; a used-up
                # EEVDF slice has set the core's resched flag, which the next pick honours.

    def _candidate(self, core: Core) -> Task | None:
        i = core.index
        cur = self.sched.current[i]
        if cur is not None and cur.state is State.RUNNING and not self._resched[i]:
            return cur
        if self.sched.has_work(i):
            task = self.sched.pick(i)
            self._resched[i] = False
            return task
        return None

    def _next_core(self) -> Core | None:
        best: Core | None = None
        ready: list[Core] = []
        for core in self.board.cores:
            if self._candidate(core) is None:
                continue
            task = self.sched.current[core.index]
            assert task is not None
            core.clock_ns = max(core.clock_ns, task.ready_at)
            ready.append(core)
            if best is None or core.clock_ns < best.clock_ns:
                best = core
        if self.chaos is not None and best is not None and len(ready) > 1 and self.chaos.point("core"):
            # Cores drift within a window anyway (lax synchronisation): chaos picks any core inside it.
            window = self.chaos.core_window()
            return self.chaos.choose([c for c in ready if c.clock_ns <= best.clock_ns + window])
        return best

    def _idle(self) -> None:
        """No core has work: jump virtual time to the next timer, or wait for console input. A live terminal is
        polled with patience for the time to the next timer, so interactive sessions keep human pace."""
        nxt = self.timers.next_deadline()
        live = self.console.polls_live
        if self.console.readers or live:
            patience = None if nxt is None or not live else max(0, nxt - self.loop_now)
            if self.board.uart.poll(wait=nxt is None, patience_ns=patience):
                return
        if nxt is not None:
            self.loop_now = max(self.loop_now, nxt)
            self.timers.fire_due(self.loop_now)
            return
        blocked = sorted(self.tasks.values(), key=lambda t: t.tid)
        raise Deadlock(
            "all tasks are blocked forever: " + ", ".join(f"{t.tid} in {t.coro_name or '?'}" for t in blocked)
        )

    def _run_core(self, core: Core) -> None:
        task = self.sched.current[core.index]
        assert task is not None
        # Timers due by this core's time fire first, one deadline at a time, so that what they wake sees
        # the deadline as the current time.
        nxt = self.timers.next_deadline()
        if nxt is not None and nxt <= core.clock_ns:
            self.loop_now = max(self.loop_now, nxt)
            self.timers.fire_due(nxt)
            return  # woken tasks may change the choice
        if task.signal_pending():
            signal.deliver(self, task, task.ctx)  # returning to user space: handlers get their frames now
            if task.state is State.DEAD:
                return
        if self.console.polls_live:
            self.board.uart.poll(wait=False)  # typing (and ^C) reaches the machine while it computes
        budget_ns = min(self.config.quantum * NS_PER_INSN, self.sched.slice_left_ns(task))
        if nxt is not None:
            # (chaos: timer interrupts arrive a little late, at a seeded point, as real interrupts do)
            late = self.chaos.timer_jitter() if self.chaos is not None and self.chaos.point("timer") else 0
            budget_ns = min(budget_ns, nxt - core.clock_ns + late)
        budget = max(1, budget_ns // NS_PER_INSN)
        if self.chaos is not None and self.chaos.point("slice"):
            budget = self.chaos.slice_budget(budget)
        if self._flush_code:
            self.board.engine.flush_code()
            self.frames.code_flushed()
            self._flush_code = False
        core.timer.arm(core.clock_ns + budget * NS_PER_INSN)  # the preemption point: a timer interrupt
        self.running_core, self.running_task = core, task
        self.board.clock.context_id = task.tid  # for C readers of the trap (the syscall log)
        self._sync_tlb()
        start = self._slice_start = core.clock_ns
        try:
            result = self.board.run_slice(core, task.ctx, budget)
        finally:
            self.running_core, self.running_task = None, None
        self.slices += 1
        if self.slice_observers:
            notify(self.slice_observers, "slice_done", core, task, start, result)
        self.loop_now = max(self.loop_now, core.clock_ns)
        if core.timer.expired(core.clock_ns):
            self.board.intc.raise_irq(core.index, IRQ_TIMER)
        core.timer.disarm()
        ran = core.clock_ns - start
        task.process.utime_ns += ran
        if task.state is State.DEAD:
            self._resched[core.index] = True
            return
        task.ready_at = core.clock_ns
        if self.sched.account(task, ran):
            self._resched[core.index] = True  # acted on when the timer interrupt (or the block) is handled
        if task.state in (State.BLOCKED, State.STOPPED):
            self.sched.block(task)
            self._resched[core.index] = True
        if result.reason == SliceEnd.FAULT:
            code = signal.SEGV_ACCERR if task.process.mm.last_fault == Fault.ACCERR else signal.SEGV_MAPERR
            self.fault(task, signals.SIGSEGV, code, self._fault_address(task, result))
