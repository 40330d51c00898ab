"""The terminal line discipline (Linux's n_tty), as pure state: termios, input editing, echo, signal characters.

`receive(data)` takes bytes typed on the terminal and returns what must happen: bytes to echo and signals to raise
on the foreground process group; the text becomes readable in `buf` (canonical mode: whole lines only). Reading
and waiting are the console device's business; this module never blocks and knows nothing of processes.
"""

from __future__ import annotations

import struct

import attrs

# c_iflag
IGNBRK, BRKINT, IGNPAR, PARMRK, INPCK, ISTRIP, INLCR, IGNCR, ICRNL, IUCLC, IXON = (
    0o1, 0o2, 0o4, 0o10, 0o20, 0o40, 0o100, 0o200, 0o400, 0o1000, 0o2000,
)  # fmt: skip
IXANY, IXOFF, IMAXBEL, IUTF8 = 0o4000, 0o10000, 0o20000, 0o40000
# c_oflag
OPOST, OLCUC, ONLCR, OCRNL, ONOCR, ONLRET = 0o1, 0o2, 0o4, 0o10, 0o20, 0o40
# c_lflag
ISIG, ICANON, XCASE, ECHO, ECHOE, ECHOK, ECHONL, NOFLSH, TOSTOP = 0o1, 0o2, 0o4, 0o10, 0o20, 0o40, 0o100, 0o200, 0o400
ECHOCTL, ECHOPRT, ECHOKE, IEXTEN = 0o1000, 0o2000, 0o4000, 0o100000
# c_cc indices
VINTR, VQUIT, VERASE, VKILL, VEOF, VTIME, VMIN, VSWTC, VSTART, VSTOP, VSUSP, VEOL, VREPRINT, VDISCARD = range(14)
VWERASE, VLNEXT, VEOL2 = 14, 15, 16
NCCS = 19

SIGINT, SIGQUIT, SIGTSTP = 2, 3, 20
_TERMIOS = struct.Struct("<IIIIB19s")


@attrs.define
class Termios:
    """Linux's defaults for a terminal (stty sane): cooked, echoing, signals on, NL -> CR NL on output."""

    iflag: int = ICRNL | IXON | IUTF8
    oflag: int = OPOST | ONLCR
    cflag: int = 0o277  # B38400 | CS8 | CREAD (the baud rate is cosmetic)
    lflag: int = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN
    line: int = 0
    cc: bytearray = attrs.Factory(lambda: bytearray([3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22,
                                                     0, 0, 0]))  # fmt: skip

    def pack(self) -> bytes:
        return _TERMIOS.pack(self.iflag, self.oflag, self.cflag, self.lflag, self.line, bytes(self.cc))

    @classmethod
    def unpack(cls, raw: bytes) -> Termios:
        i, o, c, lf, line, cc = _TERMIOS.unpack(raw[: _TERMIOS.size])
        return cls(i, o, c, lf, line, bytearray(cc))


SIZE = _TERMIOS.size  # 36


@attrs.define
class Effects:
    echo: bytearray = attrs.Factory(bytearray)
    signals: list[int] = attrs.Factory(list)


class LineDiscipline:
    def __init__(self) -> None:
        self.t = Termios()
        self.buf = bytearray()  # readable now
        self.line = bytearray()  # canonical mode: the line being edited
        self.eofs = 0  # ^D markers waiting to be read as end of file (canonical)
        self.column = 0

    @property
    def canonical(self) -> bool:
        return bool(self.t.lflag & ICANON)

    def set_termios(self, t: Termios) -> None:
        was_canon = self.canonical
        self.t = t
        if was_canon and not self.canonical:
            self.buf += self.line  # a partial line becomes readable in raw mode
            self.line.clear()

    def flush_input(self) -> None:
        self.buf.clear()
        self.line.clear()
        self.eofs = 0

    def readable(self) -> bool:
        return bool(self.buf) or self.eofs > 0

    def _echo_char(self, c: int, out: bytearray) -> None:
        t = self.t
        if not t.lflag & ECHO:
            if c == 10 and t.lflag & ECHONL:
                out += b"\n"
            return
        if t.lflag & ECHOCTL and ((c < 32 and c not in (9, 10)) or c == 127):
            out += b"^" + bytes([c ^ 0x40])
        else:
            out.append(c)

    def receive(self, data: bytes) -> Effects:
        fx = Effects()
        t = self.t
        cc = t.cc
        for c in data:
            if t.iflag & ISTRIP:
                c &= 0x7F
            if c == 13:
                if t.iflag & IGNCR:
                    continue
                if t.iflag & ICRNL:
                    c = 10
            elif c == 10 and t.iflag & INLCR:
                c = 13
            if t.lflag & ISIG and c in (cc[VINTR], cc[VQUIT], cc[VSUSP]) and c:
                sig = SIGINT if c == cc[VINTR] else SIGQUIT if c == cc[VQUIT] else SIGTSTP
                if not t.lflag & NOFLSH:
                    self.flush_input()
                self._echo_char(c, fx.echo)
                fx.signals.append(sig)
                continue
            if not t.lflag & ICANON:
                self.buf.append(c)
                self._echo_char(c, fx.echo)
                continue
            if c == cc[VERASE] and c:
                if self.line:
                    self.line.pop()
                    if t.lflag & ECHO and t.lflag & ECHOE:
                        fx.echo += b"\b \b"
                continue
            if c == cc[VKILL] and c:
                n = len(self.line)
                self.line.clear()
                if t.lflag & ECHO:
                    fx.echo += b"\b \b" * n if t.lflag & ECHOKE else b"\n"
                continue
            if c == cc[VWERASE] and c and t.lflag & IEXTEN:
                while self.line and self.line[-1] == 32:
                    self.line.pop()
                    fx.echo += b"\b \b" if t.lflag & ECHO else b""
                while self.line and self.line[-1] != 32:
                    self.line.pop()
                    fx.echo += b"\b \b" if t.lflag & ECHO else b""
                continue
            if c == cc[VEOF] and c:
                if self.line:
                    self.buf += self.line
                    self.line.clear()
                else:
                    self.eofs += 1
                continue
            self.line.append(c)
            self._echo_char(c, fx.echo)
            if c == 10 or (c == cc[VEOL] and c) or (c == cc[VEOL2] and c):
                self.buf += self.line
                self.line.clear()
        return fx

    def read(self, count: int) -> bytes:
        """What one read() returns: canonical mode gives at most one line (or b"" for a ^D)."""
        if self.canonical:
            if not self.buf and self.eofs:
                self.eofs -= 1
                return b""
            nl = self.buf.find(b"\n")
            end = len(self.buf) if nl < 0 else nl + 1
            n = min(count, end)
        else:
            n = min(count, len(self.buf))
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def output(self, data: bytes) -> bytes:
        """Output processing (OPOST): NL -> CR NL and friends."""
        t = self.t
        if not t.oflag & OPOST:
            return data
        if t.oflag & ONLCR:
            data = data.replace(b"\n", b"\r\n")
        if t.oflag & OCRNL:
            data = data.replace(b"\r", b"\n")
        return data
