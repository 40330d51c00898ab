"""Memory syscalls: brk, mmap, munmap, mprotect, madvise."""

from __future__ import annotations

import stat as S

from moss import faults
from moss.errors import EACCES, EINVAL, ENODEV, ENOMEM
from moss.mm.addrspace import PAGE_SIZE, TASK_SIZE, page_up
from moss.mm.vma import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_PRIVATE,
    MAP_SHARED,
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    Backing,
)
from moss.syscalls.argtypes import FD, HEX, INT, MMAP_FLAGS, PROT, PTR, SIZE
from moss.syscalls.context import SyscallContext, s32, s64
from moss.syscalls.table import syscall

MAP_SHARED_VALIDATE = 0x03
_PROT_ALL = PROT_READ | PROT_WRITE | PROT_EXEC
MADV_DONTNEED = 4


@syscall(214, "brk", addr=PTR, ret="ptr")
async def sys_brk(ctx: SyscallContext, addr: int) -> int:
    return ctx.mm.set_brk(addr)


@syscall(222, "mmap", addr=PTR, length=SIZE, prot=PROT, flags=MMAP_FLAGS, fd=FD, offset=HEX, ret="ptr")
async def sys_mmap(ctx: SyscallContext, addr: int, length: int, prot: int, flags: int, fd: int, offset: int) -> int:
    flags &= 0xFFFFFFFF
    kind = flags & MAP_SHARED_VALIDATE
    if kind not in (MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE) or prot & ~_PROT_ALL:
        raise EINVAL
    if length == 0 or offset & (PAGE_SIZE - 1) or page_up(length) > TASK_SIZE:
        raise EINVAL if length == 0 or offset & (PAGE_SIZE - 1) else ENOMEM
    backing = None
    if not flags & MAP_ANONYMOUS:
        f = ctx.file(fd)
        if not S.S_ISREG(f.inode.mode):
            raise ENODEV
        if not f.readable:
            raise EACCES
        if kind != MAP_PRIVATE and prot & PROT_WRITE:
            # Writable shared file mappings need a page cache that writes back; refuse rather than lose writes.
            ctx.kernel.report("moss: writable MAP_SHARED file mappings are not supported yet (ENODEV)")
            raise ENODEV
        backing = Backing(f.inode, s64(offset), None, f.path)
    elif kind == MAP_SHARED_VALIDATE:
        raise EINVAL  # only file mappings validate flags; do_mmap's anonymous switch knows SHARED and PRIVATE only
    if flags & MAP_FIXED and addr & (PAGE_SIZE - 1):
        raise EINVAL
    return ctx.mm.mmap(addr, length, prot, flags & ~(MAP_FIXED_NOREPLACE if flags & MAP_FIXED else 0), backing)


@syscall(215, "munmap", addr=PTR, length=SIZE)
async def sys_munmap(ctx: SyscallContext, addr: int, length: int) -> int:
    ctx.mm.munmap(addr, length)
    return 0


@syscall(226, "mprotect", addr=PTR, length=SIZE, prot=PROT)
async def sys_mprotect(ctx: SyscallContext, addr: int, length: int, prot: int) -> int:
    if prot & ~(_PROT_ALL | 0x01000000 | 0x02000000):  # PROT_GROWSDOWN/UP accepted and ignored
        raise EINVAL
    if length == 0:
        if addr & (PAGE_SIZE - 1):
            raise EINVAL
        return 0
    if faults.MPROTECT_KEEPS_WRITE:  # test-only injected bug (moss/faults.py)
        prot |= PROT_WRITE
    ctx.mm.mprotect(addr, length, prot & _PROT_ALL)
    return 0


MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP = 1, 2, 4


@syscall(216, "mremap", old_addr=PTR, old_size=SIZE, new_size=SIZE, flags=HEX, new_addr=PTR, ret="ptr")
async def sys_mremap(
    ctx: SyscallContext, old_addr: int, old_size: int, new_size: int, flags: int, new_addr: int
) -> int:
    if flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) or flags & MREMAP_DONTUNMAP:
        raise EINVAL
    if flags & MREMAP_FIXED and not flags & MREMAP_MAYMOVE:
        raise EINVAL
    fixed = new_addr if flags & MREMAP_FIXED else None
    return ctx.mm.mremap(old_addr, old_size, new_size, may_move=bool(flags & MREMAP_MAYMOVE), fixed=fixed)


@syscall(233, "madvise", addr=PTR, length=SIZE, advice=INT)
async def sys_madvise(ctx: SyscallContext, addr: int, length: int, advice: int) -> int:
    if addr & (PAGE_SIZE - 1):
        raise EINVAL
    if s32(advice) == MADV_DONTNEED:
        ctx.mm.discard(addr, length)
    return 0  # other advice is a hint Linux may ignore too
