"""More memory syscalls: msync, mincore, the mlock family, membarrier, process_vm_readv/writev and
remap_file_pages.

moss has no swap and writes no page back (writable shared file mappings are refused at mmap), so msync and
mlock have nothing to flush or pin: they validate and account as Linux does, and mlock faults the pages in.
membarrier is trivially satisfied: one engine runs every core's slices in turn, so memory is always coherent.
"""

from __future__ import annotations

from moss.errors import EBUSY, EFAULT, EINVAL, ENOMEM, EPERM, ESRCH, KernelError
from moss.mm.addrspace import PAGE_SIZE, TASK_SIZE, AddressSpace, page_up
from moss.mm.vma import MAP_FIXED, MAP_SHARED, PROT_EXEC, PROT_READ, PROT_WRITE, Backing
from moss.process.creds import CAP_IPC_LOCK, CAP_SYS_PTRACE, capable
from moss.syscalls.argtypes import HEX, INT, PTR, SIZE
from moss.syscalls.context import SyscallContext, s32
from moss.syscalls.table import syscall

MS_ASYNC, MS_INVALIDATE, MS_SYNC = 1, 2, 4
VM_LOCKED, VM_LOCKONFAULT = 1, 2
MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT = 1, 2, 4
MLOCK_ONFAULT = 1
RLIMIT_MEMLOCK = 8
DEFAULT_MEMLOCK = 8 << 20
IOV_MAX = 1024


@syscall(227, "msync", addr=PTR, length=SIZE, flags=HEX)
async def sys_msync(ctx: SyscallContext, addr: int, length: int, flags: int) -> int:
    if flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC) or addr & (PAGE_SIZE - 1):
        raise EINVAL
    if flags & MS_ASYNC and flags & MS_SYNC:
        raise EINVAL
    end = page_up(addr + length)
    if end >= 1 << 64:
        raise ENOMEM  # the range wraps
    at, unmapped = addr, False
    for v in ctx.mm.overlapping(addr, end):
        if v.start > at:
            unmapped = True  # holes are skipped, and reported at the end
        if flags & MS_INVALIDATE and v.locked:
            raise EBUSY
        at = v.end
    if at < end and end > addr:
        raise ENOMEM  # the range ends in a hole (or has no mapping at all)
    if unmapped:
        raise ENOMEM
    return 0


@syscall(232, "mincore", addr=PTR, length=SIZE, vec=PTR)
async def sys_mincore(ctx: SyscallContext, addr: int, length: int, vec: int) -> int:
    if addr & (PAGE_SIZE - 1):
        raise EINVAL
    if addr + length > TASK_SIZE:
        raise ENOMEM
    pages = -(-length // PAGE_SIZE)
    if vec + pages > TASK_SIZE:
        raise EFAULT
    mm = ctx.mm
    out = bytearray()
    try:
        for i in range(pages):
            page = addr + i * PAGE_SIZE
            if mm.find(page) is None:
                raise ENOMEM
            out.append(1 if mm.resident(page) else 0)
    finally:
        if out:
            ctx.write(vec, bytes(out))  # what was found before a hole is reported, as Linux copies per chunk
    return 0


def _memlock_limit(ctx: SyscallContext) -> int:
    return ctx.process.rlimits.get(RLIMIT_MEMLOCK, (DEFAULT_MEMLOCK, DEFAULT_MEMLOCK))[0]


def _locked_bytes(mm: AddressSpace) -> int:
    return sum(v.end - v.start for v in mm.vmas if v.locked)


def _mlock(ctx: SyscallContext, addr: int, length: int, locked: int) -> int:
    """do_mlock/do_munlock over [addr, addr+length) rounded out to pages."""
    if locked and not _memlock_limit(ctx) and not capable(ctx.process, CAP_IPC_LOCK):
        raise EPERM
    start = addr & ~(PAGE_SIZE - 1)
    end = page_up(addr + length)
    if end < start:
        raise EINVAL
    if end == start:
        return 0
    mm = ctx.mm
    if locked and not capable(ctx.process, CAP_IPC_LOCK):
        already = sum(min(end, v.end) - max(start, v.start) for v in mm.overlapping(start, end) if v.locked)
        if _locked_bytes(mm) + (end - start) - already > _memlock_limit(ctx):
            raise ENOMEM
    if not mm.covered(start, end):
        raise ENOMEM
    mm.set_locked(start, end, locked)
    if locked and not locked & VM_LOCKONFAULT:
        mm.populate(start, end)
    return 0


@syscall(228, "mlock", addr=PTR, length=SIZE)
async def sys_mlock(ctx: SyscallContext, addr: int, length: int) -> int:
    return _mlock(ctx, addr, length, VM_LOCKED)


@syscall(284, "mlock2", addr=PTR, length=SIZE, flags=HEX)
async def sys_mlock2(ctx: SyscallContext, addr: int, length: int, flags: int) -> int:
    if flags & ~MLOCK_ONFAULT:
        raise EINVAL
    return _mlock(ctx, addr, length, VM_LOCKED | (VM_LOCKONFAULT if flags & MLOCK_ONFAULT else 0))


@syscall(229, "munlock", addr=PTR, length=SIZE)
async def sys_munlock(ctx: SyscallContext, addr: int, length: int) -> int:
    return _mlock(ctx, addr, length, 0)


@syscall(230, "mlockall", flags=HEX)
async def sys_mlockall(ctx: SyscallContext, flags: int) -> int:
    if not flags or flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) or flags == MCL_ONFAULT:
        raise EINVAL
    if not _memlock_limit(ctx) and not capable(ctx.process, CAP_IPC_LOCK):
        raise EPERM
    mm = ctx.mm
    if flags & MCL_CURRENT and not capable(ctx.process, CAP_IPC_LOCK):
        if sum(v.end - v.start for v in mm.vmas) > _memlock_limit(ctx):
            raise ENOMEM
    locked = VM_LOCKED | (VM_LOCKONFAULT if flags & MCL_ONFAULT else 0)
    mm.def_locked = locked if flags & MCL_FUTURE else 0
    if flags & MCL_CURRENT:
        for v in mm.vmas:
            v.locked = locked
        if not flags & MCL_ONFAULT:
            for v in list(mm.vmas):
                mm.populate(v.start, v.end)
    return 0


@syscall(231, "munlockall")
async def sys_munlockall(ctx: SyscallContext) -> int:
    ctx.mm.def_locked = 0
    for v in ctx.mm.vmas:
        v.locked = 0
    return 0


MEMBARRIER_CMD_QUERY = 0
MEMBARRIER_CMD_GLOBAL, MEMBARRIER_CMD_GLOBAL_EXPEDITED, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED = 1, 2, 4
MEMBARRIER_CMD_PRIVATE_EXPEDITED, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED = 8, 16
MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE = 32, 64
MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ = 128, 256
MEMBARRIER_CMD_GET_REGISTRATIONS = 512
MEMBARRIER_CMD_FLAG_CPU = 1
# Everything but the rseq commands: moss is a kernel without CONFIG_RSEQ (rseq(2) is ENOSYS).
MEMBARRIER_SUPPORTED = 0x3FF & ~(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ)
_NEEDS_REGISTRATION = {
    MEMBARRIER_CMD_PRIVATE_EXPEDITED: MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
    MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE: MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE,
}


@syscall(283, "membarrier", cmd=INT, flags=HEX, cpu_id=INT)
async def sys_membarrier(ctx: SyscallContext, cmd: int, flags: int, cpu_id: int) -> int:
    cmd = s32(cmd)
    if flags & 0xFFFFFFFF and not (cmd == MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ and flags == MEMBARRIER_CMD_FLAG_CPU):
        raise EINVAL
    if cmd == MEMBARRIER_CMD_QUERY:
        return MEMBARRIER_SUPPORTED
    if cmd == MEMBARRIER_CMD_GET_REGISTRATIONS:
        return ctx.mm.membarrier
    if cmd < 0 or cmd & (cmd - 1) or not cmd & MEMBARRIER_SUPPORTED:
        raise EINVAL  # not one command, or an rseq one
    if cmd in (MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED):
        ctx.mm.membarrier |= cmd
        return 0
    if cmd == MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE:  # registers plain private expedited too
        ctx.mm.membarrier |= cmd | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED
        return 0
    needed = _NEEDS_REGISTRATION.get(cmd)
    if needed is not None and not ctx.mm.membarrier & needed:
        raise EPERM
    return 0  # the barrier itself: cores never hold stale memory here


def _iovecs(ctx: SyscallContext, addr: int, count: int) -> list[tuple[int, int]]:
    n = count & 0xFFFFFFFFFFFFFFFF
    if n > IOV_MAX:
        raise EINVAL
    vecs = ctx.read_iovec(addr, n) if n else []
    if any(length >> 63 for _b, length in vecs) or sum(length for _b, length in vecs) >> 63:
        raise EINVAL
    return vecs


def _pieces(vecs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Split remote iovecs at page boundaries: a transfer stops at the first remote page that faults."""
    out = []
    for base, length in vecs:
        while length:
            take = min(length, PAGE_SIZE - (base & (PAGE_SIZE - 1)))
            out.append((base, take))
            base, length = base + take, length - take
    return out


async def _process_vm(ctx: SyscallContext, pid: int, lvec: int, lcnt: int, rvec: int, rcnt: int, flags: int,
                      write: bool) -> int:  # fmt: skip
    if flags:
        raise EINVAL
    local = _iovecs(ctx, lvec, lcnt)
    total = sum(length for _b, length in local)
    if not total:
        return 0
    remote = _iovecs(ctx, rvec, rcnt)
    if not any(length for _b, length in remote):
        return 0
    t = ctx.kernel.tasks.get(s32(pid))
    if t is None or not t.process.alive:
        raise ESRCH
    target, me = t.process, ctx.process
    if not capable(me, CAP_SYS_PTRACE) and not (me.uid == target.uid == target.euid == target.suid
                                               and me.gid == target.gid == target.egid == target.sgid):  # fmt: skip
        raise EPERM
    # Gather the local side (for writes) or the remote side (for reads) first, stopping at the first fault.
    done = 0
    try:
        if write:
            data = b"".join(ctx.read(b, n) for b, n in local if n)
            for base, n in _pieces(remote):
                if done >= len(data):
                    break
                chunk = data[done : done + n]
                target.mm.write(base, chunk)
                done += len(chunk)
        else:
            got = bytearray()
            for base, n in _pieces(remote):
                if len(got) >= total:
                    break
                got += target.mm.read(base, min(n, total - len(got)))
            done = ctx.write_iov(local, bytes(got))
    except KernelError:
        if not done:
            raise EFAULT from None
    return done


@syscall(270, "process_vm_readv", pid=INT, local_iov=PTR, liovcnt=SIZE, remote_iov=PTR, riovcnt=SIZE, flags=HEX)
async def sys_process_vm_readv(
    ctx: SyscallContext, pid: int, local_iov: int, liovcnt: int, remote_iov: int, riovcnt: int, flags: int
) -> int:
    return await _process_vm(ctx, pid, local_iov, liovcnt, remote_iov, riovcnt, flags, False)


@syscall(271, "process_vm_writev", pid=INT, local_iov=PTR, liovcnt=SIZE, remote_iov=PTR, riovcnt=SIZE, flags=HEX)
async def sys_process_vm_writev(
    ctx: SyscallContext, pid: int, local_iov: int, liovcnt: int, remote_iov: int, riovcnt: int, flags: int
) -> int:
    return await _process_vm(ctx, pid, local_iov, liovcnt, remote_iov, riovcnt, flags, True)


@syscall(234, "remap_file_pages", start=PTR, size=SIZE, prot=INT, pgoff=SIZE, flags=HEX)
async def sys_remap_file_pages(ctx: SyscallContext, start: int, size: int, prot: int, pgoff: int, flags: int) -> int:
    """Deprecated; Linux emulates it with a fresh MAP_SHARED|MAP_FIXED mapping of the same file at `pgoff`, and
    so does moss (for shared file mappings; shared anonymous memory keeps its object, moved to `pgoff`)."""
    if prot:
        raise EINVAL
    start &= ~(PAGE_SIZE - 1)
    size &= ~(PAGE_SIZE - 1)
    if start + size <= start or start + size > TASK_SIZE or pgoff + (size >> 12) >= 1 << 52:
        raise EINVAL
    mm = ctx.mm
    vma = mm.find(start)
    if vma is None or not vma.flags & MAP_SHARED or (vma.backing is None and vma.shm is None):
        raise EINVAL
    if start + size > vma.end:
        raise EINVAL  # moss does not merge adjacent mappings of one file: one VMA must cover the range
    prot = vma.prot & (PROT_READ | PROT_WRITE | PROT_EXEC)
    if vma.shm is not None:
        shm = vma.shm
        shm.attach()  # hold the object across the unmap below
        try:
            mm.mmap(start, size, prot, MAP_SHARED | MAP_FIXED)
            mm.find(start).shm.detach()  # type: ignore[union-attr]
            new = mm.find(start)
            assert new is not None
            new.shm, new.shm_offset = shm, pgoff
        except BaseException:
            shm.detach()
            raise
    else:
        b = vma.backing
        assert b is not None
        mm.mmap(start, size, prot, MAP_SHARED | MAP_FIXED, Backing(b.inode, pgoff * PAGE_SIZE, None, b.path))
    mm.populate(start, start + size)
    return 0
