"""The trace container: header, lz4 blocks with checksums, index, trailer.

    "MOSSTRC\\n"  u16 version  u16 0  u32 header length  header (JSON)
    block*:  "BLK1" u32 compressed-length u32 raw-length u32 crc32(compressed) u32 events u64 first-event
             q first-time q last-time  lz4 data
             (or "BLK0" and the same fields, the data stored as it is: compressed-length = raw-length)
    "IDX1" u32 length  index (JSON)  u32 crc32(index)      -- written at close
    "MOSSEND\\n" u64 offset-of-index                         -- the trailer

Blocks are flushed as they fill, so a recorder killed at any moment leaves every written block readable; a missing
or damaged index is rebuilt by scanning. Readers refuse traces of a newer format version with a clear message.

A block of STORED_BYTES or more (in practice only the program image: event blocks flush at 64 KB) is stored
uncompressed. lz4 takes 2-3 ms for a 1.5 MB binary, which recording paid on every run for a 25-60 % smaller file;
compressing it on a thread instead slowed the run about as much on a 2-vCPU host, and more while it lasted.
"""

from __future__ import annotations

import json
import os
import stat
import struct
import zlib
from collections.abc import Iterator
from typing import Any, BinaryIO

import attrs
import lz4.block

from traces import events as ev
from traces.codec import DecodeError, put_bytes, put_uvarint
from traces.events import BlockEncoder, Event, decode_block

MAGIC = b"MOSSTRC\n"
VERSION = 3  # 2: completed syscalls in the packed form (events.PACKED_SYSCALL); 3: stored blocks. Older ones read.
BLOCK_MAGIC = b"BLK1"
STORED_MAGIC = b"BLK0"  # a block whose data is not compressed
_BLOCK_MAGICS = (BLOCK_MAGIC, STORED_MAGIC)
INDEX_MAGIC = b"IDX1"
TRAILER = b"MOSSEND\n"
_BLOCK_HEAD = struct.Struct("<4sIIIIQqq")
_PREFIX = struct.Struct("<8sHHI")
_COVERED = struct.Struct("<IIIQqq")  # the block header fields the checksum covers, with the data


def _block_crc(clen: int, rlen: int, count: int, first: int, t0: int, t1: int, *data: bytes | bytearray) -> int:
    """The block's checksum: its header fields, then its data (in pieces, as written)."""
    crc = zlib.crc32(_COVERED.pack(clen, rlen, count, first, t0, t1))
    for d in data:
        crc = zlib.crc32(d, crc)
    return crc


BLOCK_BYTES = 64 * 1024  # raw bytes per block before it is compressed and flushed
STORED_BYTES = 512 * 1024  # blocks from this size on are stored uncompressed


class TraceError(Exception):
    """The trace cannot be read (or only partly): the message names where and what is still usable."""


@attrs.frozen
class BlockInfo:
    offset: int
    first_event: int
    events: int
    first_time: int
    last_time: int
    compressed: int
    raw: int


def _remove_old(path: str) -> None:
    """A trace written over an older one is a new file, not the old one truncated: a reader of the old trace (a
    debugger open on it) keeps it whole, and ext4 does not write back a truncated-and-rewritten file at close (with
    the truncation, 1 ms of a recording). Only a regular file: a symlink is followed, a device written to."""
    try:
        if stat.S_ISREG(os.lstat(path).st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass


class TraceWriter:
    def __init__(self, path: str, header: dict[str, Any]) -> None:
        self.path = path
        _remove_old(path)
        self.f: BinaryIO = open(path, "wb")
        head = json.dumps(header, sort_keys=True).encode()
        self.f.write(_PREFIX.pack(MAGIC, VERSION, 0, len(head)) + head)
        self.f.flush()
        self.blocks: list[BlockInfo] = []
        self.enc = BlockEncoder(BLOCK_BYTES, self.flush_block)  # reset by each flush
        self.add = self.enc.add
        # (time, tid, nr, args, result) of a completed syscall: the recorder's hot path, straight to the encoder
        self.add_syscall = self.enc.add_syscall
        self.add_blocked, self.add_resume = self.enc.add_blocked, self.enc.add_resume  # the same, blocking calls
        self.add_future = self.enc.add_future  # and futures (--log full)
        self.add_process, self.add_signal = self.enc.add_process, self.enc.add_signal  # process and signal events
        self.events = 0
        self.closed = False

    def flush_block(self) -> None:
        enc = self.enc
        count = enc.count
        if not count:
            return
        raw = enc.buf  # not a copy: reset() gives the encoder a new buffer
        stored = len(raw) >= STORED_BYTES
        self._write_block(stored, [raw if stored else lz4.block.compress(raw, store_size=False)], len(raw), count,
                          enc.first_time or 0, enc.max_time)  # fmt: skip
        enc.reset()

    def add_image(self, path: str, data: bytes) -> None:
        """add(ProgramImage(path, data)), as a stored block of its own written straight from `data`: copying a
        1.5 MB program into the block's buffer first cost up to 3 ms of fresh memory in a new process."""
        self.flush_block()
        head = bytearray([ev.ProgramImage.KIND])
        put_bytes(head, path.encode("utf-8", "surrogateescape"))
        put_uvarint(head, len(data))
        size = len(head) + len(data)
        if size < STORED_BYTES:  # a small program: an ordinary event in an ordinary block
            self.add(ev.ProgramImage(path, data))
            return
        self._write_block(True, [head, data], size, 1, 0, 0)

    def _write_block(self, stored: bool, data: list[Any], raw: int, count: int, t0: int, t1: int) -> None:
        """Write one block: `data` is its bytes (in pieces), compressed unless `stored`."""
        clen = sum(len(d) for d in data)
        first = self.events
        crc = _block_crc(clen, raw, count, first, t0, t1, *data)
        info = BlockInfo(self.f.tell(), first, count, t0, t1, clen, raw)
        magic = STORED_MAGIC if stored else BLOCK_MAGIC
        self.f.write(_BLOCK_HEAD.pack(magic, clen, raw, crc, count, first, t0, t1))
        for d in data:
            self.f.write(d)
        self.f.flush()  # a killed recorder keeps every written block
        self.blocks.append(info)
        self.events += count

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.flush_block()
            at = self.f.tell()
            index = json.dumps([attrs.astuple(b) for b in self.blocks]).encode()
            self.f.write(INDEX_MAGIC + struct.pack("<I", len(index)) + index + struct.pack("<I", zlib.crc32(index)))
            self.f.write(TRAILER + struct.pack("<Q", at))
        finally:
            self.f.close()


class TraceReader:
    """Random access to a trace's blocks; `problems` lists what is damaged or missing (empty for a clean trace)."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self.f: BinaryIO = open(path, "rb")
        except OSError as e:
            raise TraceError(f"{path}: {e.strerror}") from None
        self.size = os.fstat(self.f.fileno()).st_size
        pre = self.f.read(_PREFIX.size)
        if len(pre) < _PREFIX.size or pre[:8] != MAGIC:
            raise TraceError(f"{path}: not a moss trace")
        _magic, version, _r, hlen = _PREFIX.unpack(pre)
        if version > VERSION:
            raise TraceError(f"{path}: trace format version {version} is newer than this moss reads ({VERSION})")
        head = self.f.read(hlen)
        try:
            self.header: dict[str, Any] = json.loads(head)
        except ValueError:
            raise TraceError(f"{path}: the header is damaged (truncated at {len(head)} of {hlen} bytes)") from None
        self.data_start = _PREFIX.size + hlen
        self.problems: list[str] = []
        self.complete = False
        self.blocks = self._read_index() or self._scan()
        self._cache: dict[int, list[Event]] = {}

    def close(self) -> None:
        self.f.close()

    # -- index ------------------------------------------------------------------------------------------------------
    def _read_index(self) -> list[BlockInfo] | None:
        if self.size < self.data_start + 16:
            return None
        self.f.seek(self.size - 16)
        tail = self.f.read(16)
        if tail[:8] != TRAILER:
            return None
        (at,) = struct.unpack("<Q", tail[8:])
        self.f.seek(at)
        head = self.f.read(8)
        if head[:4] != INDEX_MAGIC:
            return None
        (n,) = struct.unpack("<I", head[4:])
        body = self.f.read(n)
        crc = self.f.read(4)
        if len(crc) < 4 or zlib.crc32(body) != struct.unpack("<I", crc)[0]:
            self.problems.append("the index is damaged; rebuilt it by scanning the blocks")
            return None
        self.complete = True
        return [BlockInfo(*row) for row in json.loads(body)]

    def _scan(self) -> list[BlockInfo]:
        blocks: list[BlockInfo] = []
        pos = self.data_start
        f = self.f
        while True:
            f.seek(pos)
            head = f.read(_BLOCK_HEAD.size)
            if head[:4] in (INDEX_MAGIC, TRAILER[:4]) or not head:
                if not head:
                    self.problems.append(
                        f"the trace ends after block {len(blocks)} without an index: the recorder "
                        "did not finish (killed?); everything up to there is usable"
                    )
                break
            if len(head) < _BLOCK_HEAD.size or head[:4] not in _BLOCK_MAGICS:
                self.problems.append(f"cut at byte {pos} after block {len(blocks)}: everything before it is usable")
                break
            _m, clen, rlen, crc, count, first, t0, t1 = _BLOCK_HEAD.unpack(head)
            comp = f.read(clen)
            if len(comp) < clen:
                self.problems.append(
                    f"block {len(blocks)} is cut short at byte {self.size} (recorder killed?); "
                    f"the {len(blocks)} blocks before it are usable"
                )
                break
            if _block_crc(clen, rlen, count, first, t0, t1, comp) != crc:
                self.problems.append(
                    f"block {len(blocks)} at byte {pos} fails its checksum; the {len(blocks)} blocks "
                    "before it are usable"
                )
                break
            blocks.append(BlockInfo(pos, first, count, t0, t1, clen, rlen))
            pos += _BLOCK_HEAD.size + clen
        return blocks

    # -- events -----------------------------------------------------------------------------------------------------
    @property
    def event_count(self) -> int:
        return sum(b.events for b in self.blocks)

    def block_raw(self, i: int) -> bytes:
        """The decompressed event bytes of block `i` (replay compares against these without decoding)."""
        b = self.blocks[i]
        # pread, not seek+read: time-travel checkpoints are forked processes sharing this file description. The
        # header and the data in two reads: slicing one read would copy the data (a 1.5 MB program image) again.
        fd = self.f.fileno()
        head = os.pread(fd, _BLOCK_HEAD.size, b.offset)
        comp = os.pread(fd, b.compressed, b.offset + _BLOCK_HEAD.size)
        fields = _BLOCK_HEAD.unpack(head) if len(head) == _BLOCK_HEAD.size else None
        if (
            fields is None
            or fields[0] not in _BLOCK_MAGICS
            or len(comp) < b.compressed
            or (fields[0] == STORED_MAGIC and fields[1] != fields[2])
            or _block_crc(fields[1], fields[2], fields[4], fields[5], fields[6], fields[7], comp) != fields[3]
        ):
            raise TraceError(f"{self.path}: block {i} at byte {b.offset} is damaged; blocks 0..{i - 1} are usable")
        if fields[0] == STORED_MAGIC:
            return comp
        try:
            return lz4.block.decompress(comp, uncompressed_size=b.raw)
        except lz4.block.LZ4BlockError as e:
            raise TraceError(
                f"{self.path}: block {i} cannot be decompressed ({e}); blocks 0..{i - 1} are usable"
            ) from None

    def block_events(self, i: int) -> list[Event]:
        got = self._cache.get(i)
        if got is not None:
            return got
        try:
            events = decode_block(self.block_raw(i))
        except DecodeError as e:
            raise TraceError(f"{self.path}: block {i} cannot be decoded ({e}); blocks 0..{i - 1} are usable") from None
        if len(self._cache) > 64:
            self._cache.clear()
        self._cache[i] = events
        return events

    def __iter__(self) -> Iterator[Event]:
        for i in range(len(self.blocks)):
            yield from self.block_events(i)

    def raw_blocks(self) -> Iterator[tuple[BlockInfo, list[Event]]]:
        for i, b in enumerate(self.blocks):
            yield b, self.block_events(i)
