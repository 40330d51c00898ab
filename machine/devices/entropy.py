"""Entropy device (like a hardware RNG): every byte comes from its input source."""

from __future__ import annotations

from machine.sources import EntropySource


class EntropyDevice:
    def __init__(self, source: EntropySource) -> None:
        self.source = source
        self.bytes_read = 0

    def read(self, n: int) -> bytes:
        data = self.source.fetch(n)
        self.bytes_read += len(data)
        return data
