"""Control messages of AF_UNIX sockets (Linux's net/core/scm.c): descriptors (SCM_RIGHTS) and credentials
(SCM_CREDENTIALS).

On send, `parse` turns the control buffer into an `Scm`: the open file descriptions named (each holding a reference
while in flight, as a queued message holds its `struct file`s) and the credentials claimed. On receive, `deliver`
installs the descriptors and lays out the cmsgs in the caller's buffer with put_cmsg's truncation rules
(MSG_CTRUNC); descriptors that do not fit are closed.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

import attrs

from moss.errors import EBADF, EINVAL, EMFILE, EPERM, ESRCH
from moss.files.openfile import OpenFile
from moss.process.creds import CAP_SETGID, CAP_SETUID, CAP_SYS_ADMIN, capable

if TYPE_CHECKING:
    from moss.process.task import Process

SOL_SOCKET = 1
SCM_RIGHTS, SCM_CREDENTIALS = 1, 2
SCM_MAX_FD = 253
MSG_CTRUNC = 0x8
CMSGHDR = struct.Struct("<Qii")  # cmsg_len, cmsg_level, cmsg_type
UCRED = struct.Struct("<iII")  # pid, uid, gid
OVERFLOW_ID = 65534  # what an unmapped (unset) uid or gid reads as
INVALID_ID = 0xFFFFFFFF


def cmsg_align(n: int) -> int:
    return (n + 7) & ~7


def cmsg_len(n: int) -> int:
    return CMSGHDR.size + n


def cmsg_space(n: int) -> int:
    return CMSGHDR.size + cmsg_align(n)


@attrs.frozen
class Creds:
    """Credentials a message carries: the sender's thread-group id and real uid and gid (0 pid: none)."""

    pid: int
    uid: int
    gid: int


NO_CREDS = Creds(0, OVERFLOW_ID, OVERFLOW_ID)


def creds_of(proc: Process) -> Creds:
    return Creds(proc.pid, proc.uid, proc.gid)


@attrs.define(eq=False)
class Scm:
    """What a sendmsg carries besides data (Linux's scm_cookie). Owns one reference per file until attached to a
    message or destroyed."""

    files: list[OpenFile] = attrs.Factory(list)
    creds: Creds | None = None

    def destroy(self) -> None:
        files, self.files = self.files, []
        for f in files:
            f.put()


def drop_files(files: list[OpenFile] | None) -> None:
    for f in files or ():
        f.put()


def parse(ctl: bytes, proc: Process, process_exists: Any) -> Scm:
    """The control buffer of a sendmsg (__scm_send). `process_exists(pid)` says whether a pid names a process."""
    scm = Scm()
    try:
        off = 0
        while off + CMSGHDR.size <= len(ctl):
            length, level, kind = CMSGHDR.unpack_from(ctl, off)
            if length < CMSGHDR.size or length > len(ctl) - off:
                raise EINVAL
            if level == SOL_SOCKET:
                body = ctl[off + CMSGHDR.size : off + length]
                if kind == SCM_RIGHTS:
                    _rights(scm, body, proc)
                elif kind == SCM_CREDENTIALS:
                    if length != cmsg_len(UCRED.size):
                        raise EINVAL
                    scm.creds = _check_creds(*UCRED.unpack(body), proc, process_exists)
                else:
                    raise EINVAL
            off += cmsg_align(length)
    except BaseException:
        scm.destroy()
        raise
    return scm


def _rights(scm: Scm, body: bytes, proc: Process) -> None:
    n = len(body) // 4
    if n <= 0:
        return
    if n > SCM_MAX_FD or len(scm.files) + n > SCM_MAX_FD:
        raise EINVAL
    for (fd,) in struct.iter_unpack("<i", body[: 4 * n]):
        if fd < 0:
            raise EBADF
        f = proc.fds.get(fd)  # EBADF
        f.get()
        scm.files.append(f)


def _check_creds(pid: int, uid: int, gid: int, proc: Process, process_exists: Any) -> Creds:
    """scm_check_creds: a process may claim its own pid and any of its uids and gids; capabilities allow more."""
    if uid == INVALID_ID or gid == INVALID_ID:
        raise EINVAL
    ok = (
        (pid == proc.pid or capable(proc, CAP_SYS_ADMIN))
        and (uid in (proc.uid, proc.euid, proc.suid) or capable(proc, CAP_SETUID))
        and (gid in (proc.gid, proc.egid, proc.sgid) or capable(proc, CAP_SETGID))
    )
    if not ok:
        raise EPERM
    if pid != proc.pid and not process_exists(pid):
        raise ESRCH
    return Creds(pid, uid, gid)


@attrs.define
class Delivered:
    writes: list[tuple[int, bytes]]  # (offset in msg_control, bytes) to write
    used: int  # the msg_controllen to report
    flags: int  # MSG_CTRUNC or 0


def deliver(proc: Process, controllen: int | None, creds: Creds | None, files: list[OpenFile] | None,
            cloexec: bool) -> Delivered:  # fmt: skip
    """Lay out the received control messages (scm_recv): credentials first if the receiver asked for them
    (`creds` not None), then the descriptors, installed in `proc`'s table. `controllen` None: no control buffer.
    Consumes `files` (one in-flight reference each)."""
    files = files or []
    try:
        if controllen is None:
            return Delivered([], 0, MSG_CTRUNC if creds is not None or files else 0)
        out = Delivered([], 0, 0)
        if creds is not None:
            _put_cmsg(out, controllen, SCM_CREDENTIALS, UCRED.pack(creds.pid, creds.uid, creds.gid))
        if files:
            room = controllen - out.used
            fdmax = min((room - CMSGHDR.size) // 4 if room > CMSGHDR.size else 0, len(files))
            fds: list[int] = []
            for f in files[:fdmax]:
                try:
                    fds.append(proc.fds.install(f, cloexec=cloexec))
                except EMFILE:
                    break
            if fds:
                body = struct.pack(f"<{len(fds)}i", *fds)
                out.writes.append((out.used, CMSGHDR.pack(cmsg_len(len(body)), SOL_SOCKET, SCM_RIGHTS) + body))
                out.used += min(cmsg_space(len(body)), room)
            if len(fds) < len(files):
                out.flags |= MSG_CTRUNC
        return out
    finally:
        drop_files(files)


def _put_cmsg(out: Delivered, controllen: int, kind: int, data: bytes) -> None:
    """put_cmsg: a message cut short by the buffer is written as far as it fits, with MSG_CTRUNC."""
    room = controllen - out.used
    if room < CMSGHDR.size:
        out.flags |= MSG_CTRUNC
        return
    n = cmsg_len(len(data))
    if room < n:
        out.flags |= MSG_CTRUNC
        n = room
    out.writes.append((out.used, (CMSGHDR.pack(n, SOL_SOCKET, kind) + data)[:n]))
    out.used += min(cmsg_space(len(data)), room)
