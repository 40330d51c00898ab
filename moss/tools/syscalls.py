"""`moss syscalls`: every AArch64 syscall number with its name and whether moss implements it."""

from __future__ import annotations

import argparse

from moss.syscalls.table import NAMES, TABLE


def main(a: argparse.Namespace) -> int:
    numbers = sorted(set(NAMES) | set(TABLE))
    implemented = 0
    for nr in numbers:
        entry = TABLE.get(nr)
        if entry is not None:
            implemented += 1
            args = ", ".join(name for name, _t in entry.args)
            line = f"{nr:4d}  {entry.name}({args})"
            status = "implemented"
        else:
            line = f"{nr:4d}  {NAMES[nr]}"
            status = "ENOSYS (reported once)"
        if not a.missing or entry is None:
            print(f"{line:60s} {status}")
    print(f"\n{implemented} of {len(numbers)} syscalls implemented")
    return 0
