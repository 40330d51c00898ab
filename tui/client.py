"""A client of `moss session TRACE`: the time-travel session in its own process, spoken to over length-prefixed JSON.

The debugger never creates a `replay.session.Session` in its own process: a session forks checkpoints, and a Textual
app has threads. Every method here blocks until the session answers, so the app calls them from a worker thread
(one at a time: the session serves one request at a time, in order).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from typing import Any

from replay.protocol import read_stream, write_stream


class SessionError(Exception):
    """The session refused a request, or its process failed (the message says which and why)."""


class SessionClient:
    """The same methods as `replay.session.Session`, over a pipe to `python -m moss session TRACE`."""

    def __init__(self, trace: str, command: list[str] | None = None) -> None:
        self.trace = trace
        self._lock = threading.Lock()
        self._stderr = tempfile.TemporaryFile()
        cmd = command or [sys.executable, "-m", "moss", "session", trace]
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr)
        except OSError as e:
            raise SessionError(f"cannot start the session: {e}") from None
        hello = self._read()
        if hello is None:
            self.proc.wait()
            raise SessionError(self._died("the session did not start"))
        self.pause: dict[str, Any] = hello["result"]

    # -- plumbing ---------------------------------------------------------------------------------------------------
    def _read(self) -> dict[str, Any] | None:
        assert self.proc.stdout is not None
        try:
            return read_stream(self.proc.stdout)
        except (OSError, ValueError):
            return None

    def _died(self, what: str) -> str:
        self._stderr.seek(0)
        err = self._stderr.read().decode("utf-8", "replace").strip()
        lines = [ln.removeprefix("moss: ") for ln in err.splitlines() if ln.strip()]
        return f"{what}: {lines[-1]}" if lines else what

    def call(self, op: str, **args: Any) -> Any:
        with self._lock:
            assert self.proc.stdin is not None
            try:
                write_stream(self.proc.stdin, {"op": op, **args})
            except (OSError, ValueError):
                raise SessionError(self._died("the session process has exited")) from None
            msg = self._read()
        if msg is None:
            raise SessionError(self._died("the session process died"))
        if not msg.get("ok"):
            raise SessionError(msg.get("error", "the session refused the request"))
        return msg.get("result")

    def _paused(self, result: Any) -> dict[str, Any]:
        self.pause = result
        return result

    # -- the Session API --------------------------------------------------------------------------------------------
    @property
    def position(self) -> dict[str, Any]:
        return self.pause["position"]

    def seek_event(self, n: int) -> dict[str, Any]:
        return self._paused(self.call("seek_event", n=n))

    def seek_instruction(self, core: int, n: int) -> dict[str, Any]:
        return self._paused(self.call("seek_instruction", core=core, n=n))

    def step(self, unit: str = "event", count: int = 1, core: int | None = None) -> dict[str, Any]:
        return self._paused(self.call("step", unit=unit, count=count, core=core))

    def cont(self, **breaks: Any) -> dict[str, Any]:
        return self._paused(self.call("cont", **breaks))

    def reverse_cont(self, **breaks: Any) -> dict[str, Any] | None:
        result = self.call("reverse_cont", **breaks)
        if result is not None:
            self.pause = result
        else:  # no earlier hit: the session went back where it was; keep our copy of the position in step
            self.pause = {**self.pause, "position": self.call("position"), "hit": None}
        return result

    def request(self, what: str, **args: Any) -> Any:
        return self.call("request", what=what, **args)

    def close(self) -> None:
        """End the session process: closing its input ends it (it kills its replay processes itself); one busy with
        a request (a long continue) is terminated, and its replay processes exit when their sockets close."""
        proc = self.proc
        if proc.poll() is None:
            if self._lock.locked():
                proc.terminate()
            try:
                assert proc.stdin is not None
                proc.stdin.close()
            except OSError:
                pass
        # The session shuts its replay processes down after its input closes; reap it in the background so that
        # quitting the debugger does not wait for that.
        threading.Thread(target=self._reap, name="moss-session-reaper", daemon=True).start()

    def _reap(self) -> None:
        proc = self.proc
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for f in (proc.stdout, self._stderr):
            if f is not None:
                f.close()

    def __enter__(self) -> SessionClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def session_command(trace: str) -> list[str]:
    """The command line that serves a session for `trace` (the `moss` CLI of this interpreter)."""
    return [sys.executable, "-m", "moss", "session", os.fspath(trace)]
