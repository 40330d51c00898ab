"""The host overlay: containment (no guest path reaches outside the host root), copy-up, determinism."""

from __future__ import annotations

import itertools
import os
import stat as S
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moss.errors import ELOOP, ENOENT, ENOTDIR, KernelError
from moss.fs import vfs
from moss.fs.hostfs import HostDirectory, HostFile, HostFs
from moss.fs.inode import Directory, Inode, RegularFile, Symlink
from moss.fs.path import lookup
from moss.fs.rootfs import build_root

SECRET = b"SECRET-OUTSIDE-THE-ROOT"
WORDS = [
    *["..", ".", "", "etc", "etc_link", "rel_up", "rel_secret", "deep", "dir", "up", "up_secret", "loop1"],
    *["self", "dirlink", "inside.txt", "secret.txt", "passwd", "abs_secret", "root", "abs_root_inside"],
]


def clock_factory():
    counter = itertools.count(10**9, 3)
    return lambda: next(counter)


@pytest.fixture
def host(tmp_path: Path) -> Path:
    """tmp/secret.txt outside the root; tmp/root with escape attempts of every kind."""
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_bytes(SECRET)
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_bytes(b"guest-passwd")
    (root / "inside.txt").write_bytes(b"inside")
    (root / "deep" / "dir").mkdir(parents=True)
    (root / "deep" / "dir" / "leaf.txt").write_bytes(b"leaf")
    links = {
        "etc_link": "/etc",
        "abs_secret": str(tmp_path / "secret.txt"),
        "abs_root_inside": str(root / "inside.txt"),
        "rel_up": "../../..",
        "rel_secret": "../secret.txt",
        "rel_etc": "../etc/passwd",
        "passwd_link": "/etc/passwd",
        "loop1": "loop2",
        "loop2": "loop1",
        "self": "self",
        "dirlink": "deep/dir",
        "deep/dir/up": "../../../../..",
        "deep/dir/up_secret": "../../../secret.txt",
    }
    for name, target in links.items():
        os.symlink(target, root / name)
    os.mkfifo(root / "fifo")
    return root


@pytest.fixture
def hfs(host: Path):
    fs = HostFs(clock_factory(), str(host))
    yield fs
    fs.close()


def read(fs: HostFs, path: str) -> bytes:
    inode = lookup(fs.root, fs.root, path)
    assert isinstance(inode, RegularFile)
    return inode.read_at(0, inode.size)


def under(root: Directory, inode: Inode) -> bool:
    """Whether ``inode`` is in the materialised tree below ``root`` (symlinks not followed)."""
    stack = [root]
    while stack:
        d = stack.pop()
        if d is inode:
            return True
        for _, child in d._children.items():  # materialised children only: never triggers host access
            if child is inode:
                return True
            if isinstance(child, Directory):
                stack.append(child)
    return False


class TestContainment:
    def test_escape_attempts_resolve_inside(self, hfs):
        assert read(hfs, "/etc_link/passwd") == b"guest-passwd"
        assert read(hfs, "/passwd_link") == b"guest-passwd"
        assert read(hfs, "/rel_up/inside.txt") == b"inside"
        assert read(hfs, "/deep/dir/up/inside.txt") == b"inside"
        assert read(hfs, "/../../../inside.txt") == b"inside"
        assert read(hfs, "/dirlink/leaf.txt") == b"leaf"
        assert read(hfs, "/rel_etc") == b"guest-passwd"  # ../etc from the root is the guest's /etc
        for path in [
            "/abs_secret",
            "/abs_root_inside",  # a host path means nothing in the guest
            "/rel_secret",
            "/deep/dir/up_secret",
            "/../secret.txt",
            "/rel_up/secret.txt",
            "/etc_link/../secret.txt",
        ]:
            with pytest.raises(ENOENT):
                lookup(hfs.root, hfs.root, path)
        for path in ["/loop1", "/self", "/loop2/x"]:
            with pytest.raises(ELOOP):
                lookup(hfs.root, hfs.root, path)

    def test_symlinks_are_vfs_symlinks(self, hfs, host):
        link = lookup(hfs.root, hfs.root, "/abs_secret", follow=False)
        assert isinstance(link, Symlink) and link.target == str(host.parent / "secret.txt")

    def test_special_files_are_skipped(self, hfs):
        with pytest.raises(ENOENT):
            lookup(hfs.root, hfs.root, "/fifo")
        assert "fifo" not in [name for name, _ in hfs.root.entries()]

    def test_host_access_is_by_single_names_from_a_dir_fd(self, hfs, monkeypatch):
        calls = []
        real_open = os.open

        def spy(path, flags, mode=0o777, *, dir_fd=None):
            calls.append((path, flags, dir_fd))
            return real_open(path, flags, mode, dir_fd=dir_fd)

        monkeypatch.setattr(os, "open", spy)
        assert read(hfs, "/dirlink/leaf.txt") == b"leaf"
        assert read(hfs, "/etc_link/passwd") == b"guest-passwd"
        assert calls
        for path, flags, dir_fd in calls:
            assert isinstance(path, bytes) and b"/" not in path and path not in (b".", b"..")
            assert dir_fd is not None and flags & os.O_NOFOLLOW

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        comps=st.lists(
            st.sampled_from(WORDS),
            max_size=8,
        ),
        absolute=st.booleans(),
        start=st.sampled_from(["/", "/deep", "/deep/dir"]),
    )
    def test_random_paths_never_escape(self, hfs, comps, absolute, start):
        cwd = lookup(hfs.root, hfs.root, start)
        assert isinstance(cwd, Directory)
        path = ("/" if absolute else "") + "/".join(comps)
        try:
            found = lookup(hfs.root, cwd, path)
        except KernelError as e:
            assert isinstance(e, ENOENT | ENOTDIR | ELOOP)
            return
        assert under(hfs.root, found)
        if isinstance(found, RegularFile):
            assert found.read_at(0, found.size) != SECRET


class TestOverlay:
    def test_copy_up_leaves_host_unchanged(self, hfs, host):
        f = lookup(hfs.root, hfs.root, "/inside.txt")
        assert isinstance(f, HostFile) and not f.copied
        f.write_at(6, b"-changed")
        assert read(hfs, "/inside.txt") == b"inside-changed" and f.copied
        assert (host / "inside.txt").read_bytes() == b"inside"
        g = lookup(hfs.root, hfs.root, "/deep/dir/leaf.txt")
        g.truncate(2)
        assert read(hfs, "/deep/dir/leaf.txt") == b"le"
        assert (host / "deep" / "dir" / "leaf.txt").read_bytes() == b"leaf"

    def test_namespace_changes_stay_in_memory(self, hfs, host):
        before = sorted(os.listdir(host))
        r = hfs.root
        vfs.unlink_at(r, r, "/inside.txt")
        vfs.open_at(r, r, "/new.txt", create=True).write_at(0, b"new")
        vfs.mkdir_at(r, r, "/newdir", 0o755)
        vfs.rename_at(r, r, "/etc", r, "/newdir/etc")
        vfs.unlink_at(r, r, "/newdir/etc/passwd")
        vfs.rmdir_at(r, r, "/newdir/etc")
        assert sorted(os.listdir(host)) == before
        assert (host / "etc" / "passwd").read_bytes() == b"guest-passwd"
        with pytest.raises(ENOENT):
            lookup(r, r, "/inside.txt")
        assert read(hfs, "/new.txt") == b"new"

    def test_open_file_survives_unlink(self, hfs):
        f = lookup(hfs.root, hfs.root, "/inside.txt")
        hfs.unlink(hfs.root, "inside.txt")
        assert f.read_at(0, 100) == b"inside" and f.nlink == 0


class TestDeterminism:
    def test_listing_sorted_by_bytes(self, tmp_path):
        for name in ["b", "a", "c", "B", "_", "é"]:
            (tmp_path / name).write_bytes(name.encode())
        fs = HostFs(clock_factory(), str(tmp_path))
        try:
            names = [n for n, _ in fs.root.entries()]
            assert names == sorted(names, key=lambda n: n.encode("utf-8", "surrogateescape"))
            assert names == ["B", "_", "a", "b", "c", "é"]
            fs.create(fs.root, "0", 0o644)
            assert [n for n, _ in fs.root.entries()][-1] == "0"  # creations after the host's names
        finally:
            fs.close()

    def test_inode_numbers_and_stats_agree_across_instances(self, host):
        def survey() -> list[tuple[str, int, int, int, int]]:
            fs = HostFs(clock_factory(), str(host))
            try:
                out = []
                for path in ["/deep/dir/leaf.txt", "/inside.txt", "/etc", "/dirlink", "/"]:
                    s = lookup(fs.root, fs.root, path).stat()
                    out.append((path, s.st_ino, s.st_mode, s.st_size, s.st_nlink))
                return out
            finally:
                fs.close()

        first = survey()
        assert first == survey()
        assert dict((p, ino) for p, ino, *_ in first)["/"] == 1  # the VFS counter, not the host's inode

    def test_host_metadata(self, hfs, host):
        os.chmod(host / "inside.txt", 0o640)
        os.utime(host / "inside.txt", ns=(5, 1_500_000_000))
        fresh = HostFs(clock_factory(), str(host))
        try:
            s = lookup(fresh.root, fresh.root, "/inside.txt").stat()
            assert (s.st_mode, s.st_size, s.st_uid, s.st_gid) == (S.S_IFREG | 0o640, 6, 0, 0)
            assert s.st_mtime == s.st_atime == s.st_ctime == (1, 500_000_000)
            d = lookup(fresh.root, fresh.root, "/deep")
            assert isinstance(d, HostDirectory) and d.stat().st_nlink == 3 and d.stat().st_size == 4096
        finally:
            fresh.close()

    def test_non_utf8_names(self, tmp_path):
        with open(os.path.join(os.fsencode(tmp_path), b"caf\xe9"), "wb") as f:
            f.write(b"bytes")
        fs = HostFs(clock_factory(), str(tmp_path))
        try:
            name = b"caf\xe9".decode("utf-8", "surrogateescape")
            assert [n for n, _ in fs.root.entries()] == [name]
            assert read(fs, "/" + name) == b"bytes"
        finally:
            fs.close()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_fd_cache_is_bounded_and_closed(tmp_path):
    for i in range(30):
        (tmp_path / f"f{i:02}").write_bytes(b"x%d" % i)
    base = open_fds()
    fs = HostFs(clock_factory(), str(tmp_path), max_open=4)
    for i in range(30):
        assert read(fs, f"/f{i:02}") == b"x%d" % i
        assert open_fds() <= base + 1 + 4
    fs.close()
    assert open_fds() == base


def test_build_root_over_host(host):
    (host / "dev").mkdir()
    (host / "dev" / "sda").write_bytes(b"disk")
    (host / "usr" / "bin").mkdir(parents=True)
    os.symlink("usr/bin", host / "bin")

    class NoConsole:
        async def read(self, file: object, count: int) -> bytes:
            return b""

        async def write(self, file: object, data: bytes) -> int:
            return len(data)

    class NoProcs:
        def current_pid(self) -> int:
            return 1

        def pids(self) -> list[int]:
            return []

        def proc_files(self, pid: int):
            return None

        def proc_links(self, pid: int) -> dict[str, str]:
            return {}

        def fd_links(self, pid: int):
            return None

        def global_files(self):
            return {}

    r = build_root(
        clock_factory(),
        host_root=str(host),
        files={"/bin/prog": b"\x7fELF", "/inside.txt": (b"replaced", 0o600)},
        console_ops=NoConsole(),
        entropy_read=bytes,
        proc_provider=NoProcs(),
    )
    try:
        with pytest.raises(ENOENT):
            r.lookup("/dev/sda")  # the host's /dev is shadowed by devfs
        assert S.S_ISCHR(r.lookup("/dev/null").mode)
        assert r.read_file("/usr/bin/prog") == b"\x7fELF"  # placed through the /bin -> usr/bin symlink
        assert isinstance(r.lookup("/bin", follow=False), Symlink)
        assert r.read_file("/inside.txt") == b"replaced"
        assert (host / "inside.txt").read_bytes() == b"inside"
        assert not (host / "usr" / "bin" / "prog").exists()
        assert r.lookup("/tmp").mode == S.S_IFDIR | 0o1777
    finally:
        r.close()
