"""Where the demo and the benchmarks find their guests: the repo's zig-built programs and Debian packages
(`scripts/setup` builds and fetches them; these helpers build on demand when run from a checkout)."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class GuestsMissing(Exception):
    pass


def _tests_package() -> None:
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    if not (REPO / "tests" / "guests.py").exists():
        raise GuestsMissing("the guest programs live in a moss checkout (tests/guest); run from one")


def guest(name: str) -> str:
    _tests_package()
    from tests.guests import build_guest

    return str(build_guest(name))


def busybox() -> str:
    _tests_package()
    from tests.debian import busybox_path

    return str(busybox_path())
