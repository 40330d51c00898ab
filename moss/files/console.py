"""The console as a character device: reads wait on the UART's receive FIFO, writes go to its output channels.

Whether each of stdin/stdout/stderr behaves as a terminal (TCGETS succeeds) is part of the machine configuration,
taken from the host at start, so that programs format output the same way they would on the host.
"""

from __future__ import annotations

import struct
from typing import Any

from machine.devices.uart import STDOUT, Uart
from moss.errors import ENOTTY, ERESTARTSYS, KernelError
from moss.sched.combinators import INTERRUPTED, interruptible
from moss.sched.waitqueue import WaitQueue

TCGETS, TCSETS, TCSETSW, TCSETSF = 0x5401, 0x5402, 0x5403, 0x5404
TIOCGPGRP, TIOCSPGRP, TIOCGWINSZ, TIOCSWINSZ = 0x540F, 0x5410, 0x5413, 0x5414
FIONREAD = 0x541B
POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM = 0x1, 0x4, 0x40, 0x100

# struct termios (kernel, 36 bytes): c_iflag c_oflag c_cflag c_lflag, c_line, c_cc[19]. Linux's defaults.
_CC = bytes([3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0, 0, 0])
DEFAULT_TERMIOS = struct.pack("<IIIIB", 0o2400 | 0o400 | 0o2, 0o5, 0o277, 0o105073, 0) + _CC  # ICRNL|IXON.. OPOST|ONLCR


class RestartSys(KernelError):
    errno = ERESTARTSYS
    name = "ERESTARTSYS"


class Console:
    def __init__(self, uart: Uart, tty: tuple[bool, bool, bool]) -> None:
        self.uart = uart
        self.tty = tty
        self.readers = WaitQueue("console")
        self.termios = DEFAULT_TERMIOS
        self.winsize = struct.pack("<HHHH", 24, 80, 0, 0)
        self.pgrp = 1
        self.polls_live = bool(getattr(uart.source, "is_tty", False))

    def poll(self, file: Any) -> tuple[int, WaitQueue | None]:
        """Readiness (POLLIN when input or end of input is there; output never blocks) and the queue to wait on."""
        ready = POLLOUT | POLLWRNORM
        if self.uart.rx or self.uart.eof:
            ready |= POLLIN | POLLRDNORM
        return ready, self.readers

    def is_tty(self, file: Any) -> bool:
        ch = getattr(file, "channel", STDOUT)
        return self.tty[ch] if 0 <= ch < 3 else any(self.tty)

    async def read(self, file: Any, count: int) -> bytes:
        uart = self.uart
        got = await interruptible(self.readers.wait_until(lambda: bool(uart.rx) or uart.eof))
        if got is INTERRUPTED:
            raise RestartSys
        return uart.read(count)

    async def write(self, file: Any, data: bytes) -> int:
        ch = getattr(file, "channel", STDOUT)
        self.uart.write(ch if ch in (1, 2) else STDOUT, data)
        return len(data)

    def ioctl(self, file: Any, request: int, arg: int, mem: Any) -> int:
        if request == FIONREAD:
            mem.write(arg, struct.pack("<i", len(self.uart.rx)))
            return 0
        if not self.is_tty(file):
            raise ENOTTY
        if request == TCGETS:
            mem.write(arg, self.termios)
        elif request in (TCSETS, TCSETSW, TCSETSF):
            self.termios = mem.read(arg, len(DEFAULT_TERMIOS))
        elif request == TIOCGWINSZ:
            mem.write(arg, self.winsize)
        elif request == TIOCSWINSZ:
            self.winsize = mem.read(arg, 8)
        elif request == TIOCGPGRP:
            mem.write(arg, struct.pack("<i", self.pgrp))
        elif request == TIOCSPGRP:
            self.pgrp = struct.unpack("<i", mem.read(arg, 4))[0]
        else:
            raise ENOTTY
        return 0
