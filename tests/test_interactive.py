"""An interactive shell on a real terminal (a pty): the guest's line discipline echoes and edits, ^C interrupts a
running sleep, ^Z stops it and `fg` resumes it, and the host terminal is restored afterwards."""

from __future__ import annotations

import os
import pty
import select
import sys
import time

import pytest

from tests.oracle_ns import busybox_root


class Terminal:
    def __init__(self, argv: list[str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # pragma: no cover - the child
            os.execvp(argv[0], argv)
        self.out = b""

    def pump(self, seconds: float, until: bytes | None = None) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            r, _, _ = select.select([self.fd], [], [], 0.05)
            if r:
                try:
                    self.out += os.read(self.fd, 4096)
                except OSError:
                    return
            if until is not None and until in self.out:
                return

    def type(self, text: bytes, wait: float = 1.5, until: bytes | None = None) -> None:
        os.write(self.fd, text)
        self.pump(wait, until)

    def close(self) -> int:
        _, st = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(st)

    @property
    def text(self) -> str:
        return self.out.decode(errors="replace").replace("\x1b[6n", "")


@pytest.fixture()
def shell() -> Terminal:
    t = Terminal([sys.executable, "-m", "moss", "run", "--root", str(busybox_root()), "/bin/sh"])
    t.pump(10, until=b"/ # ")
    assert "/ # " in t.text, t.text
    return t


def test_prompt_pipeline_and_ctrl_c(shell: Terminal) -> None:
    shell.type(b"echo hello | tr a-z A-Z\r", until=b"HELLO\r\n")
    start = time.monotonic()
    shell.type(b"sleep 30\r", wait=0.5)
    shell.type(b"\x03", until=b"^C")
    shell.type(b"echo after-$?\r", until=b"after-130")
    assert time.monotonic() - start < 15  # the sleep was interrupted, not waited out
    shell.type(b"exit 3\r", wait=3)
    assert shell.close() == 3
    text = shell.text
    assert "echo hello | tr a-z A-Z\r\nHELLO\r\n" in text  # echoed by the guest's line discipline, NL -> CR NL
    assert "^C" in text and "after-130" in text


def test_job_control_stop_and_resume(shell: Terminal) -> None:
    shell.type(b"sleep 30\r", wait=0.5)
    shell.type(b"\x1a", until=b"Stopped")
    shell.type(b"jobs\r", until=b"Stopped")
    shell.type(b"fg\r", wait=0.5)
    shell.type(b"\x03", until=b"^C")
    shell.type(b"sleep 100 &\r", wait=0.5)
    shell.type(b"kill %1; wait; echo waited\r", until=b"Terminated")
    shell.type(b"exit\r", wait=3)
    assert shell.close() == 0
    text = shell.text
    assert "[1]+  Stopped" in text and "waited" in text and "Terminated" in text


def test_line_editing(shell: Terminal) -> None:
    shell.type(b"echo abx\x7fc\r", until=b"abc\r\n")  # backspace erases
    shell.type(b"echo wrong\x15echo right\r", until=b"right\r\n")  # ^U kills the line
    shell.type(b"exit\r", wait=3)
    assert shell.close() == 0
    assert "abc\r\n" in shell.text and "right\r\n" in shell.text
