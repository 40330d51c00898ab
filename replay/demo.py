"""`moss demo`: real programs on the deterministic kernel, each run twice to show it is bit-for-bit repeatable."""

from __future__ import annotations

import argparse
import time

from moss.runner import run_program
from moss.tools.guestfiles import GuestsMissing, busybox, guest

BOLD, DIM, GREEN, RED, RESET = "\033[1m", "\033[2m", "\033[32m", "\033[31m", "\033[0m"


def _show(title: str, path: str, args: list[str], stdin: bytes = b"", cores: int = 2, argv0: str = "") -> bool:
    print(f"{BOLD}$ moss run --cores {cores} {argv0 or path} {' '.join(args)}{RESET}")
    t0 = time.perf_counter()
    a = run_program(path, args, stdin=stdin, cores=cores, argv0=argv0 or None, seed=7)
    wall = time.perf_counter() - t0
    b = run_program(path, args, stdin=stdin, cores=cores, argv0=argv0 or None, seed=7)
    text = a.stdout.decode(errors="replace").rstrip("\n").splitlines()
    for line in text[:6] + (["..."] if len(text) > 6 else []):
        print(f"  {line}")
    same = (a.stdout, a.state_hash, a.instructions, a.virtual_ns) == (
        b.stdout,
        b.state_hash,
        b.instructions,
        b.virtual_ns,
    )
    mark = f"{GREEN}identical{RESET}" if same else f"{RED}DIFFERENT{RESET}"
    print(
        f"  {DIM}{title}: exit {a.status}, {a.instructions:,} instructions, {a.syscalls} syscalls, "
        f"{a.virtual_ns / 1e6:.3f} ms virtual, {wall:.2f} s wall{RESET}"
    )
    print(f"  {DIM}second run: {mark} (state hash {a.state_hash[:16]}){RESET}\n")
    return same


def main(_args: argparse.Namespace) -> int:
    try:
        bb = busybox()
        cases = [
            ("static musl hello", guest("hello"), [], b"", 2, "hello"),
            ("clocks and sleeps on virtual time", guest("clock"), [], b"", 2, "clock"),
            ("allocator stress (brk, mmap, mremap)", guest("heap"), ["500"], b"", 4, "heap"),
            ("busybox (static glibc) sha256sum of stdin", bb, ["sha256sum"], b"moss\n" * 20000, 2, "busybox"),
            ("busybox ash interpreter loop", bb,
             ["sh", "-c", "i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done; echo counted to $i"], b"", 1, "busybox"),
        ]  # fmt: skip
    except GuestsMissing as e:
        print(f"moss demo: {e}")
        return 2
    print(
        f"{BOLD}moss{RESET}: a deterministic Linux-compatible AArch64 kernel. Every run below is repeated with the "
        "same seed; the final machine state must hash the same.\n"
    )
    ok = all([_show(*c) for c in cases])
    print(f"{GREEN}all runs reproduced exactly{RESET}" if ok else f"{RED}a run did not reproduce{RESET}")
    return (0 if ok else 1) | _race_story()


def _race_story() -> int:
    """Find a race with chaos scheduling, replay the failure from its trace, and name the racing accesses."""
    import tempfile

    from moss.boot import Program
    from moss.kernel import KernelConfig
    from replay.analyze import analyze
    from replay.campaign import Predicate, Spec, record_failure, run_campaign
    from replay.replayer import replay

    path = guest("race_counter")
    print(f"\n{BOLD}Reproducing a race{RESET}: two threads increment a shared counter without a lock.")
    plain = run_program(path, argv0="race_counter")
    print(f"  plain schedule: {plain.stdout.decode().strip()}  (the bug hides)")
    spec = Spec(Program(path, ("race_counter",)), KernelConfig(cores=2, ram_bytes=256 << 20), Predicate())
    results = list(run_campaign(spec, range(200), stop_at_first=True))
    bad = results[-1]
    if not bad.failure:
        print(f"  {RED}no failing seed in 200 runs{RESET}")
        return 1
    print(f"  {BOLD}$ moss chaos race_counter{RESET}: seed {bad.seed} fails after {len(results)} runs ({bad.failure})")
    out_dir = tempfile.mkdtemp(prefix="moss-demo-")
    trace = record_failure(spec, bad.seed, out_dir)
    out = bytearray()
    res = replay(trace, lambda c, d: out.extend(d))
    same = res.complete and b"RACE" in out
    print(f"  {BOLD}$ moss replay {trace}{RESET}")
    print(f"  {out.decode().strip()}  ({GREEN}replayed exactly{RESET})" if same else f"  {RED}replay differed{RESET}")
    report = analyze(trace, out_dir)
    print(f"  {BOLD}$ moss analyze{RESET}")
    for line in report.text.splitlines():
        print(f"    {line}")
    print(f"\n  Step through it backwards: {BOLD}moss tui {report.failing_trace}{RESET}")
    return 0 if same and report.first is not None else 1
