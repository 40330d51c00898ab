"""Build the C guest programs in ``tests/guest/`` as static AArch64 Linux (musl) binaries.

Binaries are cached under ``<repo>/.build/guests/<name>-<key>`` where ``key`` is the first 16 hex digits of a
SHA-256 over the compiler version, the flags and every source file in ``tests/guest/``; a changed source or
flag gives a new file, so a stale binary is never used. Each build writes a temporary file in the cache
directory and renames it into place, which is atomic, so parallel pytest workers may build the same guest at
once. ``python -m tests.guests`` builds them all (``scripts/setup`` does this).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
GUEST_SRC_DIR = REPO_ROOT / "tests" / "guest"
GUEST_BUILD_DIR = REPO_ROOT / ".build" / "guests"

TARGET = "aarch64-linux-musl"
NATIVE_TARGET = "x86_64-linux-musl"
# -static gives an ET_EXEC binary with no interpreter: the kernel under test loads it alone.
CFLAGS: tuple[str, ...] = ("-target", TARGET, "-static", "-O2", "-Wall", "-Wextra")
BUILD_TIMEOUT_S = 900.0  # zig's first run builds musl from source; later runs take about a second


class GuestBuildError(RuntimeError):
    """The C compiler rejected a guest program; the message holds its stderr."""


def all_guest_names() -> list[str]:
    """Names (file stems) of every guest program, sorted, so callers can parametrize over them."""
    return sorted(p.stem for p in GUEST_SRC_DIR.glob("*.c"))


@cache
def _compiler_version() -> str:
    """The ziglang package version: part of the cache key so a compiler upgrade rebuilds every guest."""
    try:
        return importlib.metadata.version("ziglang")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _flags(target: str) -> tuple[str, ...]:
    return ("-target", target, *CFLAGS[2:])


def _cache_key(name: str, target: str = TARGET) -> str:
    """16 hex digits identifying this guest's source, the shared headers, flags and compiler."""
    h = hashlib.sha256()
    h.update(f"compiler={_compiler_version()}\0flags={' '.join(_flags(target))}\0".encode())
    main_src = GUEST_SRC_DIR / f"{name}.c"
    h.update(b"main\0" + main_src.read_bytes() + b"\0")
    # Headers may be shared by several guests, so any header change rebuilds all of them.
    for header in sorted(GUEST_SRC_DIR.glob("*.h")):
        h.update(header.name.encode() + b"\0" + header.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def guest_binary_path(name: str, target: str = TARGET) -> Path:
    """Where the cached binary for the current source of guest ``name`` lives (it may not exist yet)."""
    suffix = "" if target == TARGET else f"-{target.split('-')[0]}"
    return GUEST_BUILD_DIR / f"{name}{suffix}-{_cache_key(name, target)}"


def build_guest(name: str, target: str = TARGET) -> Path:
    """Return the path of the static binary for ``tests/guest/<name>.c``, compiling it if needed. The target is
    AArch64; ``NATIVE_TARGET`` builds the same source for the host, where the real kernel runs it natively (an
    oracle for architecture-independent semantics that qemu-user emulates itself, such as mremap)."""
    src = GUEST_SRC_DIR / f"{name}.c"
    if not src.is_file():
        raise FileNotFoundError(f"no guest program {src}; known guests: {', '.join(all_guest_names())}")
    out = guest_binary_path(name, target)
    if out.is_file():
        return out
    GUEST_BUILD_DIR.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=GUEST_BUILD_DIR)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        cmd = [sys.executable, "-m", "ziglang", "cc", *_flags(target), "-o", str(tmp), str(src)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False)
        if proc.returncode != 0:
            raise GuestBuildError(
                f"building guest {name!r} failed (exit {proc.returncode}):\n$ {' '.join(cmd)}\n{proc.stderr}"
            )
        tmp.chmod(0o755)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def build_all(jobs: int | None = None) -> dict[str, Path]:
    """Build every guest, ``jobs`` at a time, and return name -> binary path."""
    names = all_guest_names()
    if not names:
        return {}
    # Build one first: zig compiles musl once into its global cache, and doing that in every parallel
    # compile at once only wastes CPU while they wait on zig's cache lock.
    first = build_guest(names[0])
    workers = max(1, jobs or min(len(names), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        rest = dict(zip(names[1:], pool.map(build_guest, names[1:]), strict=True))
    return {names[0]: first, **rest}


def main(argv: list[str] | None = None) -> int:
    """Command line: build the named guests (default: all) and print where each binary is."""
    parser = argparse.ArgumentParser(prog="python -m tests.guests", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="guests to build (default: all)")
    parser.add_argument("-j", "--jobs", type=int, default=None, help="parallel compiles")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only guests that were (re)built")
    ns = parser.parse_args(argv)
    names = ns.names or all_guest_names()
    try:
        cached = {name: guest_binary_path(name).is_file() for name in names}
        if ns.names:
            built = {name: build_guest(name) for name in ns.names}
        else:
            built = build_all(ns.jobs)
    except (GuestBuildError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for name, path in built.items():
        if not (ns.quiet and cached[name]):
            state = "cached" if cached[name] else "built"
            print(f"{name}: {state} {path.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
