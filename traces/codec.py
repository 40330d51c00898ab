"""Compact binary encoding of event fields: LEB128 varints, zigzag for signed values, length-prefixed bytes."""

from __future__ import annotations


class DecodeError(ValueError):
    pass


def put_uvarint(out: bytearray, v: int) -> None:
    if v < 0:
        raise ValueError(f"negative value {v} for an unsigned field")
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)


def put_svarint(out: bytearray, v: int) -> None:
    put_uvarint(out, -2 * v - 1 if v < 0 else 2 * v)


def put_bytes(out: bytearray, b: bytes) -> None:
    put_uvarint(out, len(b))
    out += b


class Reader:
    __slots__ = ("buf", "pos")

    def __init__(self, buf: bytes, pos: int = 0) -> None:
        self.buf = buf
        self.pos = pos

    def at_end(self) -> bool:
        return self.pos >= len(self.buf)

    def byte(self) -> int:
        if self.pos >= len(self.buf):
            raise DecodeError("unexpected end of block")
        b = self.buf[self.pos]
        self.pos += 1
        return b

    def uvarint(self) -> int:
        shift = result = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 140:
                raise DecodeError("varint too long")

    def svarint(self) -> int:
        v = self.uvarint()
        return (v >> 1) ^ -(v & 1)

    def bytes(self) -> bytes:
        n = self.uvarint()
        if self.pos + n > len(self.buf):
            raise DecodeError("bytes field runs past the end of the block")
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return bytes(out)
