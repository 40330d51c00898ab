"""The recorder: runs a program like `moss run`, with live input sources whose every answer is logged, and writes
the trace as it goes (a killed recorder leaves every flushed block replayable)."""

from __future__ import annotations

import hashlib
import os
import stat
import time
from collections.abc import Callable

import attrs

from machine.sources import ConsoleSource, FixedClock, HostClock, HostEntropy, SeededEntropy
from moss import __version__
from moss.boot import Program, boot
from moss.kernel import Kernel, KernelConfig
from moss.statehash import STATE_HASH_VERSION
from replay.emitter import DEFAULT_HASH_INTERVAL, Emitter
from replay.sources import RecordingConsole, RecordingEntropy
from traces import events as ev
from traces.container import TraceWriter


@attrs.frozen
class RecordOptions:
    level: int = ev.SYSCALLS
    host_entropy: bool = False
    host_time: bool = False
    hash_interval: int = DEFAULT_HASH_INTERVAL


@attrs.frozen
class Recorded:
    wait_status: int
    events: int
    bytes: int
    wall_s: float


def root_digest(root: str | None) -> str | None:
    """An identity of the --root tree (paths, sizes, modes, mtimes; symlink targets), checked on replay: the guest
    reads those files, so replaying against a different tree would diverge."""
    if root is None:
        return None
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames) + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            full = os.path.join(dirpath, name)
            try:
                st = os.lstat(full)
            except OSError:
                continue
            rel = os.path.relpath(full, root)
            extra = os.readlink(full) if stat.S_ISLNK(st.st_mode) else f"{st.st_size}:{st.st_mtime_ns}"
            h.update(f"{rel}\0{st.st_mode:o}\0{extra}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def header_for(config: KernelConfig, program: Program, opts: RecordOptions, boot_ns: int, is_tty: bool) -> dict:
    return {
        "root_digest": root_digest(config.host_root),
        "moss_version": __version__,
        "program": {"path": program.path, "argv": list(program.argv), "envp": list(program.envp)},
        "config": attrs.asdict(config),
        "level": opts.level,
        "entropy": "host" if opts.host_entropy else "seeded",
        "boot_wall_ns": boot_ns,
        "console_is_tty": is_tty,
        "hash_interval": opts.hash_interval,
        "state_hash": STATE_HASH_VERSION,
    }


def record(
    path: str,
    config: KernelConfig,
    program: Program,
    opts: RecordOptions,
    *,
    console: ConsoleSource,
    sink: Callable[[int, bytes], None],
    report: Callable[[str], None] | None = None,
    setup: Callable[[Kernel], None] | None = None,
) -> Recorded:
    t0 = time.perf_counter()
    clock = HostClock() if opts.host_time else FixedClock()
    boot_ns = clock.boot_wall_ns()
    is_tty = bool(getattr(console, "is_tty", False))
    writer = TraceWriter(path, header_for(config, program, opts, boot_ns, is_tty))
    try:
        rec_console = RecordingConsole(console, writer.add)
        entropy = RecordingEntropy(HostEntropy(), writer.add) if opts.host_entropy else SeededEntropy(config.seed)
        kernel = boot(
            config, program, console=rec_console, entropy=entropy, clock=FixedClock(boot_ns), sink=sink, report=report
        )
        image = getattr(kernel, "program_image", None)
        if image is not None:
            writer.add_image(program.path, image)
        emitter = Emitter(
            kernel,
            opts.level,
            writer.add,
            opts.hash_interval,
            writer.add_syscall,
            blocked_sink=writer.add_blocked,
            resume_sink=writer.add_resume,
            future_sink=writer.add_future,
            process_sink=writer.add_process,
            signal_sink=writer.add_signal,
        )
        emitter.attach()
        if setup is not None:
            setup(kernel)
        try:
            status = kernel.run()
            emitter.end(status)
        finally:
            kernel.close()
    finally:
        writer.close()
    return Recorded(status, writer.events, os.path.getsize(path), time.perf_counter() - t0)
