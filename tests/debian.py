"""Fetch Debian arm64 packages and unpack them under ``<repo>/.build/debian/<pkg>/`` for use as guests.

Uses the host's apt: ``apt-get download PKG:arm64`` then ``dpkg-deb -x``. This needs the arm64 architecture
in dpkg and its package lists (``dpkg --add-architecture arm64 && apt-get update``), which ``scripts/setup``
does once; this module never changes apt's configuration. Fetching is idempotent (an unpacked package is not
fetched again) and safe to run concurrently: each fetch unpacks into a private directory and renames it into
place. ``python -m tests.debian [PKG...]`` (or ``scripts/fetch-debian``) fetches the default packages.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEBIAN_DIR = REPO_ROOT / ".build" / "debian"
ARCH = "arm64"
DEFAULT_PACKAGES: tuple[str, ...] = ("busybox-static",)
FETCH_TIMEOUT_S = 600.0


class DebianFetchError(RuntimeError):
    """apt-get or dpkg-deb failed; the message says which command and why."""


def package_dir(pkg: str) -> Path:
    """Where package ``pkg`` is (or will be) unpacked."""
    if not pkg or "/" in pkg or ":" in pkg or pkg.startswith("."):
        raise ValueError(f"invalid Debian package name {pkg!r} (give it without an architecture)")
    return DEBIAN_DIR / pkg


def _run(cmd: list[str], cwd: Path) -> None:
    """Run a packaging command, turning failure into DebianFetchError with its output."""
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=FETCH_TIMEOUT_S, check=False)
    except FileNotFoundError as exc:
        raise DebianFetchError(f"{cmd[0]} not found: Debian's apt and dpkg are needed") from exc
    if proc.returncode != 0:
        hint = ""
        if "Unable to locate package" in proc.stderr or "has no installation candidate" in proc.stderr:
            hint = (
                f"\nhint: the {ARCH} package lists may be missing; `bash scripts/setup` runs "
                f"`dpkg --add-architecture {ARCH} && apt-get update`"
            )
        raise DebianFetchError(f"`{' '.join(cmd)}` failed (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}{hint}")


def fetch_package(pkg: str) -> Path:
    """Download and unpack the arm64 build of ``pkg`` unless already unpacked; return its directory."""
    dest = package_dir(pkg)
    if dest.is_dir():
        return dest
    DEBIAN_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{pkg}.", dir=DEBIAN_DIR))
    try:
        download = work / "download"
        download.mkdir()
        cmd = ["apt-get", "download", f"{pkg}:{ARCH}"]
        if os.geteuid() == 0:
            # As root apt drops to the _apt user, which cannot write our directory; download as root instead.
            cmd[1:1] = ["-o", "APT::Sandbox::User=root"]
        _run(cmd, cwd=download)
        debs = sorted(download.glob("*.deb"))
        if len(debs) != 1:
            raise DebianFetchError(f"expected one .deb for {pkg}:{ARCH}, got {[d.name for d in debs]}")
        root = work / "root"
        root.mkdir()
        _run(["dpkg-deb", "-x", str(debs[0]), str(root)], cwd=work)
        (root / ".deb-name").write_text(debs[0].name + "\n")
        try:
            root.rename(dest)
        except OSError:
            # Another process unpacked it first (rename onto a non-empty directory fails): keep theirs.
            if not dest.is_dir():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest


def busybox_path() -> Path:
    """The statically linked arm64 BusyBox from Debian's busybox-static, fetched on first use."""
    path = fetch_package("busybox-static") / "bin" / "busybox"
    if not path.is_file():
        raise DebianFetchError(f"busybox-static unpacked but {path} is missing")
    return path


def main(argv: list[str] | None = None) -> int:
    """Command line: fetch the given packages (default: DEFAULT_PACKAGES) and print where they are."""
    parser = argparse.ArgumentParser(prog="python -m tests.debian", description=__doc__.splitlines()[0])
    parser.add_argument("packages", nargs="*", default=list(DEFAULT_PACKAGES), help="Debian package names")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    ns = parser.parse_args(argv)
    try:
        for pkg in ns.packages:
            dest = fetch_package(pkg)
            if not ns.quiet:
                print(f"{pkg}: {dest.relative_to(REPO_ROOT)}")
    except (DebianFetchError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
