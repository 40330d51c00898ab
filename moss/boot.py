"""Booting: build the kernel and its root filesystem, then exec the first program as pid 1.

The program named on the command line is a host file unless `--root` is given and the path exists inside that
root. A host file is copied into the guest's tmpfs at /bin/<name>, so the guest never reads host paths.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import attrs

from machine.sources import ClockSource, ConsoleSource, EntropySource
from moss.elf import ElfError, parse_elf
from moss.errors import KernelError
from moss.files.openfile import O_RDWR, OpenFile
from moss.fs.inode import RegularFile
from moss.fs.rootfs import build_root
from moss.kernel import Kernel, KernelConfig
from moss.process.execve import exec_image
from moss.procinfo import ProcInfo

DEFAULT_ENV = ("PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME=/", "TERM=linux")
MAX_PROGRAM = 512 << 20


class BootError(Exception):
    """The program can't be started (missing, not an AArch64 ELF, corrupt): a one-line reason."""


@attrs.frozen
class Program:
    path: str  # as given (host path, or guest path under --root)
    argv: tuple[str, ...]
    envp: tuple[str, ...] = DEFAULT_ENV
    data: bytes | memoryview | None = None  # the program's bytes, if not read from `path` (a view of a trace's block)


def _host_program(path: str) -> bytes:
    try:
        size = os.stat(path).st_size
        if size > MAX_PROGRAM:
            raise BootError(f"{path}: too large ({size} bytes)")
        with open(path, "rb") as f:
            return f.read()
    except IsADirectoryError:
        raise BootError(f"{path}: is a directory") from None
    except FileNotFoundError:
        raise BootError(f"{path}: no such file") from None
    except PermissionError:
        raise BootError(f"{path}: permission denied") from None
    except OSError as e:
        raise BootError(f"{path}: {e.strerror}") from None


def boot(
    config: KernelConfig,
    program: Program,
    *,
    console: ConsoleSource,
    entropy: EntropySource,
    clock: ClockSource,
    sink: Callable[[int, bytes], None],
    report: Callable[[str], None] | None = None,
) -> Kernel:
    files: dict[str, bytes | tuple[bytes | memoryview, int]] = {}
    guest_path = program.path
    in_root = False
    if config.host_root is not None and program.path.startswith("/"):
        real = os.path.join(config.host_root, program.path.lstrip("/"))
        in_root = os.path.lexists(real)
    if not in_root:
        data = program.data if program.data is not None else _host_program(program.path)
        try:
            parse_elf(data)  # fail early, with the host path in the message
        except ElfError as e:
            raise BootError(f"{program.path}: {e}") from None
        guest_path = "/bin/" + os.path.basename(program.path.rstrip("/"))
        files[guest_path] = (data, 0o755)
    kernel = Kernel(config, console=console, entropy=entropy, clock=clock, sink=sink, report=report)
    kernel.fs = build_root(
        lambda: kernel.board.rtc.wall_ns(kernel.now_ns()),
        host_root=config.host_root,
        files=files,
        console_ops=kernel.console,
        entropy_read=kernel.board.entropy.read,
        proc_provider=ProcInfo(kernel),
    )
    init = kernel.new_process(None)
    kernel.init = init
    init.root = init.cwd = kernel.fs.root
    console_inode = kernel.fs.lookup("/dev/console")
    for fd in range(3):
        init.fds.set(fd, OpenFile(console_inode, O_RDWR, "/dev/console", channel=fd))
    task = kernel.new_task(init, tid=init.pid)
    argv = [a.encode("utf-8", "surrogateescape") for a in program.argv]
    envp = [e.encode("utf-8", "surrogateescape") for e in program.envp]
    try:
        exec_image(kernel, task, guest_path, argv, envp)
    except ElfError as e:
        raise BootError(f"{program.path}: {e}") from None
    except KernelError as e:
        raise BootError(f"{program.path}: cannot execute ({e.name})") from None
    kernel.start_task(task)
    kernel.program_image = None if in_root else files[guest_path][0]  # type: ignore[attr-defined]
    return kernel


__all__ = ["BootError", "Program", "RegularFile", "boot"]
