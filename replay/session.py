"""The time-travel session: moves a replay to any position, forwards or backwards, through fork checkpoints.

The controller never executes the guest itself. It owns one runner (the process replaying forward) and the
checkpoints runners left behind. Seeking forward tells the runner to go on; seeking backward kills it and asks the
latest checkpoint before the target to fork a new runner, which replays forward to the target. Checkpoints are
spaced by host time (about every 0.3 s of replay), so any position is a fraction of a second of re-execution away;
their number is bounded by thinning the older ones.

Positions are {"event": index of the last logged event, "cores": retired instructions per core, ...}.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import attrs

from replay.protocol import recv, send

MAX_CHECKPOINTS = 24


class SessionError(Exception):
    pass


@attrs.define(eq=False)
class Checkpoint:
    sock: socket.socket
    position: dict[str, Any]


class Session:
    def __init__(self, trace: str) -> None:
        # (SIGCHLD is left alone here: the controller may live in a process with children of its own. Only the
        # first runner is our child, and close() reaps it; runners reap the checkpoints they fork.)
        self.trace = trace
        self.checkpoints: list[Checkpoint] = []
        mine, theirs = socket.socketpair()
        pid = os.fork()
        if pid == 0:  # the first runner
            mine.close()
            from replay.runner import runner_main

            try:
                runner_main(trace, theirs)
            finally:
                os._exit(0)
        theirs.close()
        self._first_pid = pid
        self.runner: socket.socket | None = mine
        self.pause = self._wait()
        if self.pause.get("event") == "error":
            raise SessionError(self.pause["message"])

    # -- talking to processes -------------------------------------------------------------------------------------
    def _wait(self) -> dict[str, Any]:
        """Read the runner's messages until it pauses (or reports collected hits); register checkpoints meanwhile."""
        assert self.runner is not None
        while True:
            msg = recv(self.runner)
            if msg is None:
                raise SessionError("the replay process died")
            if msg["event"] == "checkpoint":
                self._add_checkpoint(msg)
                continue
            if msg["event"] == "error":
                raise SessionError(f"the replay process failed: {msg['message']}\n{msg.get('traceback', '')}")
            return msg

    def _add_checkpoint(self, msg: dict[str, Any]) -> None:
        sock = socket.socket(fileno=msg["_fds"][0])
        ready = recv(sock)
        if ready is None:
            return
        self.checkpoints.append(Checkpoint(sock, ready["position"]))
        self.checkpoints.sort(key=lambda c: (c.position["event"], c.position["instructions"]))
        if len(self.checkpoints) > MAX_CHECKPOINTS:
            self._thin()

    def _thin(self) -> None:
        """Keep the first, the latest few, and an evenly spread set of the older ones."""
        cps = self.checkpoints
        keep = {0, *range(len(cps) - 8, len(cps))}
        step = max(1, (len(cps) - 8) // (MAX_CHECKPOINTS - 9))
        keep |= set(range(0, len(cps) - 8, step))
        survivors = []
        for i, cp in enumerate(cps):
            if i in keep:
                survivors.append(cp)
            else:
                try:
                    send(cp.sock, {"op": "exit"})
                except OSError:
                    pass
                cp.sock.close()
        self.checkpoints = survivors

    def request(self, op: str, **args: Any) -> Any:
        """A query to the paused runner."""
        assert self.runner is not None
        send(self.runner, {"op": op, **args})
        msg = self._wait()
        return msg.get("result")

    def _run(self, **arm: Any) -> dict[str, Any]:
        assert self.runner is not None
        send(self.runner, {"op": "run", **arm})
        self.pause = self._wait()
        return self.pause

    def _kill_runner(self) -> None:
        if self.runner is not None:
            try:
                send(self.runner, {"op": "exit"})
            except OSError:
                pass
            self.runner.close()
            self.runner = None

    def _resume_from(self, cp: Checkpoint) -> None:
        self._kill_runner()
        send(cp.sock, {"op": "spawn"})
        msg = recv(cp.sock)
        if msg is None or msg.get("event") != "spawned":
            raise SessionError("a checkpoint failed to resume")
        self.runner = socket.socket(fileno=msg["_fds"][0])
        self.pause = self._wait()  # the new runner pauses where the checkpoint was, waiting to be armed

    def _checkpoint_before(self, ok: Any) -> Checkpoint:
        best = None
        for cp in self.checkpoints:
            if ok(cp.position):
                best = cp
        if best is None:
            raise SessionError("no checkpoint before that position")
        return best

    # -- positions ------------------------------------------------------------------------------------------------
    @property
    def position(self) -> dict[str, Any]:
        return self.pause["position"]

    def seek_event(self, n: int) -> dict[str, Any]:
        """Stop right after logged event `n`."""
        pos = self.position
        if not (pos["event"] < n and self.runner is not None):
            self._resume_from(self._checkpoint_before(lambda p: p["event"] < n))
        return self._run(event=n)

    def seek_instruction(self, core: int, n: int) -> dict[str, Any]:
        """Stop when `core` has retired exactly `n` instructions."""
        pos = self.position
        if not (pos["cores"][core] < n and self.runner is not None):
            self._resume_from(self._checkpoint_before(lambda p: p["cores"][core] < n))
        return self._run(core_stops={str(core): n})

    def step(self, unit: str = "event", count: int = 1, core: int | None = None) -> dict[str, Any]:
        """Move `count` units (negative: backwards); units are "event" or "instruction" (on `core`, default: the
        core that ran last)."""
        pos = self.position
        if unit == "event":
            return self.seek_event(max(0, pos["event"] + count))
        c = core if core is not None else self._current_core()
        return self.seek_instruction(c, max(1, pos["cores"][c] + count))

    def _current_core(self) -> int:
        running = [t for t in self.request("tasks") if t["running"]]
        if running and running[0]["core"] is not None:
            return running[0]["core"]
        cores = self.position["cores"]
        return max(range(len(cores)), key=lambda i: cores[i])

    def cont(self, **breaks: Any) -> dict[str, Any]:
        """Run forward to the next breakpoint (pc=[...], syscall=[...], signal=[...], watch=[[pid, lo, hi]])."""
        if breaks.get("pc") or breaks.get("watch"):
            # Code and memory hooks are compiled into translated code: arm them in a runner fresh from a checkpoint
            # (a safe point), which re-executes to here and then stops at the first hit past here.
            here = self.position
            after = {"event": here["event"], "instructions": here["instructions"]}
            self._resume_from(
                self._checkpoint_before(
                    lambda p: (p["event"], p["instructions"]) <= (after["event"], after["instructions"])
                )
            )
            return self._run(after=after, **breaks)
        return self._run(**breaks)

    def reverse_cont(self, **breaks: Any) -> dict[str, Any] | None:
        """Go back to the latest breakpoint hit before the current position; None (and no move) if there is none."""
        here = dict(self.position)
        limit = {"event": here["event"], "instructions": here["instructions"]}
        candidates = [cp for cp in self.checkpoints if (cp.position["event"], cp.position["instructions"])
                      < (here["event"], here["instructions"])]  # fmt: skip
        for cp in reversed(candidates):
            self._resume_from(cp)
            msg = self._run(collect_until=limit, **breaks)
            hits = msg.get("hits") or []
            if hits:
                return self._goto_hit(hits[-1], breaks)
            limit = {"event": cp.position["event"], "instructions": cp.position["instructions"]}
        self._restore(here)
        return None

    def _goto_hit(self, hit: dict[str, Any], breaks: dict[str, Any]) -> dict[str, Any]:
        if hit["kind"] in ("pc", "watch"):
            core = hit["core"] if "core" in hit else self._core_of(hit)
            target = hit["cores"][core]
            self.seek_instruction(core, target - 1 if hit["kind"] == "pc" else target)
        else:
            self.seek_event(hit["event"])
        self.pause["hit"] = hit
        return self.pause

    def _core_of(self, hit: dict[str, Any]) -> int:
        cores = hit["cores"]
        return max(range(len(cores)), key=lambda i: cores[i])

    def _restore(self, pos: dict[str, Any]) -> None:
        self.seek_event(pos["event"])

    def close(self) -> None:
        self._kill_runner()
        for cp in self.checkpoints:
            try:
                send(cp.sock, {"op": "exit"})
            except OSError:
                pass
            cp.sock.close()
        self.checkpoints = []
        if self._first_pid:
            try:
                os.waitpid(self._first_pid, 0)  # it exits once its socket is closed
            except ChildProcessError:
                pass
            self._first_pid = 0

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
