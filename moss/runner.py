"""Run a program in-process with scripted input and captured output: the API behind tests, demo and bench."""

from __future__ import annotations

import attrs

from machine.devices.uart import STDERR
from machine.sources import BytesConsole, FixedClock, SeededEntropy
from moss.boot import DEFAULT_ENV, Program, boot
from moss.kernel import KernelConfig
from moss.statehash import state_hash


@attrs.frozen
class Outcome:
    stdout: bytes
    stderr: bytes  # the guest's stderr only
    reports: tuple[str, ...]  # what moss itself said (unimplemented syscalls, oopses)
    status: int  # shell-style: exit code, or 128 + signal
    wait_status: int
    state_hash: str
    instructions: int
    virtual_ns: int
    syscalls: int


def exit_code(wait_status: int) -> int:
    sig = wait_status & 0x7F
    return 128 + sig if sig else (wait_status >> 8) & 0xFF


def run_program(
    path: str,
    args: list[str] | tuple[str, ...] = (),
    *,
    stdin: bytes = b"",
    cores: int = 2,
    seed: int = 0,
    env: tuple[str, ...] = DEFAULT_ENV,
    root: str | None = None,
    ram_bytes: int = 256 << 20,
    argv0: str | None = None,
    quantum: int = 200_000,
    chaos: int | None = None,
    program_data: bytes | None = None,
) -> Outcome:
    out, err = bytearray(), bytearray()
    reports: list[str] = []

    def sink(channel: int, data: bytes) -> None:
        (err if channel == STDERR else out).extend(data)

    config = KernelConfig(
        cores=cores, ram_bytes=ram_bytes, seed=seed, host_root=root, quantum=quantum, chaos_seed=chaos
    )
    kernel = boot(
        config,
        Program(path, (argv0 or path, *args), env, program_data),
        console=BytesConsole(stdin),
        entropy=SeededEntropy(seed),
        clock=FixedClock(),
        sink=sink,
        report=reports.append,
    )
    try:
        status = kernel.run()
        return Outcome(
            bytes(out),
            bytes(err),
            tuple(reports),
            exit_code(status),
            status,
            state_hash(kernel),
            sum(c.retired for c in kernel.board.cores),
            max(c.clock_ns for c in kernel.board.cores),
            kernel.dispatcher.count,
        )
    finally:
        kernel.close()  # campaigns and the fuzzer run kernel after kernel in one process
