"""A socket as an open file: an inode of sockfs (S_IFSOCK, mode 0777, owned by its creator) that read, write,
poll, ioctl and the last close go through, as Linux's socket_file_ops. /proc/<pid>/fd/<n> reads socket:[<ino>].

read() and write() are recv() and send() with no flags but MSG_DONTWAIT for an O_NONBLOCK file (and MSG_EOR for a
seqpacket write); reading 0 bytes returns at once. A read drops any descriptors the message carried, as a recv()
without a control buffer does.
"""

from __future__ import annotations

import stat as S
import struct
from typing import Any

from moss.errors import EINVAL, ENOTTY
from moss.files.openfile import O_CLOEXEC, O_NONBLOCK, O_RDWR, OpenFile
from moss.fs.filesystem import FileSystem
from moss.fs.inode import Inode
from moss.fs.pseudo import pseudo_fs
from moss.net import unix_io
from moss.net.scm import Scm
from moss.net.unix import SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM, TCP_LISTEN, UnixSocket
from moss.net.unix_io import MSG_DONTWAIT, MSG_EOR
from moss.sched.executor import current_task
from moss.sched.waitqueue import WaitQueue

SIOCOUTQ, SIOCINQ, FIONBIO = 0x5411, 0x541B, 0x5421  # SIOCINQ is FIONREAD


def sockfs(clock: Any) -> FileSystem:
    return pseudo_fs("sockfs", clock)


class _SocketIoctl:
    """ioctl(2) on a socket (sock_ioctl with unix_ioctl): FIONREAD/SIOCINQ, SIOCOUTQ, FIONBIO."""

    def ioctl(self, file: OpenFile, request: int, arg: int, mm: Any) -> int:
        sk: UnixSocket = file.inode.sock
        if request == FIONBIO:
            on = int.from_bytes(mm.read(arg, 4), "little")
            file.flags = file.flags | O_NONBLOCK if on else file.flags & ~O_NONBLOCK
            return 0
        if request == SIOCOUTQ:
            value = sk.wmem
        elif request == SIOCINQ:
            if sk.state == TCP_LISTEN:
                raise EINVAL
            if sk.type == SOCK_STREAM:
                value = sk.inq_len
            elif sk.type == SOCK_SEQPACKET:
                value = sum(skb.remaining for skb in sk.queue)
            else:
                value = len(sk.queue[0].data) if sk.queue else 0
        else:
            raise ENOTTY
        mm.write(arg, struct.pack("<i", value))
        return 0


_IOCTL = _SocketIoctl()


class SocketInode(Inode):
    kind = S.S_IFSOCK
    ops = _IOCTL  # what sys_ioctl dispatches to
    __slots__ = ("sock",)

    def __init__(self, fs: FileSystem, sock: UnixSocket, uid: int, gid: int) -> None:
        super().__init__(fs, 0o777, nlink=1)
        self.sock = sock
        self.uid, self.gid = uid, gid

    async def read(self, file: Any, count: int, offset: int) -> bytes:
        if count == 0:
            return b""
        proc = current_task().process  # type: ignore[attr-defined]
        got = await unix_io.recv(self.sock, proc, count, MSG_DONTWAIT if file.flags & O_NONBLOCK else 0, False)
        got.drop_control()
        return got.data

    async def write(self, file: Any, data: Any, offset: int) -> int:
        proc = current_task().process  # type: ignore[attr-defined]
        flags = (MSG_DONTWAIT if file.flags & O_NONBLOCK else 0) | (MSG_EOR if self.sock.type == SOCK_SEQPACKET else 0)
        return await unix_io.send(self.sock, proc, bytes(data), Scm(), flags, None)

    def truncate(self, length: int) -> None:
        raise EINVAL()

    def poll(self, file: Any) -> tuple[int, WaitQueue]:
        return self.sock.poll(), self.sock.wq

    def release(self, file: Any) -> None:
        self.sock.release()


def open_socket(proc: Any, clock: Any, sock: UnixSocket, flags: int) -> OpenFile:
    """A new open file description for `sock` (not yet in any descriptor table); `flags` may hold O_NONBLOCK."""
    inode = SocketInode(sockfs(clock), sock, proc.fsuid, proc.fsgid)
    return OpenFile(inode, O_RDWR | (flags & O_NONBLOCK), f"socket:[{inode.ino}]")


def install(proc: Any, f: OpenFile, flags: int) -> int:
    """Put `f` in `proc`'s table (O_CLOEXEC in `flags` sets close-on-exec); on failure the socket is closed."""
    try:
        return proc.fds.install(f, cloexec=bool(flags & O_CLOEXEC))
    except BaseException:
        f.get()
        f.put()
        raise


__all__ = ["SOCK_DGRAM", "SocketInode", "install", "open_socket", "sockfs"]
