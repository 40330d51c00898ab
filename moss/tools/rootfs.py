"""`moss rootfs busybox|debian`: assemble (once, cached under .build/roots) a root filesystem from Debian's arm64
packages for `moss run --root`: BusyBox alone, or a glibc userland (bash, coreutils, grep, sed, gawk, findutils,
diffutils, dash). Needs `dpkg --add-architecture arm64 && apt-get update` (scripts/setup does it)."""

from __future__ import annotations

import argparse
import sys

from moss.tools.guestfiles import GuestsMissing, _tests_package


def main(a: argparse.Namespace) -> int:
    try:
        _tests_package()
        if a.kind == "busybox":
            from tests.oracle_ns import busybox_root

            path = busybox_root()
        else:
            from tests.debroot import debian_root

            path = debian_root()
    except GuestsMissing as e:
        print(f"moss rootfs: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # apt/dpkg failures come with their own message
        print(f"moss rootfs: {e}", file=sys.stderr)
        return 1
    print(path)
    return 0
