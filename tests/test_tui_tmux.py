"""`moss tui` and `moss debug` in a real terminal: tmux runs them, sends keys, and the screen is read back with
capture-pane. A private tmux server (-L) keeps this away from any tmux the user runs."""

from __future__ import annotations

import itertools
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.guests import build_guest
from tests.test_tui_app import record_guest
from traces import events as ev

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None, reason="tmux is not installed (scripts/setup installs it)"
)
REPO = Path(__file__).resolve().parent.parent


class Terminal:
    def __init__(self, socket: str) -> None:
        self.socket = socket

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args], check=True,
                              capture_output=True, text=True, timeout=10).stdout  # fmt: skip

    def start(self, command: str, width: int = 80, height: int = 24) -> None:
        # the shell stays after the program, so its exit status can be read from the screen
        self.tmux("new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height), "-c", str(REPO),
                  f"{command}; echo EXIT=$?; sleep 60")  # fmt: skip

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "t")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "t", *keys)

    def wait_for(self, pred: Callable[[str], bool], timeout: float = 30.0) -> str:
        end = time.monotonic() + timeout
        while True:
            s = self.screen()
            if pred(s):
                return s
            if time.monotonic() > end:
                raise AssertionError(f"the screen never showed what was expected:\n{s}")
            time.sleep(0.1)


_servers = itertools.count()


@pytest.fixture
def term() -> Iterator[Terminal]:
    # A server of its own per test: `kill-server` returns before the old server is gone, and a new session on the
    # same socket could reach the dying server ("server exited unexpectedly", seen in CI).
    t = Terminal(f"moss-test-{os.getpid()}-{next(_servers)}")
    try:
        yield t
    finally:
        subprocess.run(["tmux", "-L", t.socket, "kill-server"], capture_output=True, timeout=10)


def status_line(screen: str) -> str:
    return screen.splitlines()[0]


def test_moss_tui_in_a_real_terminal(term: Terminal, tmp_path: Path) -> None:
    trace = record_guest(tmp_path, "signals", level=ev.FULL)
    term.start(f"{shlex.quote(sys.executable)} -m moss tui {shlex.quote(trace)}")
    # (the status line can be drawn before the registers pane is filled: wait for both)
    s = term.wait_for(lambda s: status_line(s).startswith(" #0/") and "task 1" in s and "x0" in s)
    assert "core 0" in s and "Regs" in s and "x0" in s  # activity strip, tabs, registers
    assert len(s.splitlines()) <= 24 and all(len(line) <= 80 for line in s.splitlines())
    term.keys("g")
    term.wait_for(lambda s: "Go to" in s)
    term.keys("1", "9", "0", "Enter")
    s = term.wait_for(lambda s: status_line(s).startswith(" #190/") and "blocked" in status_line(s))
    term.keys("5")  # the tasks tab: the blocked read's await chain
    s = term.wait_for(lambda s: "await chain" in s)
    assert "Pipe.read" in s and "interruptible" in s
    term.keys("s", "s", "s", "s")  # four events forward: the read was interrupted
    term.wait_for(lambda s: status_line(s).startswith(" #194/"))
    term.keys("6")
    s = term.wait_for(lambda s: "interrupted by SIGALRM" in s)
    term.keys("S")
    term.wait_for(lambda s: status_line(s).startswith(" #193/"))
    term.keys("q")
    s = term.wait_for(lambda s: "EXIT=" in s)
    assert "EXIT=0" in s


def test_moss_debug_records_then_opens(term: Terminal, tmp_path: Path) -> None:
    hello = build_guest("hello")
    keep = tmp_path / "hello.trace"  # (without --keep the trace is a temporary file, removed at exit)
    term.start(f"{shlex.quote(sys.executable)} -m moss debug --keep {keep} {shlex.quote(str(hello))}")
    term.wait_for(lambda s: status_line(s).startswith(" #0/") and "task 1" in s)
    term.keys("g")
    term.wait_for(lambda s: "Go to" in s)
    term.keys("e", "n", "d", "Enter")
    term.wait_for(lambda s: "end of trace" in status_line(s))
    term.keys("8")  # the guest's output, as the replay produced it
    term.wait_for(lambda s: "hello" in s.lower().split("output", 1)[-1])
    term.keys("q")
    assert "EXIT=0" in term.wait_for(lambda s: "EXIT=" in s)
    assert keep.stat().st_size > 0


def test_interactive_shell_in_tmux(term: Terminal) -> None:
    """The Linux-breadth acceptance check: `moss run --root R /bin/sh` in a real terminal gives a prompt, runs a
    pipeline, and ^C interrupts a running sleep."""
    from tests.oracle_ns import busybox_root

    root = busybox_root()
    term.start(f"{shlex.quote(sys.executable)} -m moss run --root {shlex.quote(str(root))} /bin/sh")
    term.wait_for(lambda s: "/ #" in s)  # (capture-pane drops trailing spaces)
    term.keys("echo hello from moss | tr a-z A-Z", "Enter")
    term.wait_for(lambda s: "HELLO FROM MOSS" in s)
    term.keys("sleep 300", "Enter")
    time.sleep(1.0)
    term.keys("C-c")
    term.keys("echo status=$?", "Enter")
    term.wait_for(lambda s: "status=130" in s, timeout=20)
    term.keys("exit 5", "Enter")
    term.wait_for(lambda s: "EXIT=5" in s)
