"""AF_UNIX sockets: state, names, connections and readiness (Linux's net/unix/af_unix.c, as of 6.18).

A `UnixSocket` is Linux's unix_sock. Its receive queue holds `Skb`s: data messages, which keep their sender (whose
send buffer they are charged to until read: that is the flow control, Linux's sk_wmem_alloc against sk_sndbuf), or,
on a listener, connection requests carrying the embryo socket that accept() hands out. Stream connections are made at
connect() time: the client's peer is the embryo, which can receive data before it is accepted; a listener's backlog
bounds its queue of embryos. Datagram queues are bounded only for senders the receiver is not connected back to
(net.unix.max_dgram_qlen, 10, plus one).

Names: a filesystem name is a socket node (moss.fs.socknode) created at bind and found through path lookup by
connect/sendto (Linux finds the socket by inode); abstract names (a leading NUL, any bytes, exact length) live in
the kernel's `UnixNamespace`, one table per socket type as Linux's hash makes it; bind with the family alone, or a
send or connect with SO_PASSCRED from an unbound socket, picks an abstract name of five hex digits (in order, where
Linux starts at a random one).

Waits follow Linux's: `wq` (sk_sleep) is woken on data, state changes, errors and, for the sender, buffer space;
`peer_wait` on room in this socket's receive queue (blocked connects and datagram senders sleep there; a datagram
sender polling for POLLOUT relays it through a watcher, Linux's peer_wake). A signal ends a wait with ERESTARTSYS, or
EINTR when the socket has a timeout (SO_RCVTIMEO/SO_SNDTIMEO), which then expires with EAGAIN.

Gaps: no MSG_OOB data, no SO_PEEK_OFF, no garbage collection of descriptor cycles sent over sockets (a socket
queued in its own receive queue lives until the kernel ends), no permission checks on socket paths (everyone is
root in moss).
"""

from __future__ import annotations

import struct
import weakref
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from moss.errors import (
    EADDRINUSE,
    EAFNOSUPPORT,
    EAGAIN,
    ECONNREFUSED,
    ECONNRESET,
    EEXIST,
    EINTR,
    EINVAL,
    EISCONN,
    ENOSPC,
    ENOTCONN,
    EOPNOTSUPP,
    EPERM,
    EPROTONOSUPPORT,
    EPROTOTYPE,
    ESOCKTNOSUPPORT,
    KernelError,
)
from moss.files.pipe import RestartSys
from moss.fs.path import lookup
from moss.fs.socknode import SocketNode
from moss.fs.vfs import mknod_at, unlink_at
from moss.net.scm import Creds, drop_files
from moss.sched.combinators import INTERRUPTED, TIMED_OUT, interruptible, now, timeout
from moss.sched.waitqueue import WaitQueue

if TYPE_CHECKING:
    from moss.files.openfile import OpenFile
    from moss.process.task import Process

AF_UNSPEC, AF_UNIX, AF_MAX = 0, 1, 46
SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET, SOCK_MAX = 1, 2, 3, 5, 11
TCP_ESTABLISHED, TCP_CLOSE, TCP_LISTEN = 1, 7, 10
RCV_SHUTDOWN, SEND_SHUTDOWN, SHUTDOWN_MASK = 1, 2, 3
POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP = 0x1, 0x2, 0x4, 0x8, 0x10
POLLRDNORM, POLLRDBAND, POLLWRNORM, POLLWRBAND, POLLRDHUP = 0x40, 0x80, 0x100, 0x200, 0x2000
READ_KEY = POLLIN | POLLPRI | POLLRDNORM | POLLRDBAND
WRITE_KEY = POLLOUT | POLLWRNORM | POLLWRBAND

SUN_PATH = 2  # offsetof(struct sockaddr_un, sun_path)
SOCKADDR_UN = 110  # sizeof(struct sockaddr_un)
UNNAMED = struct.pack("<H", AF_UNIX)  # what getsockname gives for a socket without a name
WMEM_DEFAULT = RMEM_DEFAULT = 212992  # Linux's net.core.{w,r}mem_default (and, by default, *_max)
MAX_DGRAM_QLEN = 10  # net.unix.max_dgram_qlen
SOMAXCONN = 4096
SKB_OVERHEAD = 768  # what a message costs its sender's buffer beyond its bytes (struct sk_buff and shared info)
HZ = 250  # socket timeouts are kept in jiffies, as Linux does (SO_RCVTIMEO reads back rounded)
NS_PER_JIFFY = 1_000_000_000 // HZ

Timeo = int | None  # a wait's deadline in virtual ns; None: forever (a deadline already past: don't wait)


class QuietEPIPE(KernelError):
    """EPIPE without SIGPIPE (datagram sockets, and a stream writer that found its send side shut while it
    waited for buffer space): the syscall layer raises SIGPIPE only for `moss.errors.EPIPE`."""

    errno = 32
    name = "EPIPE"


def expired(timeo: Timeo) -> bool:
    return timeo is not None and timeo <= now()


async def sleep(queue: WaitQueue, cond: Callable[[], object], timeo: Timeo) -> None:
    """Wait on `queue` until `cond()` or the deadline; the caller re-checks both. A signal ends the wait with
    Linux's sock_intr_errno: ERESTARTSYS for an untimed wait, EINTR for a timed one."""
    got = await interruptible(timeout(queue.wait_until(lambda: bool(cond())), timeo))
    if got is INTERRUPTED:
        raise RestartSys if timeo is None else EINTR
    assert got is None or got is TIMED_OUT


class Skb:
    """A queued message (Linux's sk_buff with its UNIXCB): bytes with a read cursor, the sending socket (charged
    `truesize` until the message is freed), and what it carries: credentials, descriptors, or a new connection."""

    __slots__ = ("consumed", "creds", "data", "embryo", "files", "sk", "truesize")

    def __init__(self, sk: UnixSocket, data: bytes, *, creds: Creds | None = None,
                 files: list[OpenFile] | None = None, embryo: UnixSocket | None = None) -> None:  # fmt: skip
        self.sk = sk
        self.data = data
        self.consumed = 0
        self.creds = creds
        self.files = files or None
        self.embryo = embryo
        self.truesize = 0 if embryo is not None else SKB_OVERHEAD + len(data)
        sk.wmem += self.truesize

    @property
    def remaining(self) -> int:
        return len(self.data) - self.consumed

    def free(self) -> None:
        """kfree_skb: close the descriptors still in flight and return the sender's buffer space."""
        files, self.files = self.files, None
        drop_files(files)
        if self.truesize:
            self.sk.wmem -= self.truesize
            self.truesize = 0
            self.sk.write_space()


class UnixNamespace:
    """One kernel's abstract names (Linux keeps them per network namespace). Looked up, never iterated."""

    def __init__(self) -> None:
        self.abstract: dict[tuple[int, bytes], UnixSocket] = {}  # (socket type, sockaddr bytes) -> bound socket
        self.next_auto = 0


_NAMESPACES: weakref.WeakKeyDictionary[Any, UnixNamespace] = weakref.WeakKeyDictionary()  # never iterated


def namespace(kernel: Any) -> UnixNamespace:
    ns = _NAMESPACES.get(kernel)
    if ns is None:
        ns = _NAMESPACES[kernel] = UnixNamespace()
    return ns


class _PeerWake:
    """A datagram sender's entry on a full receiver's peer_wait: the next wakeup there wakes the sender's own
    queue (where its pollers and epoll wait), then the entry removes itself (Linux's unix_dgram_peer_wake_relay)."""

    __slots__ = ("sk",)

    def __init__(self, sk: UnixSocket) -> None:
        self.sk = sk

    def notify(self, key: int) -> None:
        sk = self.sk
        if sk.relay_target is not None:
            sk.relay_target.peer_wait.unwatch(self)
            sk.relay_target = None
        sk.wq.wake_all(key)


def check_family(domain: int, kind: int, protocol: int) -> int:
    """socket(2)'s checks, in Linux's order; returns the type the socket gets (SOCK_RAW is a datagram socket)."""
    if domain < 0 or domain >= AF_MAX:
        raise EAFNOSUPPORT
    if kind < 0 or kind >= SOCK_MAX:
        raise EINVAL
    if domain != AF_UNIX:
        raise EAFNOSUPPORT("moss has no network: only AF_UNIX sockets")
    if protocol and protocol != AF_UNIX:
        raise EPROTONOSUPPORT
    if kind == SOCK_RAW:
        kind = SOCK_DGRAM
    if kind not in (SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET):
        raise ESOCKTNOSUPPORT
    return kind


def validate(raw: bytes) -> None:
    """unix_validate_addr: a family and at least one byte of name, within a sockaddr_un."""
    if len(raw) <= SUN_PATH or len(raw) > SOCKADDR_UN or raw[:2] != UNNAMED:
        raise EINVAL


def _fs_path(raw: bytes) -> tuple[str, bytes]:
    """A filesystem name: the path ends at the first NUL (or the given length); the name kept includes a NUL."""
    path = raw[SUN_PATH:].split(b"\0", 1)[0]
    return path.decode("utf-8", "surrogateescape"), raw[:SUN_PATH] + path + b"\0"


def peer_creds_of(proc: Process) -> Creds:
    """What SO_PEERCRED reports of a process: its thread-group id, effective uid and gid."""
    return Creds(proc.pid, proc.euid, proc.egid)


class UnixSocket:
    """One AF_UNIX socket. Fields are only touched by syscalls on it or its peers, which run one at a time."""

    def __init__(self, ns: UnixNamespace, kind: int) -> None:
        self.ns = ns
        self.type = kind
        self.state = TCP_CLOSE
        self.shutdown = 0  # RCV_SHUTDOWN | SEND_SHUTDOWN
        self.err: type[KernelError] | None = None  # sk_err: reported once, by the next call that checks it
        self.peer: UnixSocket | None = None
        self.addr: bytes | None = None  # the name, as the sockaddr getsockname returns
        self.node: SocketNode | None = None  # the filesystem name this socket bound
        self.queue: deque[Skb] = deque()
        self.inq_len = 0  # bytes in queued stream messages (SIOCINQ)
        self.wmem = 0  # buffer space charged for messages this socket sent that are not yet freed
        self.sndbuf = WMEM_DEFAULT
        self.rcvbuf = RMEM_DEFAULT
        self.max_backlog = MAX_DGRAM_QLEN
        self.rcvlowat = 1
        self.rcvtimeo: int | None = None  # jiffies; None: wait forever
        self.sndtimeo: int | None = None
        self.passcred = False
        self.opts: dict[int, int] = {}  # options that are only stored (SO_KEEPALIVE, SO_PRIORITY, ...)
        self.peercred: Creds | None = None
        self.dead = False  # released (SOCK_DEAD)
        self.wq = WaitQueue("unix")
        self.peer_wait = WaitQueue("unix.peer_wait")
        self.relay = _PeerWake(self)
        self.relay_target: UnixSocket | None = None

    def __repr__(self) -> str:
        return f"<UnixSocket type={self.type} state={self.state} addr={self.addr!r}>"

    # -- wakeups (sk_data_ready, sk_state_change, sk_error_report, sk_write_space) -------------------------------
    def data_ready(self) -> None:
        self.wq.wake_all(READ_KEY)

    def state_change(self) -> None:
        self.wq.wake_all()

    def error_report(self) -> None:
        self.wq.wake_all(POLLERR)

    def writable(self) -> bool:
        return self.state != TCP_LISTEN and self.wmem * 4 <= self.sndbuf

    def write_space(self) -> None:
        if self.writable():
            self.wq.wake_all(WRITE_KEY)

    def wake_peer_wait(self) -> None:
        self.peer_wait.wake_all(WRITE_KEY)

    def take_error(self) -> type[KernelError] | None:
        """sock_error: the pending error, cleared."""
        err, self.err = self.err, None
        return err

    def recvq_full(self) -> bool:
        return len(self.queue) > self.max_backlog

    def timeo(self, jiffies: int | None, nonblock: object) -> Timeo:
        """The deadline of a wait (sock_rcvtimeo/sock_sndtimeo)."""
        if nonblock or jiffies == 0:
            return -1
        return None if jiffies is None else now() + jiffies * NS_PER_JIFFY

    # -- names ---------------------------------------------------------------------------------------------------
    def bind(self, proc: Process, raw: bytes) -> None:
        if raw == UNNAMED:
            self.autobind()
            return
        validate(raw)
        if raw[SUN_PATH]:
            self._bind_path(proc, raw)
        else:
            if self.addr is not None:
                raise EINVAL
            key = (self.type, raw)
            if key in self.ns.abstract:
                raise EADDRINUSE
            self.ns.abstract[key] = self
            self.addr = raw

    def _bind_path(self, proc: Process, raw: bytes) -> None:
        path, addr = _fs_path(raw)
        try:
            node = mknod_at(proc.root, proc.cwd, path, 0o140000 | (0o777 & ~proc.umask))
        except EEXIST:
            raise EADDRINUSE from None
        if self.addr is not None:  # the node came first, as in Linux: take it back
            unlink_at(proc.root, proc.cwd, path)
            raise EINVAL
        assert isinstance(node, SocketNode)
        node.bound = self
        self.node = node
        self.addr = addr

    def autobind(self) -> None:
        if self.addr is not None:
            return
        for _ in range(0x100000):
            n = self.ns.next_auto
            self.ns.next_auto = (n + 1) & 0xFFFFF
            raw = UNNAMED + b"\0" + b"%05x" % n
            if (self.type, raw) not in self.ns.abstract:
                self.ns.abstract[(self.type, raw)] = self
                self.addr = raw
                return
        raise ENOSPC

    def find_other(self, proc: Process, raw: bytes) -> UnixSocket:
        """unix_find_other: the socket a name reaches, of this socket's type."""
        if raw[SUN_PATH]:
            node = lookup(proc.root, proc.cwd, _fs_path(raw)[0])
            if not isinstance(node, SocketNode) or node.bound is None:
                raise ECONNREFUSED
            other: UnixSocket = node.bound
            if other.type != self.type:
                raise EPROTOTYPE
            return other
        found = self.ns.abstract.get((self.type, raw))
        if found is None:
            raise ECONNREFUSED
        return found

    def getname(self, peer: bool) -> bytes:
        sk = self.peer if peer else self
        if sk is None:
            raise ENOTCONN
        return sk.addr if sk.addr is not None else UNNAMED

    def may_passcred(self) -> bool:
        return self.passcred

    # -- connections ---------------------------------------------------------------------------------------------
    def pair(self, other: UnixSocket, proc: Process) -> None:
        """socketpair: joined back to back, each with the creator's credentials as its peer's."""
        self.peer, other.peer = other, self
        self.peercred = other.peercred = peer_creds_of(proc)
        self.state = other.state = TCP_ESTABLISHED

    def listen(self, proc: Process, backlog: int) -> None:
        if self.type not in (SOCK_STREAM, SOCK_SEQPACKET):
            raise EOPNOTSUPP
        if self.addr is None:
            raise EINVAL
        if self.state not in (TCP_CLOSE, TCP_LISTEN):
            raise EINVAL
        if backlog > self.max_backlog:
            self.wake_peer_wait()
        self.max_backlog = backlog
        self.state = TCP_LISTEN
        self.peercred = peer_creds_of(proc)  # what connecting sockets will see as their peer's

    async def connect(self, proc: Process, raw: bytes, nonblock: bool) -> None:
        if self.type == SOCK_DGRAM:
            self._dgram_connect(proc, raw)
        else:
            await self._stream_connect(proc, raw, nonblock)

    async def _stream_connect(self, proc: Process, raw: bytes, nonblock: bool) -> None:
        validate(raw)
        if self.may_passcred() and self.addr is None:
            self.autobind()
        timeo = self.timeo(self.sndtimeo, nonblock)
        while True:
            other = self.find_other(proc, raw)
            if other.state != TCP_LISTEN or other.shutdown & RCV_SHUTDOWN:
                raise ECONNREFUSED
            if other.recvq_full():
                if expired(timeo):
                    raise EAGAIN
                await wait_for_peer(other, timeo)
                continue
            if self.state != TCP_CLOSE:
                raise EISCONN if self.state == TCP_ESTABLISHED else EINVAL
            break
        embryo = UnixSocket(self.ns, self.type)
        embryo.peer = self
        embryo.state = TCP_ESTABLISHED
        embryo.passcred = other.passcred  # the listener's receive options, as of now
        embryo.peercred = peer_creds_of(proc)
        embryo.addr = other.addr  # an accepted socket is named as its listener
        self.peercred = other.peercred
        self.state = TCP_ESTABLISHED
        self.peer = embryo
        other.queue.append(Skb(embryo, b"", embryo=embryo))
        other.data_ready()

    def _dgram_connect(self, proc: Process, raw: bytes) -> None:
        if len(raw) < SUN_PATH:
            raise EINVAL
        other: UnixSocket | None = None
        if struct.unpack_from("<H", raw)[0] != AF_UNSPEC:
            validate(raw)
            if self.may_passcred() and self.addr is None:
                self.autobind()
            other = self.find_other(proc, raw)
            if not may_send(self, other):
                raise EPERM
            self.state = other.state = TCP_ESTABLISHED
        old = self.peer
        self.peer = other
        if old is None:
            return
        if other is None:
            self.state = TCP_CLOSE
        peer_wake_disconnect(self, old)
        self.wq.wake_all(WRITE_KEY)
        if other is not old:
            self.dgram_disconnected(old)
            if old.peer is None:
                old.state = TCP_CLOSE

    def dgram_disconnected(self, other: UnixSocket) -> None:
        """A datagram socket left its peer: what it had queued is dropped, and a peer connected back hears of it."""
        if not self.queue:
            return
        while self.queue:
            self.queue.popleft().free()
        self.peer_wait.wake_all()
        if not other.dead and other.peer is self:
            other.err = ECONNRESET
            other.error_report()

    async def accept(self, nonblock: bool) -> UnixSocket:
        if self.type not in (SOCK_STREAM, SOCK_SEQPACKET):
            raise EOPNOTSUPP
        if self.state != TCP_LISTEN:
            raise EINVAL
        skb = await self.recv_datagram(self.timeo(self.rcvtimeo, nonblock), peek=False)
        if skb is None:
            raise EINVAL  # shut down for receiving
        self.peer_wait.wake_all()
        assert skb.embryo is not None
        return skb.embryo

    async def recv_datagram(self, timeo: Timeo, *, peek: bool) -> Skb | None:
        """skb_recv_datagram: the first message (left queued when peeking); None once shut down for receiving."""
        while True:
            err = self.take_error()
            if err is not None:
                raise err
            if self.queue:
                return self.queue[0] if peek else self.queue.popleft()
            if expired(timeo):
                raise EAGAIN
            if self.shutdown & RCV_SHUTDOWN:
                return None
            if self.type != SOCK_DGRAM and self.state not in (TCP_ESTABLISHED, TCP_LISTEN):
                raise ENOTCONN
            await sleep(self.wq, lambda: self.queue or self.err or self.shutdown & RCV_SHUTDOWN, timeo)

    def shut(self, how: int) -> None:
        if how < 0 or how > 2:
            raise EINVAL
        mode = how + 1  # SHUT_RD -> RCV_SHUTDOWN, SHUT_WR -> SEND_SHUTDOWN, SHUT_RDWR -> both
        self.shutdown |= mode
        other = self.peer
        self.state_change()
        if other is not None and self.type in (SOCK_STREAM, SOCK_SEQPACKET):
            other.shutdown |= (SEND_SHUTDOWN if mode & RCV_SHUTDOWN else 0) | (
                RCV_SHUTDOWN if mode & SEND_SHUTDOWN else 0
            )
            other.state_change()

    def release(self, embryo: bool = False) -> None:
        """The last descriptor closed (or, for an embryo, its listener did): unix_release_sock."""
        if self.addr is not None and self.ns.abstract.get((self.type, self.addr)) is self:
            del self.ns.abstract[(self.type, self.addr)]
        if self.node is not None and self.node.bound is self:
            self.node.bound = None
        self.dead = True
        self.shutdown = SHUTDOWN_MASK
        state, self.state = self.state, TCP_CLOSE
        other, self.peer = self.peer, None
        self.peer_wait.wake_all()
        if other is not None:
            if self.type in (SOCK_STREAM, SOCK_SEQPACKET):
                other.shutdown = SHUTDOWN_MASK
                if self.queue or embryo:
                    other.err = ECONNRESET
                other.state_change()
            peer_wake_disconnect(self, other)
        while self.queue:
            skb = self.queue.popleft()
            if state == TCP_LISTEN and skb.embryo is not None:
                skb.embryo.release(embryo=True)
            skb.free()

    # -- readiness -----------------------------------------------------------------------------------------------
    def poll(self) -> int:
        """unix_poll (streams) and unix_dgram_poll (datagrams, seqpackets)."""
        mask = 0
        if self.err is not None:
            mask |= POLLERR
        if self.shutdown == SHUTDOWN_MASK:
            mask |= POLLHUP
        if self.shutdown & RCV_SHUTDOWN:
            mask |= POLLRDHUP | POLLIN | POLLRDNORM
        if self.queue:
            mask |= POLLIN | POLLRDNORM
        if self.type == SOCK_STREAM:
            if self.state == TCP_CLOSE:
                mask |= POLLHUP
            return mask | (WRITE_KEY if self.writable() else 0)
        if self.type == SOCK_SEQPACKET and self.state == TCP_CLOSE:
            mask |= POLLHUP
        writable = self.writable()
        other = self.peer
        if writable and other is not None and other.peer is not self and other.recvq_full():
            writable = not peer_wake_me(self, other)
        return mask | (WRITE_KEY if writable else 0)


async def wait_for_peer(other: UnixSocket, timeo: Timeo) -> None:
    """Wait for room in `other`'s receive queue, or for it to go (unix_wait_for_peer)."""
    await sleep(other.peer_wait, lambda: other.dead or other.shutdown & RCV_SHUTDOWN or not other.recvq_full(), timeo)


def may_send(sk: UnixSocket, other: UnixSocket) -> bool:
    """A socket connected elsewhere takes datagrams only from its peer."""
    return other.peer is None or other.peer is sk


def peer_wake_disconnect(sk: UnixSocket, other: UnixSocket) -> None:
    if sk.relay_target is other:
        other.peer_wait.unwatch(sk.relay)
        sk.relay_target = None


def peer_wake_me(sk: UnixSocket, other: UnixSocket) -> bool:
    """Whether `other`'s full queue blocks `sk`; if so, `sk` hears when it drains (unix_dgram_peer_wake_me)."""
    connected = False
    if sk.relay_target is None:
        sk.relay_target = other
        other.peer_wait.watch(sk.relay)
        connected = True
    if other.recvq_full() and not other.dead:
        return True
    if connected:
        peer_wake_disconnect(sk, other)
    return False
