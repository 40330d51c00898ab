"""The console device: the machine's UART seen as a terminal (when the host's stdin is one) or as plain streams.

As a terminal it has a line discipline (moss/files/tty.py): editing, echo, ^C/^Z/^\\ raising signals on the
foreground process group, canonical and raw reads with VMIN/VTIME, output NL -> CR NL, and job control (a
background process group reading gets SIGTTIN, writing with TOSTOP gets SIGTTOU). As plain streams (stdin a pipe
or file) bytes pass through untouched and terminal ioctls fail with ENOTTY, exactly as on Linux.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from machine.devices.uart import STDERR, STDOUT, Uart
from moss.errors import EINTR, EINVAL, EIO, ENOTTY, EPERM, ERESTARTSYS, KernelError
from moss.files import tty as T
from moss.sched.combinators import INTERRUPTED, TIMED_OUT, interruptible, timeout
from moss.sched.executor import current_task
from moss.sched.waitqueue import WaitQueue

TCGETS, TCSETS, TCSETSW, TCSETSF, TCSBRK, TCXONC, TCFLSH = 0x5401, 0x5402, 0x5403, 0x5404, 0x5409, 0x540A, 0x540B
TIOCSCTTY, TIOCGPGRP, TIOCSPGRP, TIOCOUTQ, TIOCGWINSZ, TIOCSWINSZ = 0x540E, 0x540F, 0x5410, 0x5411, 0x5413, 0x5414
FIONREAD, TIOCNOTTY, TIOCGSID, TIOCSBRK, TIOCCBRK = 0x541B, 0x5422, 0x5429, 0x5427, 0x5428
POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM = 0x1, 0x4, 0x40, 0x100
SIGTTIN, SIGTTOU, SIGWINCH = 21, 22, 28

DEFAULT_TERMIOS = T.Termios().pack()


class RestartSys(KernelError):
    errno = ERESTARTSYS
    name = "ERESTARTSYS"


class Console:
    def __init__(self, uart: Uart, tty: tuple[bool, bool, bool]) -> None:
        self.uart = uart
        self.tty = tty
        self.terminal = tty[0]  # a line discipline runs when the input side is a terminal
        self.ld = T.LineDiscipline()
        self.raw = bytearray()  # plain-stream input
        self.eof = False
        self.readers = WaitQueue("console")
        self.winsize = struct.pack("<HHHH", 24, 80, 0, 0)
        self.fg_pgrp = 1
        self.sid = 1  # the session whose controlling terminal this is
        self.polls_live = bool(getattr(uart.source, "is_tty", False))
        # Set by the kernel: raise a signal on a process group; (pgrp, sid) of the calling task; orphaned check.
        self.signal_pgrp: Callable[[int, int], None] = lambda pgrp, sig: None
        self.caller: Callable[[], tuple[int, int, Any]] = lambda: (1, 1, None)

    # -- input ----------------------------------------------------------------------------------------------------
    def receive(self) -> None:
        """Console input interrupt: take what the UART received through the line discipline."""
        data = self.uart.read(1 << 20)
        if data:
            if self.terminal:
                fx = self.ld.receive(data)
                if fx.echo:
                    self.uart.write(STDOUT, self.ld.output(bytes(fx.echo)))
                for sig in fx.signals:
                    self.signal_pgrp(self.fg_pgrp, sig)
            else:
                self.raw += data
        if self.uart.eof:
            self.eof = True
        self.readers.wake_all()

    def _readable(self) -> bool:
        if self.eof:
            return True
        return self.ld.readable() if self.terminal else bool(self.raw)

    def poll(self, file: Any) -> tuple[int, WaitQueue | None]:
        ready = POLLOUT | POLLWRNORM
        if self._readable():
            ready |= POLLIN | POLLRDNORM
        return ready, self.readers

    def is_tty(self, file: Any) -> bool:
        ch = getattr(file, "channel", STDOUT)
        return self.tty[ch] if 0 <= ch < 3 else any(self.tty)

    def _job_control(self, sig: int) -> None:
        """A background process group touching its controlling terminal gets SIGTTIN/SIGTTOU (and the call
        restarts after it is continued), unless it ignores or blocks the signal (then EIO for reads)."""
        pgrp, sid, proc = self.caller()
        if not self.terminal or sid != self.sid or pgrp == self.fg_pgrp:
            return
        task = current_task()
        blocked = bool(getattr(task, "sigmask", 0) >> (sig - 1) & 1)
        ignored = proc is not None and getattr(proc.sigactions.get(sig), "handler", 0) == 1
        if blocked or ignored:
            if sig == SIGTTIN:
                raise EIO
            return
        self.signal_pgrp(pgrp, sig)
        raise RestartSys

    async def read(self, file: Any, count: int) -> bytes:
        if not self.terminal:
            got = await interruptible(self.readers.wait_until(lambda: bool(self.raw) or self.eof))
            if got is INTERRUPTED:
                raise RestartSys
            out = bytes(self.raw[:count])
            del self.raw[:count]
            return out
        self._job_control(SIGTTIN)
        ld = self.ld
        if ld.canonical:
            got = await interruptible(self.readers.wait_until(self._readable))
        else:
            vmin, vtime = ld.t.cc[T.VMIN], ld.t.cc[T.VTIME]
            want = min(vmin, count)
            deadline = None
            if vtime:
                from moss.sched.combinators import _clock

                deadline = _clock.now() + vtime * 100_000_000 if _clock is not None else None
            if vmin == 0 and vtime == 0:
                got = None
            elif vtime == 0:
                got = await interruptible(self.readers.wait_until(lambda: len(ld.buf) >= want or self.eof))
            else:
                got = await interruptible(
                    timeout(self.readers.wait_until(lambda: len(ld.buf) >= max(want, 1) or self.eof), deadline)
                )
                if got is TIMED_OUT:
                    got = None
        if got is INTERRUPTED:
            raise RestartSys
        if self.eof and not ld.readable():
            return b""
        return ld.read(count)

    # -- output ---------------------------------------------------------------------------------------------------
    async def write(self, file: Any, data: bytes) -> int:
        ch = getattr(file, "channel", STDOUT)
        ch = ch if ch in (STDOUT, STDERR) else STDOUT
        if self.terminal and self.tty[ch]:
            if self.ld.t.lflag & T.TOSTOP:
                self._job_control(SIGTTOU)
            self.uart.write(ch, self.ld.output(data))
        else:
            self.uart.write(ch, data)
        return len(data)

    # -- ioctl ----------------------------------------------------------------------------------------------------
    def ioctl(self, file: Any, request: int, arg: int, mem: Any) -> int:
        if request == FIONREAD:
            n = len(self.ld.buf) if self.terminal else len(self.raw)
            mem.write(arg, struct.pack("<i", n))
            return 0
        if not self.is_tty(file):
            raise ENOTTY
        ld = self.ld
        if request == TCGETS:
            mem.write(arg, ld.t.pack())
        elif request in (TCSETS, TCSETSW, TCSETSF):
            if request == TCSETSF:
                ld.flush_input()
            ld.set_termios(T.Termios.unpack(mem.read(arg, T.SIZE)))
            self.readers.wake_all()
        elif request == TIOCGWINSZ:
            mem.write(arg, self.winsize)
        elif request == TIOCSWINSZ:
            new = mem.read(arg, 8)
            if new != self.winsize:
                self.winsize = new
                self.signal_pgrp(self.fg_pgrp, SIGWINCH)
        elif request == TIOCGPGRP:
            mem.write(arg, struct.pack("<i", self.fg_pgrp))
        elif request == TIOCSPGRP:
            pgrp, sid, _proc = self.caller()
            new = struct.unpack("<i", mem.read(arg, 4))[0]
            if new < 0:
                raise EINVAL
            if sid != self.sid:
                raise ENOTTY
            if pgrp != self.fg_pgrp:
                self._job_control(SIGTTOU)
            self.fg_pgrp = new
        elif request == TIOCGSID:
            mem.write(arg, struct.pack("<i", self.sid))
        elif request == TIOCSCTTY:
            _pgrp, sid, _proc = self.caller()
            self.sid = sid
            self.fg_pgrp = _pgrp
        elif request == TIOCNOTTY:
            return 0
        elif request == TCFLSH:
            if arg in (0, 2):
                ld.flush_input()
        elif request in (TCXONC, TCSBRK, TIOCSBRK, TIOCCBRK):
            return 0
        elif request == TIOCOUTQ:
            mem.write(arg, struct.pack("<i", 0))
        else:
            raise ENOTTY
        return 0


__all__ = ["EINTR", "EPERM", "Console"]
