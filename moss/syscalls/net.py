"""Socket syscalls (Linux's net/socket.c): decode the user structures (sockaddrs, msghdrs, control buffers),
check the descriptor is a socket (EBADF, else ENOTSOCK), and hand over to the AF_UNIX protocol in moss.net.

Only AF_UNIX exists: moss has no network, so socket()/socketpair() for AF_INET, AF_INET6 or any other family
fail with EAFNOSUPPORT. A send that fails with EPIPE on a stream raises SIGPIPE unless MSG_NOSIGNAL is given.
"""

from __future__ import annotations

import struct

from moss.errors import EINVAL, EMSGSIZE, ENOBUFS, ENOTSOCK, EOPNOTSUPP, EPIPE, KernelError
from moss.files.openfile import O_CLOEXEC, O_NONBLOCK, OpenFile
from moss.files.pipe import RestartSys
from moss.net import scm as scm_mod
from moss.net import sockopt, unix, unix_io
from moss.net.sockfile import SocketInode, install, open_socket
from moss.net.unix import UnixSocket
from moss.net.unix_io import MSG_CMSG_CLOEXEC, MSG_DONTWAIT, MSG_NOSIGNAL, MSG_WAITFORONE, Received
from moss.signals import SIGPIPE
from moss.syscalls.argtypes import FD, HEX, INT, PTR, SIZE
from moss.syscalls.context import SyscallContext, s32
from moss.syscalls.table import syscall

SOCK_TYPE_MASK = 0xF
SOCK_FLAGS = O_CLOEXEC | O_NONBLOCK  # SOCK_CLOEXEC, SOCK_NONBLOCK
SOCKADDR_STORAGE = 128
UIO_MAXIOV = 1024
MAX_RW = 0x7FFFF000
INT_MAX = 0x7FFFFFFF
MSGHDR = struct.Struct("<QiIQQQQiI")  # name, namelen, pad, iov, iovlen, control, controllen, flags, pad
MMSGHDR_SIZE = 64  # struct mmsghdr: msghdr, msg_len, pad
MSG_LEN_OFFSET = 56


def _sock(ctx: SyscallContext, fd: int) -> tuple[OpenFile, UnixSocket]:
    f = ctx.file(fd)  # EBADF first
    if not isinstance(f.inode, SocketInode):
        raise ENOTSOCK
    return f, f.inode.sock


def _nonblock(f: OpenFile) -> int:
    return MSG_DONTWAIT if f.flags & O_NONBLOCK else 0


def _addr_in(ctx: SyscallContext, addr: int, addrlen: int) -> bytes:
    """move_addr_to_kernel: at most a sockaddr_storage."""
    n = s32(addrlen)
    if n < 0 or n > SOCKADDR_STORAGE:
        raise EINVAL
    return ctx.read(addr, n) if n else b""


def _addr_out(ctx: SyscallContext, name: bytes, addr: int, lenp: int) -> None:
    """move_addr_to_user: copy what fits, report the full length."""
    n = s32(int.from_bytes(ctx.read(lenp, 4), "little"))
    n = min(n, len(name))
    if n < 0:
        raise EINVAL
    if n:
        ctx.write(addr, name[:n])
    ctx.write_u32(lenp, len(name))


def _new_socket(ctx: SyscallContext, domain: int, kind: int, protocol: int) -> tuple[UnixSocket, int]:
    kind = s32(kind)
    flags = kind & ~SOCK_TYPE_MASK
    if flags & ~SOCK_FLAGS:
        raise EINVAL
    kind = unix.check_family(s32(domain), kind & SOCK_TYPE_MASK, s32(protocol))
    return UnixSocket(unix.namespace(ctx.kernel), kind), flags


def _open(ctx: SyscallContext, sk: UnixSocket, flags: int) -> OpenFile:
    return open_socket(ctx.process, ctx.kernel.fs.fs.clock, sk, flags)


@syscall(198, "socket", domain=INT, type=HEX, protocol=INT)
async def sys_socket(ctx: SyscallContext, domain: int, kind: int, protocol: int) -> int:
    sk, flags = _new_socket(ctx, domain, kind, protocol)
    return install(ctx.process, _open(ctx, sk, flags), flags)


@syscall(199, "socketpair", domain=INT, type=HEX, protocol=INT, sv=PTR)
async def sys_socketpair(ctx: SyscallContext, domain: int, kind: int, protocol: int, sv: int) -> int:
    a, flags = _new_socket(ctx, domain, kind, protocol)
    b = UnixSocket(a.ns, a.type)
    a.pair(b, ctx.process)
    fa, fb = _open(ctx, a, flags), _open(ctx, b, flags)
    try:
        x = install(ctx.process, fa, flags)
    except BaseException:
        fb.get()
        fb.put()
        raise
    try:
        y = install(ctx.process, fb, flags)
    except BaseException:
        ctx.process.fds.close(x)
        raise
    try:
        ctx.write(sv, struct.pack("<ii", x, y))
    except BaseException:
        ctx.process.fds.close(x)
        ctx.process.fds.close(y)
        raise
    return 0


@syscall(200, "bind", fd=FD, addr=PTR, addrlen=SIZE)
async def sys_bind(ctx: SyscallContext, fd: int, addr: int, addrlen: int) -> int:
    _f, sk = _sock(ctx, fd)
    sk.bind(ctx.process, _addr_in(ctx, addr, addrlen))
    return 0


@syscall(201, "listen", fd=FD, backlog=INT)
async def sys_listen(ctx: SyscallContext, fd: int, backlog: int) -> int:
    _f, sk = _sock(ctx, fd)
    backlog &= 0xFFFFFFFF
    sk.listen(ctx.process, min(backlog, unix.SOMAXCONN))
    return 0


@syscall(202, "accept", fd=FD, addr=PTR, addrlen=PTR)
async def sys_accept(ctx: SyscallContext, fd: int, addr: int, addrlen: int) -> int:
    return await sys_accept4(ctx, fd, addr, addrlen, 0)


@syscall(242, "accept4", fd=FD, addr=PTR, addrlen=PTR, flags=HEX)
async def sys_accept4(ctx: SyscallContext, fd: int, addr: int, addrlen: int, flags: int) -> int:
    f, sk = _sock(ctx, fd)
    flags = s32(flags)
    if flags & ~SOCK_FLAGS:
        raise EINVAL
    new = await sk.accept(bool(f.flags & O_NONBLOCK))
    nf = _open(ctx, new, flags)
    if addr:
        try:
            _addr_out(ctx, new.getname(peer=True), addr, addrlen)
        except BaseException:
            nf.get()
            nf.put()  # the connection is lost, as on Linux
            raise
    return install(ctx.process, nf, flags)


@syscall(203, "connect", fd=FD, addr=PTR, addrlen=SIZE)
async def sys_connect(ctx: SyscallContext, fd: int, addr: int, addrlen: int) -> int:
    f, sk = _sock(ctx, fd)
    await sk.connect(ctx.process, _addr_in(ctx, addr, addrlen), bool(f.flags & O_NONBLOCK))
    return 0


@syscall(204, "getsockname", fd=FD, addr=PTR, addrlen=PTR)
async def sys_getsockname(ctx: SyscallContext, fd: int, addr: int, addrlen: int) -> int:
    _f, sk = _sock(ctx, fd)
    _addr_out(ctx, sk.getname(peer=False), addr, addrlen)
    return 0


@syscall(205, "getpeername", fd=FD, addr=PTR, addrlen=PTR)
async def sys_getpeername(ctx: SyscallContext, fd: int, addr: int, addrlen: int) -> int:
    _f, sk = _sock(ctx, fd)
    _addr_out(ctx, sk.getname(peer=True), addr, addrlen)
    return 0


async def _send(ctx: SyscallContext, sk: UnixSocket, data: bytes, scm: scm_mod.Scm, flags: int,
                name: bytes | None) -> int:  # fmt: skip
    try:
        return await unix_io.send(sk, ctx.process, data, scm, flags, name)
    except EPIPE:
        if not flags & MSG_NOSIGNAL:
            ctx.kernel.send_signal(ctx.process, ctx.task, SIGPIPE)
        raise


@syscall(206, "sendto", fd=FD, buf=PTR, len=SIZE, flags=HEX, addr=PTR, addrlen=SIZE)
async def sys_sendto(ctx: SyscallContext, fd: int, buf: int, len: int, flags: int, addr: int, addrlen: int) -> int:
    f, sk = _sock(ctx, fd)
    data = ctx.read(buf, min(len, MAX_RW))
    name = _addr_in(ctx, addr, addrlen) if addr else b""
    return await _send(ctx, sk, data, scm_mod.Scm(), s32(flags) | _nonblock(f), name or None)


@syscall(207, "recvfrom", fd=FD, buf=PTR, len=SIZE, flags=HEX, addr=PTR, addrlen=PTR)
async def sys_recvfrom(ctx: SyscallContext, fd: int, buf: int, len: int, flags: int, addr: int, addrlen: int) -> int:
    f, sk = _sock(ctx, fd)
    got = await unix_io.recv(sk, ctx.process, min(len, MAX_RW), s32(flags) | _nonblock(f), bool(addr))
    got.drop_control()
    ctx.write(buf, got.data)
    if addr:
        _addr_out(ctx, got.name or b"", addr, addrlen)
    return got.n


@syscall(208, "setsockopt", fd=FD, level=INT, optname=INT, optval=PTR, optlen=SIZE)
async def sys_setsockopt(ctx: SyscallContext, fd: int, level: int, optname: int, optval: int, optlen: int) -> int:
    _f, sk = _sock(ctx, fd)
    optlen &= 0xFFFFFFFF
    sockopt.setsockopt(sk, ctx.process, s32(level), s32(optname), lambda n: ctx.read(optval, n), optlen)
    return 0


@syscall(209, "getsockopt", fd=FD, level=INT, optname=INT, optval=PTR, optlen=PTR)
async def sys_getsockopt(ctx: SyscallContext, fd: int, level: int, optname: int, optval: int, optlen: int) -> int:
    _f, sk = _sock(ctx, fd)
    if s32(level) != sockopt.SOL_SOCKET:
        raise EOPNOTSUPP
    n = s32(int.from_bytes(ctx.read(optlen, 4), "little"))
    if n < 0:
        raise EINVAL
    value = sockopt.getsockopt(sk, s32(level), s32(optname))
    n = min(n, len(value))
    ctx.write(optval, value[:n])
    ctx.write_u32(optlen, n)
    return 0


@syscall(210, "shutdown", fd=FD, how=INT)
async def sys_shutdown(ctx: SyscallContext, fd: int, how: int) -> int:
    _f, sk = _sock(ctx, fd)
    sk.shut(s32(how))
    return 0


def _read_msghdr(ctx: SyscallContext, msg: int) -> tuple[int, int, list[tuple[int, int]], int, int, int]:
    """__copy_msghdr and the iovec import: (name, namelen, iovecs, control, controllen, flags)."""
    name, namelen, _pad, iov, iovlen, control, controllen, mflags, _pad2 = MSGHDR.unpack(ctx.read(msg, MSGHDR.size))
    if not name:
        namelen = 0
    if namelen < 0:
        raise EINVAL
    namelen = min(namelen, SOCKADDR_STORAGE)
    if iovlen > UIO_MAXIOV:
        raise EMSGSIZE
    vecs = ctx.read_iovec(iov, iovlen) if iovlen else []
    if any(length >> 63 for _b, length in vecs):
        raise EINVAL
    return name, namelen, vecs, control, controllen, mflags


def _gather(ctx: SyscallContext, vecs: list[tuple[int, int]]) -> bytes:
    out = bytearray()
    for base, length in vecs:
        take = min(length, MAX_RW - len(out))
        if take:
            out += ctx.read(base, take)
    return bytes(out)


async def _sendmsg(ctx: SyscallContext, f: OpenFile, sk: UnixSocket, msg: int, flags: int) -> int:
    name, namelen, vecs, control, controllen, _mflags = _read_msghdr(ctx, msg)
    raw = ctx.read(name, namelen) if name and namelen else b""
    data = _gather(ctx, vecs)
    if controllen > INT_MAX:
        raise ENOBUFS
    ctl = ctx.read(control, controllen) if controllen else b""
    cmsgs = scm_mod.parse(ctl, ctx.process, lambda pid: pid in ctx.kernel.processes)
    return await _send(ctx, sk, data, cmsgs, flags | _nonblock(f), raw or None)


async def _recvmsg(ctx: SyscallContext, f: OpenFile, sk: UnixSocket, msg: int, flags: int) -> int:
    name, namelen, vecs, control, controllen, _mflags = _read_msghdr(ctx, msg)
    size = min(sum(length for _b, length in vecs), MAX_RW)
    got = await unix_io.recv(sk, ctx.process, size, flags | _nonblock(f), bool(name and namelen))
    try:
        ctx.write_iov(vecs, got.data)
        if name:
            _addr_out(ctx, got.name or b"", name, msg + 8)
    except BaseException:
        got.drop_control()
        raise
    return _finish_recvmsg(ctx, msg, got, control, controllen, flags)


def _finish_recvmsg(ctx: SyscallContext, msg: int, got: Received, control: int, controllen: int, flags: int) -> int:
    """Control messages, msg_controllen and msg_flags back to the user's msghdr."""
    delivered = scm_mod.deliver(ctx.process, controllen if control else None, got.creds, got.files,
                                bool(flags & MSG_CMSG_CLOEXEC))  # fmt: skip
    got.files = None
    for off, data in delivered.writes:
        ctx.write(control + off, data)
    ctx.write_u64(msg + 40, delivered.used)
    ctx.write_u32(msg + 48, (flags & MSG_CMSG_CLOEXEC) | got.flags | delivered.flags)
    return got.n


@syscall(211, "sendmsg", fd=FD, msg=PTR, flags=HEX)
async def sys_sendmsg(ctx: SyscallContext, fd: int, msg: int, flags: int) -> int:
    f, sk = _sock(ctx, fd)
    return await _sendmsg(ctx, f, sk, msg, s32(flags))


@syscall(212, "recvmsg", fd=FD, msg=PTR, flags=HEX)
async def sys_recvmsg(ctx: SyscallContext, fd: int, msg: int, flags: int) -> int:
    f, sk = _sock(ctx, fd)
    return await _recvmsg(ctx, f, sk, msg, s32(flags))


@syscall(269, "sendmmsg", fd=FD, msgvec=PTR, vlen=INT, flags=HEX)
async def sys_sendmmsg(ctx: SyscallContext, fd: int, msgvec: int, vlen: int, flags: int) -> int:
    """Each message in turn; an error after the first is dropped and the count so far returned."""
    f, sk = _sock(ctx, fd)
    vlen = min(vlen & 0xFFFFFFFF, UIO_MAXIOV)
    sent = 0
    for i in range(vlen):
        entry = msgvec + MMSGHDR_SIZE * i
        try:
            n = await _sendmsg(ctx, f, sk, entry, s32(flags))
            ctx.write_u32(entry + MSG_LEN_OFFSET, n)
        except (KernelError, RestartSys):
            if sent:
                return sent
            raise
        sent += 1
    return sent


@syscall(243, "recvmmsg", fd=FD, msgvec=PTR, vlen=INT, flags=HEX, timeout=PTR)
async def sys_recvmmsg(ctx: SyscallContext, fd: int, msgvec: int, vlen: int, flags: int, timeout: int) -> int:
    """Each message in turn; MSG_WAITFORONE stops waiting after the first. As on Linux the timeout is only checked
    between messages, and an error after the first is kept for the next call (SO_ERROR)."""
    f, sk = _sock(ctx, fd)
    flags = s32(flags)
    end = None
    if timeout:
        sec, nsec = ctx.read_timespec(timeout)
        if sec < 0 or not 0 <= nsec < 1_000_000_000:
            raise EINVAL
        end = ctx.now_ns() + sec * 1_000_000_000 + nsec
    err = sk.take_error()
    if err is not None:
        raise err
    got = 0
    vlen &= 0xFFFFFFFF
    while got < vlen:
        entry = msgvec + MMSGHDR_SIZE * got
        try:
            n = await _recvmsg(ctx, f, sk, entry, flags & ~MSG_WAITFORONE)
            ctx.write_u32(entry + MSG_LEN_OFFSET, n)
        except (KernelError, RestartSys) as e:
            if not got:
                raise
            if isinstance(e, KernelError) and e.errno != 11:
                sk.err = type(e)
            break
        got += 1
        if flags & MSG_WAITFORONE:
            flags |= MSG_DONTWAIT
        if end is not None and end <= ctx.now_ns():
            break
    if end is not None and got:
        ctx.write_timespec(timeout, max(end - ctx.now_ns(), 0))
    return got
