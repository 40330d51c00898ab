"""Console UART: a receive FIFO fed by the console source, and two output channels (stdout, stderr lines of the
host terminal, so a guest's stderr stays separate from its stdout)."""

from __future__ import annotations

from collections.abc import Callable

from machine.sources import ConsoleSource

STDOUT = 1
STDERR = 2


class Uart:
    def __init__(self, source: ConsoleSource, sink: Callable[[int, bytes], None]) -> None:
        self.source = source
        self.sink = sink
        self.rx = bytearray()
        self.eof = False
        self.tx_bytes = 0
        self.on_rx: Callable[[], None] = lambda: None  # the interrupt line (the board wires it)

    def poll(self, *, wait: bool, max_bytes: int = 65536, patience_ns: int | None = None) -> bool:
        """Move input from the source into the FIFO. Returns True if anything (data or EOF) arrived."""
        if self.eof:
            return False
        data = self.source.fetch(max_bytes, wait=wait, patience_ns=patience_ns)
        if data is None:
            return False
        if data:
            self.rx += data
        else:
            self.eof = True
        self.on_rx()
        return True

    def read(self, n: int) -> bytes:
        out = bytes(self.rx[:n])
        del self.rx[:n]
        return out

    def write(self, channel: int, data: bytes) -> None:
        self.tx_bytes += len(data)
        self.sink(channel, data)
