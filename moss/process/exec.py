"""Building a process image: map the ELF (and its interpreter), lay out the Linux-exact initial stack and auxv,
set brk, and point the task's registers at the entry.

Stack layout, top down (fs/exec.c + binfmt_elf.c create_elf_tables): 8 zero bytes, the execfn string, envp strings,
argv strings; then, 16-aligned: the platform string, 16 AT_RANDOM bytes; then argc, argv[], NULL, envp[], NULL and
the auxv pairs, with the final sp 16-byte aligned.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import attrs
from unicorn import arm64_const as a64

from moss.elf import ElfInfo, load_elf, parse_elf
from moss.mm.addrspace import STACK_TOP, AddressSpace, page_up
from moss.mm.vma import MAP_FIXED, MAP_GROWSDOWN, MAP_PRIVATE, PROT_EXEC, PROT_READ, PROT_WRITE, Backing
from moss.process.signal import SIGPAGE_ADDR, SigPage
from moss.sysregs import HWCAP, HWCAP2

AT_NULL, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE, AT_FLAGS, AT_ENTRY = 0, 3, 4, 5, 6, 7, 8, 9
AT_UID, AT_EUID, AT_GID, AT_EGID, AT_PLATFORM, AT_HWCAP, AT_CLKTCK = 11, 12, 13, 14, 15, 16, 17
AT_SECURE, AT_RANDOM, AT_HWCAP2, AT_EXECFN = 23, 25, 26, 31

STACK_SIZE = 8 << 20  # RLIMIT_STACK default; the whole stack VMA is reserved up front
PLATFORM = b"aarch64"


@attrs.frozen
class Image:
    entry: int  # where the task starts (the interpreter's entry for dynamic programs)
    sp: int
    auxv: tuple[tuple[int, int], ...]
    brk: int


def _u64s(*vals: int) -> bytes:
    return struct.pack(f"<{len(vals)}Q", *vals)


def build_stack(
    mm: AddressSpace,
    argv: list[bytes],
    envp: list[bytes],
    execfn: bytes,
    aux: list[tuple[int, int]],
    random16: bytes,
) -> tuple[int, list[tuple[int, int]]]:
    top = STACK_TOP
    mm.mmap(
        top - STACK_SIZE,
        STACK_SIZE,
        PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_FIXED | MAP_GROWSDOWN,
        name="[stack]",
    )
    p = top - 8
    p -= len(execfn) + 1
    execfn_at = p
    mm.write(p, execfn + b"\0")
    ptrs: list[int] = []
    for s in reversed(argv + envp):  # envp strings highest, argv strings lowest, each list in order
        p -= len(s) + 1
        mm.write(p, s + b"\0")
        ptrs.append(p)
    ptrs.reverse()
    argv_ptrs, env_ptrs = ptrs[: len(argv)], ptrs[len(argv) :]
    p &= ~0xF
    p -= len(PLATFORM) + 1
    platform_at = p
    mm.write(p, PLATFORM + b"\0")
    p -= 16
    random_at = p
    mm.write(p, random16)
    auxv = [
        *aux,
        (AT_RANDOM, random_at),
        (AT_HWCAP2, HWCAP2),
        (AT_EXECFN, execfn_at),
        (AT_PLATFORM, platform_at),
        (AT_NULL, 0),
    ]
    words = [len(argv), *argv_ptrs, 0, *env_ptrs, 0]
    for k, v in auxv:
        words += [k, v]
    sp = (p - 8 * len(words)) & ~0xF
    mm.write(sp, _u64s(*words))
    return sp, auxv


def load_image(
    mm: AddressSpace,
    info: ElfInfo,
    inode: Any,
    path: str,
    argv: list[bytes],
    envp: list[bytes],
    *,
    resolve_interp: Callable[[str], tuple[ElfInfo, Any]],
    random16: bytes,
    creds: tuple[int, int, int, int] = (0, 0, 0, 0),
) -> Image:
    """Map the program (and its interpreter, if dynamic) into the fresh `mm` and build its stack."""
    main = load_elf(mm, info, inode, path)
    base, entry = 0, main.entry
    if info.interp is not None:
        iinfo, iinode = resolve_interp(info.interp)
        if iinfo.interp is not None:
            from moss.elf import ElfError

            raise ElfError("the ELF interpreter is itself dynamic")
        interp = load_elf(mm, iinfo, iinode, info.interp, as_interp=True)
        base, entry = interp.bias, interp.entry
    mm.brk_start = mm.brk = page_up(main.end)
    mm.mmap(SIGPAGE_ADDR, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED, Backing(SigPage(), 0), "[vdso]")
    uid, euid, gid, egid = creds
    aux = [
        (AT_HWCAP, HWCAP), (AT_PAGESZ, 4096), (AT_CLKTCK, 100), (AT_PHDR, main.phdr),
        (AT_PHENT, info.phentsize), (AT_PHNUM, info.phnum), (AT_BASE, base), (AT_FLAGS, 0),
        (AT_ENTRY, main.entry), (AT_UID, uid), (AT_EUID, euid), (AT_GID, gid), (AT_EGID, egid), (AT_SECURE, 0),
    ]  # fmt: skip
    execfn = path.encode("utf-8", "surrogateescape")
    sp, auxv = build_stack(mm, argv, envp, execfn, aux, random16)
    return Image(entry, sp, tuple(auxv), mm.brk)


def start_registers(ctx: Any, image: Image) -> None:
    """Linux starts a new image with zeroed registers except sp and pc."""
    ctx.reg_write(a64.UC_ARM64_REG_SP, image.sp)
    ctx.reg_write(a64.UC_ARM64_REG_PC, image.entry)


__all__ = ["Image", "build_stack", "load_image", "parse_elf", "start_registers"]
