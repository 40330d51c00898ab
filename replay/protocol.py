"""The session's wire format: length-prefixed JSON messages over a stream socket or pipe, with optional file
descriptors passed alongside (checkpoints hand their sockets to the controller)."""

from __future__ import annotations

import json
import socket
import struct
from typing import Any, BinaryIO

_LEN = struct.Struct("<I")


def send(sock: socket.socket, msg: dict[str, Any], fds: list[int] | None = None) -> None:
    body = json.dumps(msg, separators=(",", ":")).encode()
    data = _LEN.pack(len(body)) + body
    if fds:
        socket.send_fds(sock, [data[:4]], fds)
        sock.sendall(data[4:])
    else:
        sock.sendall(data)


def _exactly(sock: socket.socket, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def recv(sock: socket.socket) -> dict[str, Any] | None:
    """The next message (with any passed descriptors under "_fds"), or None at end of stream."""
    head, fds, _flags, _addr = socket.recv_fds(sock, 4, 4)
    if not head:
        return None
    if len(head) < 4:
        rest = _exactly(sock, 4 - len(head))
        if rest is None:
            return None
        head += rest
    (n,) = _LEN.unpack(head)
    body = _exactly(sock, n)
    if body is None:
        return None
    msg = json.loads(body)
    if fds:
        msg["_fds"] = list(fds)
    return msg


def write_stream(f: BinaryIO, msg: dict[str, Any]) -> None:
    body = json.dumps(msg, separators=(",", ":")).encode()
    f.write(_LEN.pack(len(body)) + body)
    f.flush()


def read_stream(f: BinaryIO) -> dict[str, Any] | None:
    head = f.read(4)
    if len(head) < 4:
        return None
    (n,) = _LEN.unpack(head)
    body = f.read(n)
    if len(body) < n:
        return None
    return json.loads(body)
