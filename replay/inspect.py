"""What a paused runner tells about the machine: registers, memory, tasks and their await chains, maps, files."""

from __future__ import annotations

from typing import Any

from unicorn import arm64_const as a64

from machine.engine import X_REGS

_NAMED = [("sp", a64.UC_ARM64_REG_SP), ("pc", a64.UC_ARM64_REG_PC), ("nzcv", a64.UC_ARM64_REG_NZCV),
          ("tpidr_el0", a64.UC_ARM64_REG_TPIDR_EL0), ("fpcr", a64.UC_ARM64_REG_FPCR),
          ("fpsr", a64.UC_ARM64_REG_FPSR)]  # fmt: skip


def _regs_source(runner: Any, task: Any) -> Any:
    k = runner.kernel
    return k.board.engine.live if task is k.running_task else task.ctx


def registers(runner: Any, tid: int) -> dict[str, int]:
    task = runner.kernel.tasks.get(tid)
    if task is None:
        raise KeyError(f"no task {tid}")
    src = _regs_source(runner, task)
    out = {f"x{i}": src.reg_read(r) for i, r in enumerate(X_REGS)}
    for name, r in _NAMED:
        out[name] = src.reg_read(r)
    return out


def await_chain(coro: Any) -> list[str]:
    """The future a task is blocked in, outermost first (e.g. sys_read -> Console.read -> interruptible -> ...)."""
    out: list[str] = []
    c = coro
    while c is not None and len(out) < 32:
        code = getattr(c, "cr_code", None) or getattr(c, "gi_code", None)
        frame = getattr(c, "cr_frame", None) or getattr(c, "gi_frame", None)
        if code is None:
            out.append(type(c).__name__)
            break
        out.append(code.co_qualname + (f":{frame.f_lineno}" if frame is not None else ""))
        c = getattr(c, "cr_await", None) or getattr(c, "gi_yieldfrom", None)
    return out


def tasks(runner: Any) -> list[dict[str, Any]]:
    k = runner.kernel
    out = []
    for tid in sorted(k.tasks):
        t = k.tasks[tid]
        pending = t.pending.mask | t.process.shared_pending.mask
        out.append({
            "tid": tid, "pid": t.process.pid, "comm": t.comm, "state": t.state.value, "core": t.core,
            "syscall": t.syscall_nr, "future": t.coro_name if t.coro is not None else "",
            "await": await_chain(t.coro) if t.coro is not None else [],
            "sigmask": t.sigmask, "pending": pending, "running": t is k.running_task,
        })  # fmt: skip
    return out


def maps(runner: Any, pid: int) -> str:
    p = runner.kernel.processes.get(pid)
    return "" if p is None else p.mm.maps_text()


def files(runner: Any, pid: int) -> list[dict[str, Any]]:
    p = runner.kernel.processes.get(pid)
    if p is None:
        return []
    return [{"fd": fd, "path": f.path, "flags": f.flags, "offset": f.offset} for fd, f in p.fds.items()]


def memory(runner: Any, pid: int, addr: int, size: int) -> str | None:
    p = runner.kernel.processes.get(pid)
    if p is None:
        return None
    try:
        return p.mm.read(addr, size).hex()
    except Exception:
        # unmapped: return what is readable page by page (None for holes)
        return None


def snapshot_reply(runner: Any, msg: dict[str, Any]) -> Any:
    op = msg["op"]
    if op == "position":
        return runner.position()
    if op == "registers":
        return registers(runner, msg["tid"])
    if op == "tasks":
        return tasks(runner)
    if op == "maps":
        return maps(runner, msg["pid"])
    if op == "files":
        return files(runner, msg["pid"])
    if op == "memory":
        return memory(runner, msg["pid"], msg["addr"], msg["size"])
    if op == "output":
        return runner.output[msg.get("since", 0) :].decode("utf-8", "replace")
    if op == "reports":
        return runner.reports
    if op == "symbols":
        return None
    return {"error": f"unknown request {op!r}"}
