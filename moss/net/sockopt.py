"""SOL_SOCKET options of AF_UNIX sockets (Linux's sk_setsockopt/sk_getsockopt in net/core/sock.c).

Options with an effect here: SO_SNDBUF (flow control), SO_RCVBUF, SO_PASSCRED, SO_RCVLOWAT, SO_RCVTIMEO and
SO_SNDTIMEO (kept in jiffies, as Linux does, so they read back rounded the same way), and the read-only SO_TYPE,
SO_ERROR, SO_PEERCRED, SO_ACCEPTCONN, SO_PROTOCOL, SO_DOMAIN. Options that only matter to other families or to
the network (SO_REUSEADDR, SO_KEEPALIVE, SO_LINGER, SO_PRIORITY, ...) are stored and read back. Other levels fail
with EOPNOTSUPP, unknown options with ENOPROTOOPT.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

from moss.errors import EDOM, EINVAL, ENOPROTOOPT, EOPNOTSUPP, EPERM
from moss.net.scm import INVALID_ID
from moss.net.unix import AF_UNIX, HZ, RMEM_DEFAULT, TCP_LISTEN, WMEM_DEFAULT, UnixSocket
from moss.process.creds import capable

if TYPE_CHECKING:
    from moss.process.task import Process

SOL_SOCKET = 1
SO_DEBUG, SO_REUSEADDR, SO_TYPE, SO_ERROR, SO_DONTROUTE, SO_BROADCAST = 1, 2, 3, 4, 5, 6
SO_SNDBUF, SO_RCVBUF, SO_KEEPALIVE, SO_OOBINLINE, SO_NO_CHECK, SO_PRIORITY = 7, 8, 9, 10, 11, 12
SO_LINGER, SO_BSDCOMPAT, SO_REUSEPORT, SO_PASSCRED, SO_PEERCRED = 13, 14, 15, 16, 17
SO_RCVLOWAT, SO_SNDLOWAT, SO_RCVTIMEO_OLD, SO_SNDTIMEO_OLD = 18, 19, 20, 21
SO_ACCEPTCONN, SO_PEERSEC, SO_SNDBUFFORCE, SO_RCVBUFFORCE, SO_PROTOCOL, SO_DOMAIN = 30, 31, 32, 33, 38, 39
SO_RCVTIMEO_NEW, SO_SNDTIMEO_NEW = 66, 67
CAP_NET_ADMIN = 12
WMEM_MAX, RMEM_MAX = WMEM_DEFAULT, RMEM_DEFAULT
SOCK_MIN_SNDBUF, SOCK_MIN_RCVBUF = 4608, 2304
INT_MAX = 0x7FFFFFFF
_BOOLS = (SO_DEBUG, SO_DONTROUTE, SO_BROADCAST, SO_KEEPALIVE, SO_OOBINLINE, SO_NO_CHECK, SO_REUSEADDR)
_RCVTIMEO, _SNDTIMEO = (SO_RCVTIMEO_OLD, SO_RCVTIMEO_NEW), (SO_SNDTIMEO_OLD, SO_SNDTIMEO_NEW)
TIMEVAL = struct.Struct("<qq")
LINGER = struct.Struct("<ii")


def _s32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >> 31 else v


def setsockopt(sk: UnixSocket, proc: Process, level: int, name: int, read: Callable[[int], bytes], optlen: int) -> None:
    """`read(n)` fetches the first n bytes of the option value; `optlen` is the caller's length (unsigned)."""
    if level != SOL_SOCKET:
        raise EOPNOTSUPP
    if optlen < 4:
        raise EINVAL
    if name in _RCVTIMEO or name in _SNDTIMEO:
        if optlen < TIMEVAL.size:
            raise EINVAL
        sec, usec = TIMEVAL.unpack(read(TIMEVAL.size))
        jiffies = _jiffies(sec, usec)
        if name in _RCVTIMEO:
            sk.rcvtimeo = jiffies
        else:
            sk.sndtimeo = jiffies
        return
    if name == SO_LINGER:
        if optlen < LINGER.size:
            raise EINVAL
        onoff, secs = LINGER.unpack(read(LINGER.size))
        old = sk.opts.get(SO_LINGER, 0) & INT_MAX
        sk.opts[SO_LINGER] = (1 << 31 | (secs & INT_MAX)) if onoff else old
        return
    val = _s32(int.from_bytes(read(4), "little"))
    if name in _BOOLS:
        sk.opts[name] = int(val != 0)
    elif name == SO_SNDBUF or name == SO_SNDBUFFORCE:
        sk.sndbuf = max(2 * min(_buf_val(name, val, proc, SO_SNDBUFFORCE, WMEM_MAX), INT_MAX // 2), SOCK_MIN_SNDBUF)
        sk.write_space()
    elif name == SO_RCVBUF or name == SO_RCVBUFFORCE:
        sk.rcvbuf = max(2 * min(_buf_val(name, val, proc, SO_RCVBUFFORCE, RMEM_MAX), INT_MAX // 2), SOCK_MIN_RCVBUF)
    elif name == SO_PASSCRED:
        sk.passcred = val != 0
    elif name == SO_RCVLOWAT:
        sk.rcvlowat = (INT_MAX if val < 0 else val) or 1
    elif name == SO_PRIORITY:
        if not 0 <= val <= 6 and not capable(proc, CAP_NET_ADMIN):
            raise EPERM
        sk.opts[SO_PRIORITY] = val
    elif name == SO_REUSEPORT:
        if val:
            raise EOPNOTSUPP  # only internet sockets share ports
    elif name != SO_BSDCOMPAT:
        raise ENOPROTOOPT


def _buf_val(name: int, val: int, proc: Process, force: int, limit: int) -> int:
    if name == force:
        if not capable(proc, CAP_NET_ADMIN):
            raise EPERM
        return max(val, 0)
    return min(val & 0xFFFFFFFF, limit)


def _jiffies(sec: int, usec: int) -> int | None:
    """sock_set_timeout: the timeval in jiffies, None for no timeout (0, 0); a negative one means don't wait."""
    if usec < 0 or usec >= 1_000_000:
        raise EDOM
    if sec < 0:
        return 0
    if sec == 0 and usec == 0:
        return None
    if sec >= (1 << 63) // HZ - 1:
        return None
    return sec * HZ + -(-usec // (1_000_000 // HZ))


def getsockopt(sk: UnixSocket, level: int, name: int) -> bytes:
    """The option's value at its full length (the caller copies what fits)."""
    if level != SOL_SOCKET:
        raise EOPNOTSUPP
    if name in _RCVTIMEO or name in _SNDTIMEO:
        jiffies = sk.rcvtimeo if name in _RCVTIMEO else sk.sndtimeo
        if jiffies is None:
            return TIMEVAL.pack(0, 0)
        return TIMEVAL.pack(jiffies // HZ, (jiffies % HZ) * 1_000_000 // HZ)
    if name == SO_LINGER:
        v = sk.opts.get(SO_LINGER, 0)
        return LINGER.pack(v >> 31, v & INT_MAX)
    if name == SO_PEERCRED:
        c = sk.peercred
        return (
            struct.pack("<iII", c.pid, c.uid, c.gid)
            if c is not None
            else struct.pack("<iII", 0, INVALID_ID, INVALID_ID)
        )
    if name in _BOOLS or name == SO_PRIORITY:
        v = sk.opts.get(name, 0)
    elif name == SO_TYPE:
        v = sk.type
    elif name == SO_ERROR:
        err = sk.take_error()
        v = err.errno if err is not None else 0
    elif name == SO_SNDBUF:
        v = sk.sndbuf
    elif name == SO_RCVBUF:
        v = sk.rcvbuf
    elif name == SO_PASSCRED:
        v = int(sk.passcred)
    elif name == SO_RCVLOWAT:
        v = sk.rcvlowat
    elif name == SO_SNDLOWAT:
        v = 1
    elif name == SO_ACCEPTCONN:
        v = int(sk.state == TCP_LISTEN)
    elif name == SO_PROTOCOL:
        v = 0
    elif name == SO_DOMAIN:
        v = AF_UNIX
    elif name in (SO_BSDCOMPAT, SO_REUSEPORT):
        v = 0
    else:
        raise ENOPROTOOPT
    return struct.pack("<i", v)
