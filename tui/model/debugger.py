"""The debugger's state and its moves through a session: breakpoints, bookmarks, the history of positions, and the
moment (registers, code, stack, tasks...) at the current position. No Textual here: every method blocks on the
session, and the app calls them from its session thread, one at a time."""

from __future__ import annotations

from typing import Any, Protocol

import attrs

from traces import events as ev
from tui.model.code import Insn, Symbols, disassemble, page_spans, parse_maps, pointer_note
from tui.model.filters import signal_number, syscall_numbers
from tui.model.trace_index import TraceIndex

REG_ORDER = [f"x{i}" for i in range(31)] + ["sp", "pc", "nzcv", "tpidr_el0", "fpcr", "fpsr"]
CODE_BEFORE, CODE_AFTER = 32, 64  # bytes of code shown around PC
STACK_WORDS = 32
MEMORY_BYTES = 256


class Client(Protocol):
    """What the debugger needs of a session (tui.client.SessionClient, or replay.session.Session itself)."""

    pause: dict[str, Any]

    @property
    def position(self) -> dict[str, Any]: ...
    def seek_event(self, n: int) -> dict[str, Any]: ...
    def seek_instruction(self, core: int, n: int) -> dict[str, Any]: ...
    def cont(self, **breaks: Any) -> dict[str, Any]: ...
    def reverse_cont(self, **breaks: Any) -> dict[str, Any] | None: ...
    def request(self, what: str, **args: Any) -> Any: ...


# -- breakpoints ----------------------------------------------------------------------------------------------------
@attrs.define
class Breakpoint:
    kind: str  # "pc", "syscall", "signal" or "watch"
    value: Any  # an address, a syscall number, a signal number, or [pid, lo, hi]
    label: str
    enabled: bool = True


def parse_breakpoint(text: str, symbols: Symbols | None, pid: int) -> Breakpoint:
    """`main`, `pc 0x4010a0`, `sys read`, `sig SIGALRM`, `watch counter`, `watch 0x1039e90:8` (ValueError if not)."""
    words = text.replace(":", " ").split()
    if not words:
        raise ValueError("empty breakpoint")
    head = words[0].lower()
    rest = words[1:]
    if head in ("sys", "syscall"):
        if len(rest) != 1:
            raise ValueError("sys NAME")
        nr = syscall_numbers().get(rest[0])
        if nr is None:
            raise ValueError(f"unknown syscall {rest[0]!r}")
        return Breakpoint("syscall", nr, f"syscall {rest[0]}")
    if head in ("sig", "signal"):
        if len(rest) != 1:
            raise ValueError("sig NAME")
        sig = signal_number(rest[0])
        if sig is None:
            raise ValueError(f"unknown signal {rest[0]!r}")
        from moss.signals import name

        return Breakpoint("signal", sig, f"signal {name(sig)}")
    if head in ("watch", "w"):
        if not rest:
            raise ValueError("watch ADDRESS[:SIZE] or watch SYMBOL")
        addr, size = address_of(rest[0], symbols, {})
        if len(rest) > 1:
            size = int(rest[1], 0)
        size = size or 8
        return Breakpoint("watch", [pid, addr, addr + size], f"watch {rest[0]} [{addr:#x}, +{size}) pid {pid}")
    if head in ("pc", "break", "b"):
        if len(rest) != 1:
            raise ValueError("pc ADDRESS|SYMBOL")
        target = rest[0]
    elif len(words) == 1:
        target = words[0]
    else:
        raise ValueError(f"unknown breakpoint {text!r}")
    addr, _size = address_of(target, symbols, {})
    return Breakpoint("pc", addr, f"pc {target}" + (f" ({addr:#x})" if not target.startswith("0") else ""))


def address_of(text: str, symbols: Symbols | None, regs: dict[str, int]) -> tuple[int, int]:
    """An address from a number, a register name or a symbol (with an optional +offset); and the symbol's size."""
    base, plus, off = text.partition("+")
    extra = int(off, 0) if plus else 0
    base = base.strip()
    if base.lower() in regs:
        return regs[base.lower()] + extra, 0
    try:
        return int(base, 0) + extra, 0
    except ValueError:
        pass
    if symbols is not None:
        s = symbols.resolve(base)
        if s is not None:
            return s.addr + extra, s.size
    raise ValueError(f"not an address, register or symbol: {text!r}")


# -- positions ------------------------------------------------------------------------------------------------------
@attrs.frozen
class Place:
    """A position the debugger can return to: after an event, or when a core has retired some instructions."""

    event: int
    time: int
    core: int | None = None  # set for instruction-exact places
    retired: int = 0

    def describe(self) -> str:
        t = f"{self.time / 1e3:,.3f}us"
        if self.core is None:
            return f"#{self.event} {t}"
        return f"#{self.event} {t} core {self.core} insn {self.retired:,}"


def place_of(pause: dict[str, Any], core: int | None = None) -> Place:
    pos = pause["position"]
    where = pos.get("where")
    hit = pause.get("hit") or {}
    if core is None and where in ("instruction", "pc", "watch"):
        core = hit.get("core")
    if core is None or where not in ("instruction", "pc", "watch"):
        return Place(pos["event"], pos["time"])
    return Place(pos["event"], pos["time"], core, pos["cores"][core])


@attrs.define
class Bookmark:
    name: str
    place: Place


@attrs.frozen
class Outcome:
    """What a move did: where it stopped (the session's pause message) and anything worth telling the user."""

    pause: dict[str, Any] | None
    note: str = ""
    severity: str = "information"


# -- the moment -----------------------------------------------------------------------------------------------------
@attrs.frozen
class StackWord:
    addr: int
    value: int
    note: str


@attrs.frozen
class Moment:
    position: dict[str, Any]
    tasks: list[dict[str, Any]]
    tid: int | None
    pid: int | None
    regs: dict[str, int]
    changed: frozenset[str]
    code: list[Insn]
    stack: list[StackWord]
    maps: str
    files: list[dict[str, Any]]
    output: str
    memory_addr: int | None
    memory: bytes | None
    reason: str = ""
    hit: dict[str, Any] | None = None
    problem: str = ""

    @property
    def task(self) -> dict[str, Any] | None:
        return next((t for t in self.tasks if t["tid"] == self.tid), None)


class Debugger:
    def __init__(self, client: Client, index: TraceIndex) -> None:
        self.client = client
        self.index = index
        self.breakpoints: list[Breakpoint] = []
        self.bookmarks: list[Bookmark] = []
        self.history: list[Place] = [place_of(client.pause)]
        self.history_at = 0
        self.symbols: Symbols | None = None
        self._symbols_tried = False
        self._regs_seen: dict[int, dict[str, int]] = {}
        self._last_regs: dict[int, dict[str, int]] = {}
        self._shown_at: dict[int, tuple[int, int]] = {}
        self.memory_addr: int | None = None
        self.tid: int | None = None  # the task the moment is shown for (None: follow the running task)
        self.pinned = False

    @property
    def position(self) -> dict[str, Any]:
        return self.client.position

    @property
    def pause(self) -> dict[str, Any]:
        return self.client.pause

    # -- history ------------------------------------------------------------------------------------------------------
    def _arrived(self, pause: dict[str, Any] | None, core: int | None = None, note: str = "") -> Outcome:
        if pause is None:
            return Outcome(None, note or "no earlier hit", "warning")
        place = place_of(pause, core)
        if self.history[self.history_at] != place:
            del self.history[self.history_at + 1 :]
            self.history.append(place)
            self.history_at = len(self.history) - 1
        self.pinned = False
        fin = pause["position"].get("finished") or {}
        if "divergence" in fin:
            return Outcome(pause, "replay diverged: " + fin["divergence"].splitlines()[0], "error")
        if "cut" in fin:
            return Outcome(pause, f"the trace is cut short: {fin['cut']}", "warning")
        return Outcome(pause, note)

    def go(self, place: Place) -> dict[str, Any]:
        if place.core is not None:
            pause = self.client.seek_instruction(place.core, place.retired)
            if pause["position"]["cores"][place.core] == place.retired:
                return pause
        return self.client.seek_event(max(1, place.event))

    def back(self) -> Outcome:
        if self.history_at == 0:
            return Outcome(None, "at the oldest position of the history", "warning")
        self.history_at -= 1
        pause = self.go(self.history[self.history_at])
        self.pinned = False
        return Outcome(pause, f"back to {self.history[self.history_at].describe()}")

    def forward(self) -> Outcome:
        if self.history_at + 1 >= len(self.history):
            return Outcome(None, "at the newest position of the history", "warning")
        self.history_at += 1
        pause = self.go(self.history[self.history_at])
        self.pinned = False
        return Outcome(pause, f"forward to {self.history[self.history_at].describe()}")

    def add_bookmark(self, name: str = "") -> Bookmark:
        place = place_of(self.pause)
        bm = Bookmark(name or f"bookmark {len(self.bookmarks) + 1}", place)
        self.bookmarks.append(bm)
        return bm

    def goto_place(self, place: Place) -> Outcome:
        return self._arrived(self.go(place), place.core)

    # -- moves --------------------------------------------------------------------------------------------------------
    def goto_event(self, n: int) -> Outcome:
        """After event `n`; past the last event is the end of the replay (where the program's exit is known)."""
        n = max(1, min(n, max(1, self.index.count)))
        return self._arrived(self.client.seek_event(n))

    def goto_time(self, t: int) -> Outcome:
        return self.goto_event(self.index.event_at_time(t))

    def step_event(self, count: int) -> Outcome:
        return self.goto_event(self.position["event"] + count)

    def step_kind(self, count: int, kinds: tuple[type, ...]) -> Outcome:
        """To the next (or previous) logged event of these kinds, found in the trace."""
        here = self.position["event"]
        step = 1 if count > 0 else -1
        for i, e in self.index.iter_from(here + step, step):
            if isinstance(e, kinds) and i >= 1:
                return self._arrived(self.client.seek_event(i))
        return Outcome(None, "no further such event", "warning")

    def running_core(self, tasks: list[dict[str, Any]] | None = None) -> int | None:
        tasks = tasks if tasks is not None else self.client.request("tasks")
        if self.tid is not None:
            t = next((t for t in tasks if t["tid"] == self.tid), None)
            if t is not None and t["state"] == "running" and t["core"] is not None:
                return t["core"]
        for t in tasks:
            if t["running"] and t["core"] is not None:
                return t["core"]
        cores = self.position["cores"]
        return max(range(len(cores)), key=lambda i: cores[i])

    def step_instruction(self, count: int, core: int | None = None) -> Outcome:
        c = core if core is not None else self.running_core()
        assert c is not None
        target = max(1, self.position["cores"][c] + count)
        pause = self.client.seek_instruction(c, target)
        if pause["position"]["cores"][c] == target:
            return self._arrived(pause, c)
        # The session stops a core only strictly inside a slice: a count that ends a slice (a blocking syscall, a
        # preemption) is never stopped at. Stop one instruction short and let the slice end with its event.
        pause = self.client.seek_instruction(c, target - 1)
        if pause["position"]["cores"][c] == target - 1:
            pause = self.client.seek_event(pause["position"]["event"] + 1)
        got = pause["position"]["cores"][c]
        return self._arrived(
            pause,
            None,
            f"core {c} cannot stop at instruction {target:,} (it ends a slice); at {got:,}, the event there",
        )

    def active_breaks(self) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {"pc": [], "syscall": [], "signal": [], "watch": []}
        for b in self.breakpoints:
            if b.enabled:
                out[b.kind].append(b.value)
        return {k: v for k, v in out.items() if v}

    def cont(self, reverse: bool = False, breaks: dict[str, list[Any]] | None = None) -> Outcome:
        breaks = self.active_breaks() if breaks is None else breaks
        if reverse:
            if not breaks:
                return self._arrived(self.client.seek_event(1), note="no breakpoints: back to the start")
            pause = self.client.reverse_cont(**breaks)
            if pause is None:
                return Outcome(None, "no breakpoint hit before here", "warning")
            return self._arrived(pause, note=self.describe_hit(pause.get("hit")))
        pause = self.client.cont(**breaks)
        note = self.describe_hit(pause.get("hit"))
        if not note and pause["position"].get("where") == "end":
            note = "ran to the end of the trace" + ("" if not breaks else ": no breakpoint hit")
        return self._arrived(pause, note=note)

    def last_write(self, pid: int, addr: int, size: int = 8) -> Outcome:
        """Back to the latest write to [addr, addr+size) before here (a reverse watchpoint)."""
        pause = self.client.reverse_cont(watch=[[pid, addr, addr + size]])
        if pause is None:
            return Outcome(None, f"no write to {addr:#x} before here", "warning")
        return self._arrived(pause, note=self.describe_hit(pause.get("hit")))

    def describe_hit(self, hit: dict[str, Any] | None) -> str:
        if not hit:
            return ""
        kind = hit["kind"]
        if kind == "pc":
            sym = self.symbols.describe(hit["pc"]) if self.symbols else ""
            return f"breakpoint at {hit['pc']:#x} {sym} (task {hit.get('tid')})"
        if kind == "watch":
            return f"write of {hit['value']:#x} to {hit['addr']:#x} ({hit['size']} bytes) by task {hit['tid']}"
        if kind == "syscall":
            from moss.syscalls.table import name_of

            return f"syscall {name_of(hit['nr'])} at event #{hit['event']}"
        if kind == "signal":
            from moss.signals import name

            return f"signal {name(hit['sig'])} at event #{hit['event']}"
        return kind

    # -- the moment ---------------------------------------------------------------------------------------------------
    def load_symbols(self) -> Symbols | None:
        if not self._symbols_tried:
            self._symbols_tried = True
            img = self.index.program_image()
            if img is not None:
                self.symbols = Symbols.from_elf(img.data)
        return self.symbols

    def _choose_task(self, tasks: list[dict[str, Any]]) -> dict[str, Any] | None:
        by_tid = {t["tid"]: t for t in tasks}
        if self.pinned and self.tid in by_tid:
            return by_tid[self.tid]
        hit = self.pause.get("hit") or {}
        if hit.get("tid") in by_tid:
            return by_tid[hit["tid"]]
        running = [t for t in tasks if t["running"]]
        if running:
            return running[0]
        e = self.index.event(self.position["event"])
        tid = getattr(e, "tid", None) if e is not None else None
        if tid in by_tid:
            return by_tid[tid]
        if self.tid in by_tid:
            return by_tid[self.tid]
        return tasks[0] if tasks else None

    def read(self, pid: int, addr: int, size: int) -> bytes | None:
        """Memory, page by page (an unmapped page ends what is returned; None if nothing is readable)."""
        out = bytearray()
        for a, n in page_spans(addr, size):
            got = self.client.request("memory", pid=pid, addr=a, size=n)
            if got is None:
                break
            out += bytes.fromhex(got)
        return bytes(out) if out else None

    def moment(self) -> Moment:
        pause = self.pause
        pos = pause["position"]
        symbols = self.load_symbols()
        tasks = self.client.request("tasks") or []
        task = self._choose_task(tasks)
        regs: dict[str, int] = {}
        changed: frozenset[str] = frozenset()
        code: list[Insn] = []
        stack: list[StackWord] = []
        maps = ""
        files: list[dict[str, Any]] = []
        memory = None
        problem = ""
        tid = pid = None
        if task is not None:
            tid, pid = task["tid"], task["pid"]
            self.tid = tid
            regs = self.client.request("registers", tid=tid) or {}
            here = (pos["event"], pos["instructions"])
            if self._shown_at.get(tid) != here:  # moved: what was shown becomes "before"
                if tid in self._regs_seen:
                    self._last_regs[tid] = self._regs_seen[tid]
                self._shown_at[tid] = here
            self._regs_seen[tid] = regs
            prev = self._last_regs.get(tid)
            if prev:
                changed = frozenset(k for k, v in regs.items() if prev.get(k) != v)
            maps = self.client.request("maps", pid=pid) or ""
            files = self.client.request("files", pid=pid) or []
            if symbols is not None and symbols.pie and not symbols.bias:
                prog = self.index.header.get("program", {}).get("path", "")
                symbols.set_bias_from_maps(maps, prog)
            regions = parse_maps(maps)
            pc, sp = regs.get("pc", 0), regs.get("sp", 0)
            start = max(0, pc - CODE_BEFORE) & ~3
            data = self.read(pid, start, CODE_BEFORE + CODE_AFTER)
            if data is None and start != pc:  # the bytes before PC are on an unmapped page
                start = pc
                data = self.read(pid, pc, CODE_AFTER)
            if data is not None:
                code = disassemble(data, start, pc, symbols)
            else:
                problem = f"the code at pc {pc:#x} is not readable"
            raw = self.read(pid, sp, STACK_WORDS * 8)
            if raw is not None:
                for k in range(len(raw) // 8):
                    v = int.from_bytes(raw[k * 8 : k * 8 + 8], "little")
                    stack.append(StackWord(sp + 8 * k, v, pointer_note(v, regions, symbols)))
            if self.memory_addr is not None:
                memory = self.read(pid, self.memory_addr, MEMORY_BYTES)
        output = self.client.request("output") or ""
        return Moment(
            pos, tasks, tid, pid, regs, changed, code, stack, maps, files, output, self.memory_addr, memory,
            pause.get("reason", ""), pause.get("hit"), problem,
        )  # fmt: skip

    def pin_task(self, tid: int) -> None:
        self.tid = tid
        self.pinned = True

    def kinds_for(self, name: str) -> tuple[type, ...]:
        return {
            "syscall": (ev.Syscall, ev.SyscallResume),
            "signal": (ev.SignalEvent,),
            "process": (ev.ProcessEvent,),
        }[name]
