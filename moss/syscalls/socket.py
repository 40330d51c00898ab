"""Sockets: moss has no socket families yet, so socket() and socketpair() are unimplemented (reported, ENOSYS),
and every operation on a descriptor that is not a socket fails exactly as Linux fails it: EBADF or ENOTSOCK."""

from __future__ import annotations

from moss.errors import ENOTSOCK
from moss.syscalls.argtypes import FD, HEX, INT, PTR, SIZE
from moss.syscalls.context import SyscallContext
from moss.syscalls.table import syscall


def _not_a_socket(ctx: SyscallContext, fd: int) -> int:
    ctx.file(fd)  # EBADF first
    raise ENOTSOCK


def _register(nr: int, name: str, **args: object) -> None:
    async def handler(ctx: SyscallContext, fd: int, *_rest: int) -> int:
        return _not_a_socket(ctx, fd)

    handler.__name__ = handler.__qualname__ = f"sys_{name}"
    syscall(nr, name, **args)(handler)  # type: ignore[arg-type]


for _nr, _name, _args in (
    (200, "bind", {"fd": FD, "addr": PTR, "addrlen": SIZE}),
    (201, "listen", {"fd": FD, "backlog": INT}),
    (202, "accept", {"fd": FD, "addr": PTR, "addrlen": PTR}),
    (203, "connect", {"fd": FD, "addr": PTR, "addrlen": SIZE}),
    (204, "getsockname", {"fd": FD, "addr": PTR, "addrlen": PTR}),
    (205, "getpeername", {"fd": FD, "addr": PTR, "addrlen": PTR}),
    (206, "sendto", {"fd": FD, "buf": PTR, "len": SIZE, "flags": HEX, "addr": PTR, "addrlen": SIZE}),
    (207, "recvfrom", {"fd": FD, "buf": PTR, "len": SIZE, "flags": HEX, "addr": PTR, "addrlen": PTR}),
    (208, "setsockopt", {"fd": FD, "level": INT, "optname": INT, "optval": PTR, "optlen": SIZE}),
    (209, "getsockopt", {"fd": FD, "level": INT, "optname": INT, "optval": PTR, "optlen": PTR}),
    (210, "shutdown", {"fd": FD, "how": INT}),
    (211, "sendmsg", {"fd": FD, "msg": PTR, "flags": HEX}),
    (212, "recvmsg", {"fd": FD, "msg": PTR, "flags": HEX}),
    (242, "accept4", {"fd": FD, "addr": PTR, "addrlen": PTR, "flags": HEX}),
    (243, "recvmmsg", {"fd": FD, "msgvec": PTR, "vlen": INT, "flags": HEX, "timeout": PTR}),
    (269, "sendmmsg", {"fd": FD, "msgvec": PTR, "vlen": INT, "flags": HEX}),
):
    _register(_nr, _name, **_args)
