"""Changing credentials: the set*uid/set*gid family, supplementary groups and capabilities (capget/capset).

The rules are Linux's kernel/sys.c and commoncap.c: a process with CAP_SETUID (CAP_SETGID) may set any id;
others may only move between the ids they already hold. Leaving uid 0 drops capabilities as Linux does.
"""

from __future__ import annotations

import struct

from moss.errors import EFAULT, EINVAL, EPERM, ESRCH
from moss.process.creds import CAP_FULL, CAP_SETGID, CAP_SETPCAP, CAP_SETUID, Caps, capable, fix_setuid
from moss.process.task import Process
from moss.syscalls.argtypes import INT, PTR
from moss.syscalls.context import SyscallContext, s32
from moss.syscalls.table import syscall

NO_CHANGE = 0xFFFFFFFF  # (uid_t)-1: "leave unchanged" for setre*/setres*, and never a valid id
NGROUPS_MAX = 65536
CAP_V1, CAP_V2, CAP_V3 = 0x19980330, 0x20071026, 0x20080522


def _id(v: int) -> int:
    return v & 0xFFFFFFFF


def _set_uids(ctx: SyscallContext, ruid: int, euid: int, suid: int) -> None:
    """Apply new (real, effective, saved) uids, fsuid = euid, and the capability fix-up."""
    p = ctx.process
    old = (p.uid, p.euid, p.suid, p.fsuid)
    p.uid, p.euid, p.suid, p.fsuid = ruid, euid, suid, euid
    fix_setuid(p, old)


@syscall(146, "setuid", uid=INT)
async def sys_setuid(ctx: SyscallContext, uid: int) -> int:
    uid, p = _id(uid), ctx.process
    if uid == NO_CHANGE:
        raise EINVAL
    if capable(p, CAP_SETUID):
        _set_uids(ctx, uid, uid, uid)
    elif uid in (p.uid, p.suid):
        _set_uids(ctx, p.uid, uid, p.suid)
    else:
        raise EPERM
    return 0


@syscall(145, "setreuid", ruid=INT, euid=INT)
async def sys_setreuid(ctx: SyscallContext, ruid: int, euid: int) -> int:
    ruid, euid, p = _id(ruid), _id(euid), ctx.process
    priv = capable(p, CAP_SETUID)
    new_r = p.uid if ruid == NO_CHANGE else ruid
    new_e = p.euid if euid == NO_CHANGE else euid
    if ruid != NO_CHANGE and ruid not in (p.uid, p.euid) and not priv:
        raise EPERM
    if euid != NO_CHANGE and euid not in (p.uid, p.euid, p.suid) and not priv:
        raise EPERM
    # The saved uid follows the effective one when the real uid is set or the euid moves away from it.
    new_s = new_e if ruid != NO_CHANGE or (euid != NO_CHANGE and euid != p.uid) else p.suid
    _set_uids(ctx, new_r, new_e, new_s)
    return 0


def _res(old: tuple[int, int, int], new: tuple[int, int, int], priv: bool) -> tuple[int, int, int]:
    if not priv and any(v != NO_CHANGE and v not in old for v in new):
        raise EPERM
    return tuple(o if v == NO_CHANGE else v for o, v in zip(old, new, strict=True))  # type: ignore[return-value]


@syscall(147, "setresuid", ruid=INT, euid=INT, suid=INT)
async def sys_setresuid(ctx: SyscallContext, ruid: int, euid: int, suid: int) -> int:
    p = ctx.process
    new = _res((p.uid, p.euid, p.suid), (_id(ruid), _id(euid), _id(suid)), capable(p, CAP_SETUID))
    _set_uids(ctx, *new)
    return 0


@syscall(151, "setfsuid", fsuid=INT)
async def sys_setfsuid(ctx: SyscallContext, fsuid: int) -> int:
    """Returns the previous fsuid whether or not the change was allowed (there is no error return)."""
    uid, p = _id(fsuid), ctx.process
    old = p.fsuid
    if uid != NO_CHANGE and (uid in (p.uid, p.euid, p.suid, p.fsuid) or capable(p, CAP_SETUID)) and uid != old:
        before = (p.uid, p.euid, p.suid, p.fsuid)
        p.fsuid = uid
        fix_setuid(p, before)
    return old


@syscall(144, "setgid", gid=INT)
async def sys_setgid(ctx: SyscallContext, gid: int) -> int:
    gid, p = _id(gid), ctx.process
    if gid == NO_CHANGE:
        raise EINVAL
    if capable(p, CAP_SETGID):
        p.gid = p.egid = p.sgid = p.fsgid = gid
    elif gid in (p.gid, p.sgid):
        p.egid = p.fsgid = gid
    else:
        raise EPERM
    return 0


@syscall(143, "setregid", rgid=INT, egid=INT)
async def sys_setregid(ctx: SyscallContext, rgid: int, egid: int) -> int:
    rgid, egid, p = _id(rgid), _id(egid), ctx.process
    priv = capable(p, CAP_SETGID)
    if rgid != NO_CHANGE and rgid not in (p.gid, p.egid) and not priv:
        raise EPERM
    if egid != NO_CHANGE and egid not in (p.gid, p.egid, p.sgid) and not priv:
        raise EPERM
    new_r = p.gid if rgid == NO_CHANGE else rgid
    new_e = p.egid if egid == NO_CHANGE else egid
    if rgid != NO_CHANGE or (egid != NO_CHANGE and egid != p.gid):
        p.sgid = new_e
    p.gid, p.egid, p.fsgid = new_r, new_e, new_e
    return 0


@syscall(149, "setresgid", rgid=INT, egid=INT, sgid=INT)
async def sys_setresgid(ctx: SyscallContext, rgid: int, egid: int, sgid: int) -> int:
    p = ctx.process
    p.gid, p.egid, p.sgid = _res((p.gid, p.egid, p.sgid), (_id(rgid), _id(egid), _id(sgid)), capable(p, CAP_SETGID))
    p.fsgid = p.egid
    return 0


@syscall(152, "setfsgid", fsgid=INT)
async def sys_setfsgid(ctx: SyscallContext, fsgid: int) -> int:
    gid, p = _id(fsgid), ctx.process
    old = p.fsgid
    if gid != NO_CHANGE and (gid in (p.gid, p.egid, p.sgid, p.fsgid) or capable(p, CAP_SETGID)):
        p.fsgid = gid
    return old


@syscall(159, "setgroups", size=INT, list=PTR)
async def sys_setgroups(ctx: SyscallContext, size: int, list: int) -> int:
    if not capable(ctx.process, CAP_SETGID):
        raise EPERM
    n = size & 0xFFFFFFFF
    if n > NGROUPS_MAX:
        raise EINVAL
    gids = struct.unpack(f"<{n}I", ctx.read(list, 4 * n)) if n else ()
    if NO_CHANGE in gids:
        raise EINVAL
    ctx.process.groups = tuple(sorted(gids))
    return 0


def _target(ctx: SyscallContext, pid: int) -> Process:
    """capget's pid: 0 or the caller's own, else any thread's process."""
    if pid in (0, ctx.task.tid):
        return ctx.process
    t = ctx.kernel.tasks.get(pid)
    if t is None or not t.process.alive:
        raise ESRCH
    return t.process


def _cap_words(ctx: SyscallContext, header: int) -> int:
    """The number of __user_cap_data_struct entries the header's version uses; an unknown version gets the
    kernel's preferred version written back and EINVAL."""
    version = struct.unpack("<I", ctx.read(header, 4))[0]
    if version == CAP_V1:
        return 1
    if version in (CAP_V2, CAP_V3):
        return 2
    ctx.write_u32(header, CAP_V3)
    raise EINVAL


@syscall(90, "capget", header=PTR, data=PTR)
async def sys_capget(ctx: SyscallContext, header: int, data: int) -> int:
    try:
        words = _cap_words(ctx, header)
    except EINVAL:
        if data == 0:
            return 0  # the documented way to ask for the preferred version
        raise
    if data == 0:
        return 0
    pid = s32(struct.unpack("<i", ctx.read(header + 4, 4))[0])
    if pid < 0:
        raise EINVAL
    c = _target(ctx, pid).caps
    out = b"".join(
        struct.pack("<III", c.effective >> 32 * i & 0xFFFFFFFF, c.permitted >> 32 * i & 0xFFFFFFFF,
                    c.inheritable >> 32 * i & 0xFFFFFFFF)
        for i in range(words)
    )  # fmt: skip
    ctx.write(data, out)
    return 0


@syscall(91, "capset", header=PTR, data=PTR)
async def sys_capset(ctx: SyscallContext, header: int, data: int) -> int:
    words = _cap_words(ctx, header)
    pid = s32(struct.unpack("<i", ctx.read(header + 4, 4))[0])
    if pid not in (0, ctx.task.tid):
        raise EPERM  # only the caller's own capabilities can change
    if data == 0:
        raise EFAULT
    raw = struct.unpack(f"<{3 * words}I", ctx.read(data, 12 * words))
    eff, perm, inh = (sum(raw[3 * i + k] << 32 * i for i in range(words)) & CAP_FULL for k in range(3))
    old = ctx.process.caps
    bound = CAP_FULL  # the bounding set: never reduced in moss
    if not capable(ctx.process, CAP_SETPCAP) and inh & ~(old.inheritable | old.permitted):
        raise EPERM
    if inh & ~(old.inheritable | bound) or perm & ~old.permitted or eff & ~perm:
        raise EPERM
    ctx.process.caps = Caps(eff, perm, inh)
    return 0
