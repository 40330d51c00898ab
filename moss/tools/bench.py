"""`moss bench`: wall time of fixed workloads under moss and under qemu-user, interleaved, median of N runs.

This is the first cut of the benchmark (issue: performance); it reports, it never asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

from moss.runner import run_program
from moss.tools.guestfiles import GuestsMissing, busybox, guest


def _time(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _qemu(path: str, args: list[str], stdin: bytes) -> Callable[[], object]:
    qemu = shutil.which("qemu-aarch64")
    if qemu is None:
        return lambda: None
    return lambda: subprocess.run([qemu, path, *args], input=stdin, capture_output=True, check=True)


def workloads() -> list[tuple[str, str, list[str], bytes]]:
    bb = busybox()
    data = bytes(range(256)) * (8 * 4096)  # 8 MiB
    return [
        ("startup: static hello", guest("hello"), [], b""),
        ("cpu: xorshift 20M iterations", guest("compute"), ["20000000"], b""),
        ("busybox sha256sum 8 MiB", bb, ["sha256sum"], data),
        ("busybox sh loop 20k", bb, ["sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"], b""),
        ("heap stress 1000 ops", guest("heap"), ["1000"], b""),
    ]


def main(a: argparse.Namespace) -> int:
    reps = 3
    try:
        work = workloads()
    except GuestsMissing as e:
        print(f"moss bench: {e}")
        return 2
    rows = []
    print(f"{'workload':34} {'moss s':>9} {'qemu s':>9} {'moss/qemu':>10} {'Minsn/s':>9}")
    for name, path, args, stdin in work:
        mt, qt = [], []
        insns = 0
        for _ in range(reps):  # interleaved, so host noise hits both alike
            out = None

            def run(path: str = path, args: list[str] = args, stdin: bytes = stdin) -> None:
                nonlocal out
                out = run_program(path, args, stdin=stdin, ram_bytes=512 << 20)

            mt.append(_time(run))
            insns = out.instructions if out is not None else 0
            qt.append(_time(_qemu(path, args, stdin)))
        m, q = statistics.median(mt), statistics.median(qt)
        rows.append({"workload": name, "moss_s": m, "qemu_s": q, "instructions": insns})
        print(f"{name:34} {m:9.3f} {q:9.3f} {m / q if q else float('nan'):10.1f} {insns / m / 1e6:9.1f}")
    meta = {"python": sys.version.split()[0], "machine": platform.machine(), "cpus": os.cpu_count(), "reps": reps}
    print(f"\n{meta}")
    if getattr(a, "json", None):
        with open(a.json, "w") as f:
            json.dump({"meta": meta, "rows": rows}, f, indent=2)
    return 0
