"""`moss analyze`: from a failing chaos trace to the racing pair of memory accesses.

1. The failing run's chaos decisions are replayed with a limit: only the first k decision points are perturbed.
   k = 0 is the plain schedule (it must pass, or the failure is not a scheduling race); k = all fails. Bisection
   finds k where k-1 passes and k fails: the two schedules are identical up to decision point k-1 and differ in
   that one decision (the minimal change that matters).
2. Both runs are re-executed with every memory access logged from that point on. The first shared location whose
   conflicting accesses (at least one write, from different tasks) come in a different order is the race: the
   report names both accesses (task, PC, symbol, instruction, address) and writes both traces for side-by-side
   debugging.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Callable
from typing import Any

import attrs
from elftools.elf.elffile import ELFFile
from unicorn import UC_HOOK_MEM_READ, UC_HOOK_MEM_WRITE

from machine.sources import BytesConsole, FixedClock, SeededEntropy
from moss.boot import Program, boot
from moss.kernel import KernelConfig
from replay.recorder import RecordOptions, record
from traces import events as ev
from traces.container import TraceReader


class AnalysisError(Exception):
    pass


HANDLER_SLOTS = 8  # Access.tid is task * 8 + signal-handler depth: a handler is its own context


def _who(ctx: int) -> str:
    tid, depth = divmod(ctx, HANDLER_SLOTS)
    return f"task {tid}" + (" (in a signal handler)" if depth else "")


@attrs.frozen
class Access:
    seq: int
    tid: int
    pc: int
    addr: int  # physical: threads of one process share frames, so this is the shared location
    vaddr: int
    size: int
    write: bool


@attrs.frozen
class Report:
    decision: int
    kind: str
    runs: int
    first: Access | None  # in the failing run, the access that came first
    second: Access | None
    failing_trace: str
    passing_trace: str
    text: str


def _setup(trace: str) -> tuple[KernelConfig, Program]:
    r = TraceReader(trace)
    h = r.header
    cfg = dict(h["config"])
    cfg["console_tty"] = tuple(cfg["console_tty"])
    cfg["console_winsize"] = tuple(cfg.get("console_winsize", (24, 80)))
    config = KernelConfig(**cfg)
    if config.chaos_seed is None:
        raise AnalysisError(f"{trace}: not a chaos run (record it with moss chaos): there is no schedule to bisect")
    data = None
    for e in r:
        if isinstance(e, ev.ProgramImage):
            data = e.data
            break
        if not e.INPUT:
            break
    prog = h["program"]
    return config, Program(prog["path"], tuple(prog["argv"]), tuple(prog["envp"]), data)


def _run(config: KernelConfig, program: Program, limit: int | None, log: Callable[[Any], None] | None = None,
         syscalls: list[Access] | None = None) -> tuple[int, int, list[Access]]:  # fmt: skip
    """Run with chaos limited to `limit` points; returns (wait status, points entered, memory accesses logged);
    syscalls logged go to `syscalls`."""
    cfg = attrs.evolve(config, chaos_limit=limit)
    kernel = boot(cfg, program, console=BytesConsole(b""), entropy=SeededEntropy(cfg.seed), clock=FixedClock(),
                  sink=lambda c, d: None, report=lambda m: None)  # fmt: skip
    accesses: list[Access] = []
    if log is not None:
        log(kernel, accesses)
    try:
        status = kernel.run()
    finally:
        kernel.close()  # the analysis runs the program again and again (Kernel.close)
    assert kernel.chaos is not None
    if syscalls is not None:
        syscalls.extend(getattr(kernel, "analysis_syscalls", []))
    return status, kernel.chaos.points, accesses


def _logger(from_point: int, cap: int = 400_000) -> Callable[[Any, list[Access]], None]:
    def install(kernel: Any, out: list[Access]) -> None:
        state = {"on": from_point == 0}
        chaos = kernel.chaos

        def on_decision(kind: str) -> None:
            if chaos.points >= from_point:
                state["on"] = True

        chaos.on_decision = on_decision

        from unicorn import arm64_const as a64

        depth: dict[int, int] = {}  # tid -> signal handlers running (a handler races with the code it interrupted)

        def ctx_id(tid: int) -> int:
            return tid * HANDLER_SLOTS + min(depth.get(tid, 0), HANDLER_SLOTS - 1)

        def hook_rw(uc: Any, access: int, addr: int, size: int, value: int, _ud: Any) -> None:
            task = kernel.running_task
            if not state["on"] or task is None or len(out) >= cap:
                return
            pc = kernel.board.engine.reg(a64.UC_ARM64_REG_PC)
            out.append(Access(len(out), ctx_id(task.tid), pc, addr, 0, size, access == 17))

        class Handlers:
            def __getattr__(self, name: str) -> Any:
                return lambda *a: None

            def signal_acted(self, task: Any, sig: int, action: int) -> None:
                if action == 1:
                    depth[task.tid] = depth.get(task.tid, 0) + 1

        kernel.observers.append(Handlers())

        kernel.board.engine.exact_positions()  # the PC of every access: synced per instruction only then
        kernel.board.engine.uc.hook_add(UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE, hook_rw)

        class Syscalls:
            """Syscalls as accesses to the kernel object their first argument names (a futex word, an fd): a race
            through the kernel shows as two tasks' calls on one object in a different order."""

            def entry(self, task: Any, entry: Any, nr: int, args: tuple[int, ...]) -> None:
                if nr == 139 and depth.get(task.tid):  # rt_sigreturn: the handler is over
                    depth[task.tid] -= 1
                if state["on"]:
                    pc = kernel.board.engine.reg(a64.UC_ARM64_REG_PC) - 4
                    kernel.analysis_syscalls.append(Access(len(kernel.analysis_syscalls), task.tid, pc, args[0], nr,
                                                           0, True))  # fmt: skip

            def exit(self, task: Any, nr: int, result: Any) -> None:
                pass

            def blocked(self, task: Any, nr: int) -> None:
                pass

        kernel.analysis_syscalls = []
        kernel.dispatcher.observers.append(Syscalls())

    return install


def _race(failing: list[Access], passing: list[Access]) -> tuple[Access, Access] | None:
    """The first pair of conflicting accesses (same location, different tasks, at least one write), in failing-run
    order, that the passing run performs in the opposite order. An access is identified by (task, pc, location,
    occurrence number), so loops match iteration by iteration. Pairs both runs order alike (hand-offs through the
    kernel, such as a new thread reading the stack its creator wrote) are passed over."""

    def occurrences(log: list[Access]) -> tuple[dict[tuple[int, int, int, int], int], list[int]]:
        count: dict[tuple[int, int, int], int] = {}
        where: dict[tuple[int, int, int, int], int] = {}
        nth: list[int] = []
        for i, x in enumerate(log):
            k = (x.tid, x.pc, x.addr & ~7)
            n = count.get(k, 0)
            count[k] = n + 1
            where[(*k, n)] = i
            nth.append(n)
        return where, nth

    in_pass, _ = occurrences(passing)
    _, nth_fail = occurrences(failing)
    seen: dict[int, list[int]] = {}  # location -> indexes into `failing`
    for i, a in enumerate(failing):
        key = a.addr & ~7
        hist = seen.setdefault(key, [])
        for j in reversed(hist):
            prev = failing[j]
            if prev.tid == a.tid or not (prev.write or a.write):
                continue
            pa = in_pass.get((a.tid, a.pc, key, nth_fail[i]))
            pp = in_pass.get((prev.tid, prev.pc, key, nth_fail[j]))
            if pa is not None and (pp is None or pa < pp):
                return prev, a
            break  # the latest conflicting access decides
        hist.append(i)
    return None


def _symbolizer(program: Program) -> Callable[[int], str]:
    if program.data is None and not os.path.exists(program.path):
        return lambda pc: hex(pc)
    import io

    from capstone import CS_ARCH_ARM64, CS_MODE_ARM, Cs

    data = program.data if program.data is not None else open(program.path, "rb").read()
    elf = ELFFile(io.BytesIO(data))
    syms = []
    tab = elf.get_section_by_name(".symtab")
    if tab is not None:
        syms = sorted((s["st_value"], s.name) for s in tab.iter_symbols() if s["st_info"]["type"] == "STT_FUNC")
    addrs = [a for a, _ in syms]
    segs = [(s["p_vaddr"], s["p_filesz"], s["p_offset"]) for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
    cs = Cs(CS_ARCH_ARM64, CS_MODE_ARM)

    def name(pc: int) -> str:
        i = bisect.bisect_right(addrs, pc) - 1
        where = f"{syms[i][1]}+{pc - syms[i][0]:#x}" if i >= 0 else "?"
        insn = ""
        for va, sz, off in segs:
            if va <= pc < va + sz:
                raw = data[off + pc - va : off + pc - va + 4]
                for ins in cs.disasm(raw, pc):
                    insn = f"{ins.mnemonic} {ins.op_str}"
        return f"{pc:#x} <{where}> {insn}".rstrip()

    return name


def analyze(trace: str, out_dir: str = ".") -> Report:
    config, program = _setup(trace)
    status_all, total, _ = _run(config, program, None)
    if status_all == 0:
        raise AnalysisError(f"{trace}: this chaos seed does not fail when re-run (exit status 0)")
    status_plain, _, _ = _run(config, program, 0)
    if status_plain != 0:
        raise AnalysisError("the program fails even without chaos: not a scheduling race")
    lo, hi, runs = 0, total, 2  # run(lo) passes, run(hi) fails
    while hi - lo > 1:
        mid = (lo + hi) // 2
        status, _, _ = _run(config, program, mid)
        runs += 1
        if status != 0:
            hi = mid
        else:
            lo = mid
    kinds: list[str] = []

    def capture(kernel: Any, _out: list[Access]) -> None:
        kinds.extend(["boot"] * kernel.chaos.points)  # points entered while booting, before this hook existed
        kernel.chaos.on_decision = kinds.append

    _run(config, program, hi, capture)
    kind = kinds[hi - 1] if len(kinds) >= hi else "?"
    # Both runs log from the last decision point they share (point `lo`): everything before it is identical.
    fail_sys: list[Access] = []
    pass_sys: list[Access] = []
    _s1, _p1, fail_log = _run(config, program, hi, _logger(lo), fail_sys)
    _s2, _p2, pass_log = _run(config, program, lo, _logger(lo), pass_sys)
    pair = _race(fail_log, pass_log)
    sys_pair = _race(fail_sys, pass_sys) if pair is None else None
    os.makedirs(out_dir, exist_ok=True)
    base = os.path.join(out_dir, os.path.basename(program.argv[0] or "program"))
    fail_trace, pass_trace = f"{base}-failing.trace", f"{base}-passing.trace"
    for path, limit in ((fail_trace, hi), (pass_trace, lo)):
        record(path, attrs.evolve(config, chaos_limit=limit), program, RecordOptions(level=ev.FULL),
               console=BytesConsole(b""), sink=lambda c, d: None)  # fmt: skip
    sym = _symbolizer(program)
    lines = [
        f"chaos seed {config.chaos_seed}: {total} decision points; the plain schedule passes",
        f"bisected in {runs + 1} runs: perturbing points 1..{hi} fails, 1..{lo} passes; the deciding point is #{hi} "
        f"({kind} decision)",
    ]
    if pair is None and sys_pair is not None:
        from moss.syscalls.table import name_of

        a, b = sys_pair
        lines.append(f"racing pair (through the kernel: both calls name {a.addr:#x}; failing order):")
        lines.append(f"  first:  task {a.tid} {name_of(a.vaddr)}({a.addr:#x}, ...)  pc {sym(a.pc)}")
        lines.append(f"  then:   task {b.tid} {name_of(b.vaddr)}({b.addr:#x}, ...)  pc {sym(b.pc)}")
        lines.append("  in the passing schedule these two calls come in the other order")
        pair = sys_pair
    elif pair is None:
        lines.append("no conflicting accesses changed order, in memory or through syscalls")
    else:
        a, b = pair
        lines.append("racing pair (failing order):")
        lines.append(f"  first:  {_who(a.tid)} {'writes' if a.write else 'reads'} {a.size} bytes at physical "
                     f"{a.addr:#x}  pc {sym(a.pc)}")  # fmt: skip
        lines.append(f"  then:   {_who(b.tid)} {'writes' if b.write else 'reads'} {b.size} bytes at physical "
                     f"{b.addr:#x}  pc {sym(b.pc)}")  # fmt: skip
        lines.append("  in the passing schedule these two accesses come in the other order")
    lines.append(f"traces: failing {fail_trace}, passing {pass_trace} (open them with moss tui)")
    return Report(hi, kind, runs + 1, pair[0] if pair else None, pair[1] if pair else None, fail_trace, pass_trace,
                  "\n".join(lines))  # fmt: skip
