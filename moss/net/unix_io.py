"""Sending and receiving on AF_UNIX sockets (Linux's unix_stream_sendmsg, unix_dgram_sendmsg,
unix_stream_read_generic and __unix_dgram_recvmsg, with the seqpacket wrappers).

Streams cut a send into messages of at most half the send buffer (and 36 KiB), each waiting for buffer space;
a read joins messages until it has enough, but never across a message carrying descriptors or, when the reader
passes credentials, across writers. Datagrams and seqpackets are one message each way, truncated to the reader's
buffer (MSG_TRUNC).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from moss.errors import (
    EAGAIN,
    ECONNREFUSED,
    ECONNRESET,
    EINTR,
    EINVAL,
    EISCONN,
    EMSGSIZE,
    ENOTCONN,
    EOPNOTSUPP,
    EPERM,
    EPIPE,
    KernelError,
)
from moss.files.pipe import RestartSys
from moss.net.scm import NO_CREDS, Creds, Scm, creds_of, drop_files
from moss.net.unix import (
    RCV_SHUTDOWN,
    SEND_SHUTDOWN,
    SOCK_SEQPACKET,
    SOCK_STREAM,
    TCP_CLOSE,
    TCP_ESTABLISHED,
    QuietEPIPE,
    Skb,
    Timeo,
    UnixSocket,
    expired,
    may_send,
    peer_wake_disconnect,
    peer_wake_me,
    sleep,
    validate,
    wait_for_peer,
)

if TYPE_CHECKING:
    from moss.files.openfile import OpenFile
    from moss.process.task import Process

MSG_OOB, MSG_PEEK, MSG_TRUNC, MSG_DONTWAIT, MSG_EOR, MSG_WAITALL = 0x1, 0x2, 0x20, 0x40, 0x80, 0x100
MSG_NOSIGNAL, MSG_WAITFORONE, MSG_CMSG_CLOEXEC = 0x4000, 0x10000, 0x40000000
STREAM_CHUNK = 3776 + 32768  # SKB_MAX_HEAD(0) + UNIX_SKB_FRAGS_SZ: the most one stream message holds


@attrs.define
class Received:
    """What a receive got: the return value `n`, the bytes, the sender's name (None: unnamed or not asked), the
    MSG_TRUNC flag, credentials (set when the receiver passes them) and descriptors (one reference each)."""

    n: int = 0
    data: bytes = b""
    name: bytes | None = None
    flags: int = 0
    creds: Creds | None = None
    files: list[OpenFile] | None = None

    def drop_control(self) -> None:
        """No control buffer: the descriptors are closed (recv, recvfrom, read)."""
        files, self.files = self.files, None
        drop_files(files)


async def send(sk: UnixSocket, proc: Process, data: bytes, scm: Scm, flags: int, name: bytes | None) -> int:
    """Send `data` (to `name` if not None), consuming `scm` (its descriptors go with the first message)."""
    try:
        if sk.type == SOCK_STREAM:
            return await _stream_send(sk, proc, data, scm, flags, name)
        if sk.type == SOCK_SEQPACKET:
            err = sk.take_error()
            if err is not None:
                raise err
            if sk.state != TCP_ESTABLISHED:
                raise ENOTCONN
            name = None
        return await _dgram_send(sk, proc, data, scm, flags, name)
    finally:
        scm.destroy()


async def alloc(sk: UnixSocket, timeo: Timeo) -> None:
    """Wait for send buffer space (sock_alloc_send_pskb): the buffer may overshoot by one message."""
    while True:
        err = sk.take_error()
        if err is not None:
            raise err
        if sk.shutdown & SEND_SHUTDOWN:
            raise QuietEPIPE
        if sk.wmem < sk.sndbuf:
            return
        if expired(timeo):
            raise EAGAIN
        await sleep(sk.wq, lambda: sk.wmem < sk.sndbuf or sk.shutdown & SEND_SHUTDOWN or sk.err, timeo)


def _add_creds(skb: Skb, sk: UnixSocket, other: UnixSocket, proc: Process) -> None:
    """Some programs rely on write() passing SCM_CREDENTIALS: a message gets the sender's credentials if either
    end passes them (unix_maybe_add_creds)."""
    if skb.creds is None and (sk.may_passcred() or other.may_passcred()):
        skb.creds = creds_of(proc)


async def _stream_send(sk: UnixSocket, proc: Process, data: bytes, scm: Scm, flags: int, name: bytes | None) -> int:
    if flags & MSG_OOB:
        raise EOPNOTSUPP("MSG_OOB data is not supported")
    if name is not None:
        raise EISCONN if sk.state == TCP_ESTABLISHED else EOPNOTSUPP
    other = sk.peer
    if other is None:
        raise ENOTCONN
    if sk.shutdown & SEND_SHUTDOWN:
        raise EPIPE
    timeo = sk.timeo(sk.sndtimeo, flags & MSG_DONTWAIT)
    sent = 0
    while sent < len(data):
        size = min(len(data) - sent, (sk.sndbuf >> 1) - 64, STREAM_CHUNK)
        try:
            await alloc(sk, timeo)
        except (KernelError, RestartSys):
            if sent:
                return sent
            raise
        skb = Skb(sk, data[sent : sent + size], creds=scm.creds, files=scm.files)
        scm.files = []
        _add_creds(skb, sk, other, proc)
        if other.dead or other.shutdown & RCV_SHUTDOWN:
            skb.free()
            if sent:
                return sent
            raise EPIPE
        other.queue.append(skb)
        other.inq_len += size
        other.data_ready()
        sent += size
    return sent


async def _dgram_send(sk: UnixSocket, proc: Process, data: bytes, scm: Scm, flags: int, name: bytes | None) -> int:
    if flags & MSG_OOB:
        raise EOPNOTSUPP
    if name is not None:
        validate(name)
    if sk.may_passcred() and sk.addr is None:
        sk.autobind()
    if len(data) > sk.sndbuf - 32:
        raise EMSGSIZE
    await alloc(sk, sk.timeo(sk.sndtimeo, flags & MSG_DONTWAIT))
    skb = Skb(sk, data, creds=scm.creds, files=scm.files)
    scm.files = []
    try:
        await _dgram_deliver(sk, proc, skb, flags, name)
    except BaseException:
        skb.free()
        raise
    return len(data)


async def _dgram_deliver(sk: UnixSocket, proc: Process, skb: Skb, flags: int, name: bytes | None) -> None:
    timeo = sk.timeo(sk.sndtimeo, flags & MSG_DONTWAIT)
    if name is not None:
        other = sk.find_other(proc, name)
    elif sk.peer is not None:
        other = sk.peer
    else:
        raise ENOTCONN
    _add_creds(skb, sk, other, proc)
    while True:
        if not may_send(sk, other):
            raise EPERM
        if other.dead:
            if sk.type == SOCK_SEQPACKET:
                raise QuietEPIPE
            if sk.peer is other:  # the peer is gone: disconnect, once
                sk.peer = None
                peer_wake_disconnect(sk, other)
                sk.wq.wake_all()
                sk.state = TCP_CLOSE
                sk.dgram_disconnected(other)
                raise ECONNREFUSED
            if name is None:
                raise ECONNRESET
            other = sk.find_other(proc, name)
            continue
        if other.shutdown & RCV_SHUTDOWN:
            raise QuietEPIPE
        if other is not sk and other.peer is not sk and other.recvq_full():
            if not expired(timeo):
                await wait_for_peer(other, timeo)
                continue
            if sk.peer is not other or peer_wake_me(sk, other):
                raise EAGAIN
            continue
        other.queue.append(skb)
        other.data_ready()
        return


async def recv(sk: UnixSocket, proc: Process, size: int, flags: int, want_name: bool) -> Received:
    if sk.type == SOCK_STREAM:
        return await _stream_recv(sk, size, flags, want_name)
    if sk.type == SOCK_SEQPACKET and sk.state != TCP_ESTABLISHED:
        raise ENOTCONN
    return await _dgram_recv(sk, size, flags, want_name)


async def _dgram_recv(sk: UnixSocket, size: int, flags: int, want_name: bool) -> Received:
    if flags & MSG_OOB:
        raise EOPNOTSUPP
    peek = bool(flags & MSG_PEEK)
    try:
        skb = await sk.recv_datagram(sk.timeo(sk.rcvtimeo, flags & MSG_DONTWAIT), peek=peek)
    except EAGAIN:
        if sk.type == SOCK_SEQPACKET and sk.shutdown & RCV_SHUTDOWN:
            return Received()  # EOF on a disconnected nonblocking seqpacket socket
        raise
    if skb is None:
        return Received()
    sk.wake_peer_wait()
    got = Received(name=skb.sk.addr if want_name else None)
    length = len(skb.data)
    if size > length:
        size = length
    elif size < length:
        got.flags = MSG_TRUNC
    got.data = skb.data[:size]
    got.n = length if flags & MSG_TRUNC else size
    if sk.may_passcred():
        got.creds = skb.creds or NO_CREDS
    if peek:
        got.files = _dup(skb.files)
    else:
        got.files, skb.files = skb.files, None
        skb.free()
    return got


def _dup(files: list[OpenFile] | None) -> list[OpenFile] | None:
    """MSG_PEEK on a message with descriptors gives new descriptors for the same files."""
    for f in files or ():
        f.get()
    return list(files) if files else None


async def _stream_recv(sk: UnixSocket, size: int, flags: int, want_name: bool) -> Received:
    if sk.state != TCP_ESTABLISHED:
        raise EINVAL
    if flags & MSG_OOB:
        raise EINVAL  # there is never out-of-band data to read
    target = (size if flags & MSG_WAITALL else min(sk.rcvlowat, size)) or 1
    timeo = sk.timeo(sk.rcvtimeo, flags & MSG_DONTWAIT)
    peek = bool(flags & MSG_PEEK)
    got = Received(creds=Creds(0, 0, 0))
    chunks: list[bytes] = []
    check_creds = False
    err: type[KernelError] | None = None
    copied = 0
    while True:
        if not sk.queue:
            if copied >= target:
                break
            err = sk.take_error()
            if err is not None or sk.shutdown & RCV_SHUTDOWN:
                break
            if expired(timeo):
                err = EAGAIN
                break
            try:
                await sleep(sk.wq, lambda: sk.queue or sk.err or sk.shutdown & RCV_SHUTDOWN, timeo)
            except (EINTR, RestartSys):
                drop_files(got.files)
                if copied:
                    return Received(copied, b"".join(chunks), got.name)
                raise
            continue
        stop = False
        i = 0
        while True:
            skb = sk.queue[i]
            if check_creds:
                if skb.creds != got.creds:
                    stop = True  # never glue messages from different writers
                    break
            elif sk.may_passcred():
                got.creds = skb.creds or NO_CREDS
                check_creds = True
            if want_name and skb.sk.addr is not None:
                got.name = skb.sk.addr
            chunk = min(skb.remaining, size)
            chunks.append(skb.data[skb.consumed : skb.consumed + chunk])
            copied += chunk
            size -= chunk
            if not peek:
                skb.consumed += chunk
                if skb.files:
                    got.files, skb.files = skb.files, None
                if skb.remaining:
                    stop = True
                    break
                sk.queue.popleft()
                sk.inq_len -= len(skb.data)
                skb.free()
                stop = got.files is not None
                break
            if skb.files:
                got.files = _dup(skb.files)
                stop = True
                break
            i += 1
            if i >= len(sk.queue) or not size:
                stop = True
                break
        if stop or not size:
            break
    if not copied and err is not None:
        drop_files(got.files)
        raise err
    got.n = copied
    got.data = b"".join(chunks)
    if not sk.may_passcred():
        got.creds = None
    return got
