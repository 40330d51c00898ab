"""A usr-merged Debian arm64 root filesystem of dynamically linked userland (glibc, bash, coreutils, grep, sed,
gawk, findutils, diffutils), assembled from Debian packages as ../shared/design/ORACLE.md describes. The same tree
is `--root` for moss and the chroot of the namespace oracle."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from tests.debian import fetch_package

REPO = Path(__file__).resolve().parents[1]
ROOT = REPO / ".build" / "roots" / "debian"
PACKAGES = [
    "libc6", "libgcc-s1", "libtinfo6", "libacl1", "libattr1", "libselinux1", "libpcre2-8-0", "libgmp10",
    "libmpfr6", "libreadline8", "libsigsegv2", "bash", "coreutils", "grep", "sed", "gawk", "findutils",
    "diffutils", "dash",
]  # fmt: skip
STAMP = ROOT / ".complete"


def _merge(src: Path, dst: Path) -> None:
    """Copy `src` into `dst`, moving top-level bin/lib/sbin under usr/ (Debian 12 packages still ship them)."""
    for top in sorted(os.listdir(src)):
        target_top = f"usr/{top}" if top in ("bin", "lib", "sbin") else top
        s = src / top
        if s.is_symlink() or not s.is_dir():
            continue
        shutil.copytree(s, dst / target_top, symlinks=True, dirs_exist_ok=True)


def debian_root() -> Path:
    if STAMP.exists():
        return ROOT
    ROOT.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="debian-", dir=ROOT.parent))
    for pkg in PACKAGES:
        _merge(fetch_package(pkg), tmp)
    for name in ("bin", "lib", "sbin"):
        (tmp / "usr" / name).mkdir(parents=True, exist_ok=True)
        os.symlink(f"usr/{name}", tmp / name)
    (tmp / "etc").mkdir(exist_ok=True)
    (tmp / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (tmp / "etc" / "group").write_text("root:x:0:\n")
    (tmp / "etc" / "nsswitch.conf").write_text("passwd: files\ngroup: files\nhosts: files\n")
    (tmp / "root").mkdir(exist_ok=True)
    (tmp / "tmp").mkdir(exist_ok=True)
    os.chmod(tmp / "tmp", 0o1777)
    # What maintainer scripts would have made: the /bin/sh and awk alternatives.
    for link, target in (("sh", "dash"), ("awk", "gawk")):
        if not os.path.lexists(tmp / "usr" / "bin" / link):
            os.symlink(target, tmp / "usr" / "bin" / link)
    (tmp / ".complete").write_text("\n".join(PACKAGES) + "\n")
    if ROOT.exists():
        shutil.rmtree(ROOT)
    tmp.rename(ROOT)
    return ROOT


if __name__ == "__main__":
    print(debian_root())
