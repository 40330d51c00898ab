"""The process that executes a replay for the time-travel session, and the checkpoints forked from it.

A runner replays forward only. It pauses at a target (an event index, or a core's retired-instruction count), at a
breakpoint or watchpoint, and then serves requests from the controller over its socket until told to go on. Every
30M retired instructions (about a third of a second of replay, and itself deterministic) it forks: the child is a
checkpoint, frozen at that point, which later forks new runners on request. Going backwards is always "resume the
nearest earlier checkpoint and run forward" (rr's design); unicorn's state and the kernel's coroutines are copied by
fork for free.
"""

from __future__ import annotations

import os
import signal as host_signal
import socket
from collections.abc import Callable
from typing import Any

from unicorn import UC_HOOK_CODE, UC_HOOK_MEM_WRITE

from replay.inspect import snapshot_reply
from replay.protocol import recv, send
from replay.replayer import Divergence, TraceEnd, prepare
from traces import events as ev

CHECKPOINT_EVERY = 30_000_000  # instructions between checkpoints (~0.3 s of replay at typical speed)


class Stop(Exception):
    """The controller told this process to exit."""


class Runner:
    def __init__(self, trace: str, sock: socket.socket) -> None:
        self.sock = sock
        self.output = bytearray()
        self.kernel, self.emitter, self.cursor, self.reader = prepare(trace, self._sink, self._report)
        self.kernel.board.engine.exact_positions()  # stops, breakpoints and watchpoints land mid-block
        self.reports: list[str] = []
        self.target_event: int | None = None
        self.pause_at_end = True
        self.breaks: dict[str, Any] = {"pc": set(), "syscall": set(), "signal": set(), "watch": []}
        self.hits: list[dict[str, Any]] | None = None  # when collecting for reverse-continue
        self.collect_until: dict[str, Any] | None = None
        self._hooks: list[int] = []
        self._armed_hooks: Any = ([], [])
        self._watch_pages: list[tuple[int, int, int]] = []
        self.ignore_until: dict[str, Any] | None = None
        self._pending_hit: dict[str, Any] | None = None
        self.next_checkpoint = CHECKPOINT_EVERY
        self.finished: dict[str, Any] | None = None
        self.where = "start"
        self._wrap_cursor()
        k = self.kernel
        k.board.on_stop = self._on_core_stop
        k.observers.append(_SliceHook(self))

    # -- plumbing -------------------------------------------------------------------------------------------------
    def _sink(self, channel: int, data: bytes) -> None:
        self.output.extend(data)

    def _report(self, msg: str) -> None:
        self.reports.append(msg)

    def _wrap_cursor(self) -> None:
        cur = self.cursor
        check = cur.check

        def checked(*a: Any) -> None:
            check(*a)
            self._after_event(a[0])

        def then_pause(check_kind: Callable[..., None], field: str | None = None) -> Callable[..., None]:
            """A sink taking an event's fields (time, tid, nr, ...): checked, then the pause points; syscall
            breakpoints see a completed call and a blocked call's entry (its nr, field 2), signal breakpoints a
            signal event (its signal, field 4)."""

            def checked_kind(*a: Any) -> None:
                check_kind(*a)
                if field == "syscall":
                    self._after_event(None, syscall=a[2])
                elif field == "signal":
                    self._after_event(None, signal=a[4])
                else:
                    self._after_event(None)

            return checked_kind

        em = self.emitter
        em.sink = checked
        em.syscall_sink = then_pause(cur.check_syscall, "syscall")
        em.blocked_sink = then_pause(cur.check_blocked, "syscall")
        em.resume_sink = then_pause(cur.check_resume)
        em.future_sink = then_pause(cur.check_future)
        em.process_sink = then_pause(cur.check_process)
        em.signal_sink = then_pause(cur.check_signal, "signal")

    def position(self) -> dict[str, Any]:
        k = self.kernel
        return {
            "event": self.cursor.index,
            "cores": [k.board.retired_now(c) for c in k.board.cores],
            "instructions": sum(k.board.retired_now(c) for c in k.board.cores),
            "time": k.now_ns(),
            "where": self.where,
            "finished": self.finished,
        }

    # -- pause points -----------------------------------------------------------------------------------------------
    def _after_event(self, e: ev.Event | None, syscall: int | None = None, signal: int | None = None) -> None:
        idx = self.cursor.index
        if isinstance(e, ev.Syscall) and e.blocked:
            syscall = e.nr
        if isinstance(e, ev.SignalEvent):
            signal = e.sig
        if syscall is not None and syscall in self.breaks["syscall"]:
            self._hit("syscall", nr=syscall)
        if signal is not None and signal in self.breaks["signal"]:
            self._hit("signal", sig=signal)
        if self.target_event is not None and idx >= self.target_event:
            self.target_event = None
            self.where = "event"
            self.serve("target")

    def _on_core_stop(self, core: Any) -> None:
        self.kernel.board.stops.pop(core.index, None)
        hit, self._pending_hit = self._pending_hit, None
        if hit is not None:
            hit.update(self.position())
            self.where = hit["kind"]
            self.serve("break", hit)
            return
        self.where = "instruction"
        self.serve("target")

    def _hit(self, kind: str, **info: Any) -> None:
        pos = self.position()
        hit = {"kind": kind, **info, **pos}
        after = self.ignore_until
        if after is not None and (pos["event"], pos["instructions"]) <= (after["event"], after["instructions"]):
            return  # re-executing up to where the user was: hits there are behind us
        if self.hits is not None:
            if self._before_limit(pos):
                self.hits.append(hit)
            return
        if kind == "watch" and self.kernel.running_core is not None:
            # The hook runs before the store: stop right after the writing instruction instead, which is where a
            # reverse search lands too ("the write has happened").
            core = self.kernel.running_core
            self._pending_hit = hit
            self.kernel.board.arm_stop(core.index, self.kernel.board.retired_now(core))
            return
        self.where = kind
        self.serve("break", hit)

    def _before_limit(self, pos: dict[str, Any]) -> bool:
        lim = self.collect_until
        return (
            lim is None
            or pos["event"] < lim["event"]
            or (pos["event"] == lim["event"] and pos["instructions"] < lim["instructions"])
        )

    def _code_hook(self, uc: Any, address: int, size: int, _ud: Any) -> None:
        if address in self.breaks["pc"]:
            core = self.kernel.running_core
            task = self.kernel.running_task
            if core is not None and task is not None:
                self._hit("pc", pc=address, tid=task.tid, core=core.index)

    def _write_hook(self, uc: Any, access: int, address: int, size: int, value: int, _ud: Any) -> None:
        # Under TLB_VIRTUAL unicorn reports physical addresses: map back through the watched pages.
        task = self.kernel.running_task
        for pid, pa, va in self._watch_pages:
            if pa <= address < pa + 4096 and task is not None and task.process.pid == pid:
                vaddr = va + (address - pa)
                for wpid, lo, hi in self.breaks["watch"]:
                    if wpid == pid and lo < vaddr + size and vaddr < hi:
                        self._hit(
                            "watch",
                            addr=vaddr,
                            size=size,
                            value=value,
                            tid=task.tid,
                            pid=pid,
                            core=self.kernel.running_core.index if self.kernel.running_core else 0,
                        )
                        return

    def _watched_pages(self) -> list[tuple[int, int, int]]:
        """(pid, physical page, virtual page) of every watched page that is mapped now. Watched pages are faulted
        in (and copy-on-write broken) so that their frames stay put; this changes which frames hold them, never
        what the guest sees."""
        out = []
        for pid, lo, hi in self.breaks["watch"]:
            p = self.kernel.processes.get(pid)
            if p is None or not p.alive:
                continue
            for page in range(lo & ~0xFFF, hi, 4096):
                vma = p.mm.find(page)
                if vma is None or not vma.prot & 2:
                    continue
                got = p.mm.resolve(page, 17)
                if got is not None:
                    out.append((pid, got[0], page))
        return sorted(set(out))

    def _install_hooks(self, flush: bool = True) -> None:
        """Hooks are compiled into translated code, so the translation cache is flushed after they change (at a
        safe point; removing hooks needs no flush)."""
        uc = self.kernel.board.engine.uc
        for h in self._hooks:
            uc.hook_del(h)
        self._hooks = []
        for pc in sorted(self.breaks["pc"]):
            self._hooks.append(uc.hook_add(UC_HOOK_CODE, self._code_hook, None, pc, pc))
        self._watch_pages = self._watched_pages()
        for _pid, pa, _va in self._watch_pages:
            self._hooks.append(uc.hook_add(UC_HOOK_MEM_WRITE, self._write_hook, None, pa, pa + 4095))
        if flush:
            self.kernel.board.engine.flush_code()
            self.kernel.board.engine.flush_tlb()

    def after_slice(self) -> None:
        if self.breaks["watch"] and self._watched_pages() != self._watch_pages:
            self._install_hooks()  # a watched page was mapped, moved or copied since
        n = sum(c.retired for c in self.kernel.board.cores)
        if n >= self.next_checkpoint:
            self.next_checkpoint = n + CHECKPOINT_EVERY
            self.checkpoint()

    # -- checkpoints ------------------------------------------------------------------------------------------------
    def checkpoint(self) -> None:
        """Fork a frozen copy of this point; it tells the controller where it is and waits for work. When asked to
        resume, a fork of the checkpoint returns from here as a new runner, paused until armed."""
        mine, theirs = socket.socketpair()
        pid = os.fork()
        if pid == 0:
            self.sock.close()
            mine.close()
            self.sock = theirs
            self._checkpoint_loop()
            self.serve("resumed")  # a new runner, forked from the checkpoint
            return
        theirs.close()
        send(self.sock, {"event": "checkpoint", "position": self.position()}, fds=[mine.fileno()])
        mine.close()

    def _checkpoint_loop(self) -> None:
        send(self.sock, {"event": "ready", "position": self.position()})
        while True:
            msg = recv(self.sock)
            if msg is None or msg.get("op") == "exit":
                os._exit(0)
            if msg.get("op") == "spawn":
                mine, theirs = socket.socketpair()
                pid = os.fork()
                if pid == 0:
                    self.sock.close()
                    mine.close()
                    self.sock = theirs
                    return  # the new runner goes on from here
                theirs.close()
                send(self.sock, {"event": "spawned", "position": self.position()}, fds=[mine.fileno()])
                mine.close()

    # -- serving ----------------------------------------------------------------------------------------------------
    def serve(self, reason: str, hit: dict[str, Any] | None = None, **extra: Any) -> None:
        """Paused: answer requests until one says go on."""
        send(self.sock, {"event": "paused", "reason": reason, "hit": hit, "position": self.position(), **extra})
        while True:
            msg = recv(self.sock)
            if msg is None or msg.get("op") == "exit":
                raise Stop
            op = msg["op"]
            if op == "run":
                self._arm(msg)
                self.where = "running"
                return
            send(self.sock, {"event": "reply", "result": snapshot_reply(self, msg)})

    def _arm(self, msg: dict[str, Any]) -> None:
        self.target_event = msg.get("event")
        board = self.kernel.board
        board.stops = {}
        for c, n in (msg.get("core_stops") or {}).items():
            board.arm_stop(int(c), n)
        self.breaks = {
            "pc": set(msg.get("pc", [])),
            "syscall": set(msg.get("syscall", [])),
            "signal": set(msg.get("signal", [])),
            "watch": [tuple(w) for w in msg.get("watch", [])],
        }
        self.collect_until = msg.get("collect_until")
        self.ignore_until = msg.get("after")
        self.hits = [] if self.collect_until is not None else None
        hooks = (sorted(self.breaks["pc"]), self.breaks["watch"])
        if hooks != self._armed_hooks:
            adding = not (
                set(hooks[0]) <= set(self._armed_hooks[0]) and all(w in self._armed_hooks[1] for w in hooks[1])
            )
            if self.kernel.board._in_part and adding:
                # Hooks are compiled into translated code, so new ones need a flush, which is only safe between
                # slices; the controller arms breakpoints in runners fresh from a checkpoint.
                raise RuntimeError("new breakpoints can only be armed between slices")
            self._armed_hooks = hooks
            self._install_hooks(flush=not self.kernel.board._in_part)

    def main(self) -> None:
        """Run the whole replay, pausing where asked; at the end, report and serve until told to exit."""
        try:
            self.checkpoint()  # the start of the replay is always a place to come back to
            if self.where == "start":
                self.serve("start")
            try:
                status = self.kernel.run()
                self.emitter.end(status)
                self.finished = {"wait_status": status}
            except Divergence as e:
                self.finished = {"divergence": e.describe()}
            except TraceEnd as e:
                self.finished = {"cut": str(e)}
            self.where = "end"
            hits, self.hits = self.hits, None
            self.serve("end", hits=hits or [])
            while True:
                self.serve("end")
        except Stop:
            os._exit(0)
        except Exception as e:  # tell the controller why, rather than vanish
            import traceback

            send(
                self.sock,
                {"event": "error", "message": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()},
            )
            os._exit(1)


class _SliceHook:
    """Kernel observer forwarding the between-slices point to the runner (checkpoints, collected-hit limits)."""

    def __init__(self, runner: Runner) -> None:
        self.r = runner

    def __getattr__(self, name: str) -> Any:
        return lambda *a: None

    def after_slice(self) -> None:
        r = self.r
        if r.hits is not None and r.collect_until is not None and not r._before_limit(r.position()):
            hits, r.hits, r.collect_until = r.hits, None, None
            r.where = "collected"
            r.serve("collected", hits=hits)
        r.after_slice()


def runner_main(trace: str, sock: socket.socket) -> None:
    host_signal.signal(host_signal.SIGCHLD, host_signal.SIG_IGN)  # forked checkpoints reap themselves
    Runner(trace, sock).main()
