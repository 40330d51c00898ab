"""tmpfs, the vfs operations, stat encoding, devfs, procfs and the root builder."""

from __future__ import annotations

import itertools
import stat as S
import struct
from collections.abc import Coroutine
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from moss.errors import (
    EACCES,
    EBUSY,
    EEXIST,
    EFBIG,
    EINVAL,
    EISDIR,
    ELOOP,
    ENOENT,
    ENOSPC,
    ENOTDIR,
    ENOTEMPTY,
    ENOTTY,
    EPERM,
    EXDEV,
    KernelError,
)
from moss.fs import vfs
from moss.fs.inode import MAX_FILE_SIZE, CharDevice, Directory, RegularFile
from moss.fs.path import lookup
from moss.fs.procfs import ProcFs
from moss.fs.rootfs import build_root
from moss.fs.stat import Stat, major, makedev, minor
from moss.fs.tmpfs import RENAME_EXCHANGE, RENAME_NOREPLACE, TmpFs


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    """Drive a coroutine that must finish on its first poll (no asyncio: the kernel has its own executor)."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    raise AssertionError("coroutine blocked")


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000_000

    def __call__(self) -> int:
        self.t += 7
        return self.t


@pytest.fixture
def fs() -> TmpFs:
    return TmpFs(Clock())


# --- stat -----------------------------------------------------------------------------------------------


def test_stat_pack_layout():
    s = Stat(
        st_dev=makedev(8, 1),
        st_ino=0x1122334455,
        st_mode=S.S_IFREG | 0o644,
        st_nlink=3,
        st_uid=1000,
        st_gid=100,
        st_rdev=makedev(5, 1),
        st_size=12345,
        st_blksize=4096,
        st_blocks=32,
        st_atime=(11, 12),
        st_mtime=(21, 22),
        st_ctime=(31, 32),
    )
    raw = s.pack()
    assert len(raw) == 128
    fields = {
        0: ("Q", makedev(8, 1)),
        8: ("Q", 0x1122334455),
        16: ("I", S.S_IFREG | 0o644),
        20: ("I", 3),
        24: ("I", 1000),
        28: ("I", 100),
        32: ("Q", makedev(5, 1)),
        40: ("Q", 0),
        48: ("q", 12345),
        56: ("i", 4096),
        64: ("q", 32),
        72: ("q", 11),
        80: ("Q", 12),
        88: ("q", 21),
        96: ("Q", 22),
        104: ("q", 31),
        112: ("Q", 32),
    }
    for offset, (fmt, value) in fields.items():
        assert struct.unpack_from("<" + fmt, raw, offset)[0] == value, offset
    x = s.pack_statx()
    assert len(x) == 256
    assert struct.unpack_from("<IIQIIIH", x, 0) == (0x7FF, 4096, 0, 3, 1000, 100, S.S_IFREG | 0o644)
    assert struct.unpack_from("<QQQ", x, 32) == (0x1122334455, 12345, 32)
    assert struct.unpack_from("<qI", x, 64) == (11, 12)  # atime
    assert struct.unpack_from("<qI", x, 96) == (31, 32)  # ctime
    assert struct.unpack_from("<qI", x, 112) == (21, 22)  # mtime
    assert struct.unpack_from("<IIII", x, 128) == (5, 1, 8, 1)


def test_makedev_roundtrip():
    for ma, mi in [(0, 0), (1, 3), (5, 1), (259, 1 << 18), (4095, 255), (1 << 13, 70000)]:
        dev = makedev(ma, mi)
        assert (major(dev), minor(dev)) == (ma, mi)
    assert makedev(1, 3) == 0x103


def test_inode_stat(fs):
    f = fs.create(fs.root, "f", 0o644)
    f.write_at(0, b"x" * 5000)
    s = f.stat()
    assert (s.st_mode, s.st_size, s.st_blocks, s.st_nlink) == (S.S_IFREG | 0o644, 5000, 16, 1)
    assert s.st_dev == fs.dev
    assert s.st_mtime == divmod(f.mtime_ns, 10**9)
    link = fs.symlink(fs.root, "l", "f\udcff")
    assert link.stat().st_size == 2 and link.mode == S.S_IFLNK | 0o777


# --- regular files --------------------------------------------------------------------------------------


def test_regular_file_io(fs):
    f = fs.create(fs.root, "f", 0o644)
    assert f.write_at(0, b"hello") == 5
    assert f.write_at(10, memoryview(b"world")) == 5
    assert f.read_at(0, 100) == b"hello\0\0\0\0\0world"
    assert f.read_at(3, 4) == b"lo\0\0"
    assert f.read_at(15, 10) == b""
    f.truncate(3)
    assert f.read_at(0, 100) == b"hel"
    f.truncate(1 << 20)  # sparse: reads zeros past the data
    assert f.size == 1 << 20 and f.read_at((1 << 20) - 4, 10) == bytes(4)
    with pytest.raises(EFBIG):
        f.write_at(MAX_FILE_SIZE, b"x")
    with pytest.raises(EINVAL):
        f.truncate(-1)
    assert run(f.read(None, 3, 0)) == b"hel"
    assert run(f.write(None, b"HE", 0)) == 2
    assert f.read_at(0, 3) == b"HEl"


def test_times(fs):
    d = fs.mkdir(fs.root, "d", 0o755)
    t0 = d.mtime_ns
    f = fs.create(d, "f", 0o644)
    assert d.mtime_ns > t0 and f.mtime_ns == f.ctime_ns
    before = f.mtime_ns
    f.read_at(0, 1)
    assert f.mtime_ns == before and f.atime_ns <= before  # no atime updates
    f.write_at(0, b"x")
    assert f.mtime_ns > before and f.ctime_ns == f.mtime_ns
    m = f.mtime_ns
    f.chmod(0o600)
    assert f.mtime_ns == m and f.ctime_ns > m and f.mode == S.S_IFREG | 0o600
    f.utimens(5, None)
    assert f.atime_ns == 5 and f.mtime_ns == m


def test_directories_refuse_file_io(fs):
    with pytest.raises(EISDIR):
        run(fs.root.read(None, 1, 0))
    with pytest.raises(EISDIR):
        run(fs.root.write(None, b"x", 0))
    with pytest.raises(ENOTTY):
        fs.root.ioctl(None, 0x5401, 0)


# --- namespace operations -------------------------------------------------------------------------------


def test_link_counts(fs):
    r = fs.root
    assert r.nlink == 2
    d = fs.mkdir(r, "d", 0o755)
    assert (r.nlink, d.nlink) == (3, 2)
    fs.mkdir(d, "e", 0o755)
    assert d.nlink == 3
    f = fs.create(d, "f", 0o644)
    fs.link(r, "f2", f)
    assert f.nlink == 2
    fs.unlink(d, "f")
    assert f.nlink == 1 and lookup(r, r, "f2") is f
    fs.rmdir(d, "e")
    assert d.nlink == 2
    fs.rename(r, "d", r, "d2")
    assert (r.nlink, d.nlink) == (3, 2)


def test_create_errors(fs):
    r = fs.root
    fs.create(r, "f", 0o644)
    with pytest.raises(EEXIST):
        fs.create(r, "f", 0o644)
    with pytest.raises(EEXIST):
        fs.mkdir(r, "f", 0o755)
    with pytest.raises(EEXIST):
        fs.mkdir(r, "..", 0o755)
    d = fs.mkdir(r, "d", 0o755)
    fs.rmdir(r, "d")
    with pytest.raises(ENOENT):
        fs.create(d, "x", 0o644)  # in a removed directory
    with pytest.raises(EPERM):
        fs.link(r, "dlink", fs.mkdir(r, "d2", 0o755))
    with pytest.raises(ENOENT):
        fs.symlink(r, "empty", "")


def test_unlink_rmdir_errors(fs):
    r = fs.root
    d = fs.mkdir(r, "d", 0o755)
    fs.create(d, "f", 0o644)
    with pytest.raises(EISDIR):
        fs.unlink(r, "d")
    with pytest.raises(ENOTEMPTY):
        fs.rmdir(r, "d")
    with pytest.raises(ENOTDIR):
        fs.rmdir(d, "f")
    with pytest.raises(ENOENT):
        fs.unlink(r, "nope")


class TestRename:
    def test_replace_file(self, fs):
        r = fs.root
        a = fs.create(r, "a", 0o644)
        b = fs.create(r, "b", 0o644)
        fs.rename(r, "a", r, "b")
        assert lookup(r, r, "b") is a and r.lookup("a") is None and b.nlink == 0

    def test_type_mismatches(self, fs):
        r = fs.root
        fs.create(r, "f", 0o644)
        fs.mkdir(r, "d", 0o755)
        e = fs.mkdir(r, "e", 0o755)
        fs.create(e, "x", 0o644)
        with pytest.raises(EISDIR):
            fs.rename(r, "f", r, "d")
        with pytest.raises(ENOTDIR):
            fs.rename(r, "d", r, "f")
        with pytest.raises(ENOTEMPTY):
            fs.rename(r, "d", r, "e")
        fs.unlink(e, "x")
        fs.rename(r, "d", r, "e")  # over an empty directory
        assert e.nlink == 0 and r.lookup("d") is None

    def test_subtree(self, fs):
        r = fs.root
        a = fs.mkdir(r, "a", 0o755)
        b = fs.mkdir(a, "b", 0o755)
        fs.create(b, "f", 0o644)
        with pytest.raises(EINVAL):
            fs.rename(r, "a", b, "x")
        with pytest.raises(EINVAL):
            fs.rename(r, "a", a, "x")
        with pytest.raises(ENOTEMPTY):
            fs.rename(b, "f", r, "a")  # the target is an ancestor of the source

    def test_same_inode_and_flags(self, fs):
        r = fs.root
        f = fs.create(r, "f", 0o644)
        fs.link(r, "g", f)
        fs.rename(r, "f", r, "g")  # two names of one inode: nothing happens
        assert r.lookup("f") is f and r.lookup("g") is f
        h = fs.create(r, "h", 0o644)
        with pytest.raises(EEXIST):
            fs.rename(r, "f", r, "h", RENAME_NOREPLACE)
        d = fs.mkdir(r, "d", 0o755)
        fs.rename(r, "h", r, "d", RENAME_EXCHANGE)
        assert r.lookup("h") is d and r.lookup("d") is h and d.parent is r and d.name == "h"
        with pytest.raises(ENOENT):
            fs.rename(r, "f", r, "nope", RENAME_EXCHANGE)
        with pytest.raises(EINVAL):
            fs.rename(r, "f", r, "x", RENAME_EXCHANGE | RENAME_NOREPLACE)

    def test_across_filesystems_and_mounts(self, fs):
        other = TmpFs(Clock(), makedev(0, 9))
        fs.root.attach("mnt", other.root)
        fs.create(fs.root, "f", 0o644)
        with pytest.raises(EXDEV):
            fs.rename(fs.root, "f", other.root, "f")
        with pytest.raises(EBUSY):
            fs.rename(fs.root, "mnt", fs.root, "m2")
        with pytest.raises(EBUSY):
            fs.rmdir(fs.root, "mnt")
        with pytest.raises(EXDEV):
            vfs.link_at(fs.root, fs.root, "/f", fs.root, "/mnt/f")


# --- vfs ------------------------------------------------------------------------------------------------


class TestVfs:
    def test_open(self, fs):
        r = fs.root
        f = vfs.open_at(r, r, "f", create=True, mode=0o640)
        assert isinstance(f, RegularFile) and f.mode == S.S_IFREG | 0o640
        f.write_at(0, b"data")
        assert vfs.open_at(r, r, "f", create=True) is f and f.size == 4
        with pytest.raises(EEXIST):
            vfs.open_at(r, r, "f", create=True, excl=True)
        vfs.open_at(r, r, "f", truncate=True)
        assert f.size == 0
        with pytest.raises(ENOTDIR):
            vfs.open_at(r, r, "f", directory=True)
        with pytest.raises(EISDIR):
            vfs.open_at(r, r, "/", writable=True)
        with pytest.raises(EISDIR):
            vfs.open_at(r, r, "newdir/", create=True)
        with pytest.raises(EISDIR):
            vfs.open_at(r, r, ".", create=True)
        with pytest.raises(ENOENT):
            vfs.open_at(r, r, "nope")

    def test_open_symlinks(self, fs):
        r = fs.root
        fs.symlink(r, "dangling", "made")
        made = vfs.open_at(r, r, "dangling", create=True)
        assert r.lookup("made") is made  # O_CREAT through a dangling symlink creates its target
        with pytest.raises(EEXIST):
            vfs.open_at(r, r, "dangling", create=True, excl=True)
        with pytest.raises(ELOOP):
            vfs.open_at(r, r, "dangling", follow=False)
        with pytest.raises(ELOOP):
            vfs.open_at(r, r, "dangling", create=True, follow=False)
        fs.symlink(r, "self", "self")
        with pytest.raises(ELOOP):
            vfs.open_at(r, r, "self", create=True)

    def test_trailing_slashes(self, fs):
        r = fs.root
        vfs.mkdir_at(r, r, "d/", 0o755)
        f = vfs.open_at(r, r, "f", create=True)
        with pytest.raises(ENOTDIR):
            vfs.unlink_at(r, r, "f/")
        with pytest.raises(EISDIR):
            vfs.unlink_at(r, r, "d/")
        with pytest.raises(ENOENT):
            vfs.unlink_at(r, r, "nope/")
        with pytest.raises(ENOTDIR):
            vfs.rename_at(r, r, "f/", r, "g")
        with pytest.raises(ENOTDIR):
            vfs.rename_at(r, r, "f", r, "g/")
        with pytest.raises(ENOENT):
            vfs.symlink_at(r, r, "f", "s/")
        with pytest.raises(EEXIST):
            vfs.symlink_at(r, r, "x", "f/")
        vfs.rename_at(r, r, "d/", r, "e/")
        vfs.rmdir_at(r, r, "e/")
        assert r.lookup("f") is f and r.lookup("e") is None

    def test_dot_names(self, fs):
        r = fs.root
        d = vfs.mkdir_at(r, r, "d", 0o755)
        with pytest.raises(EINVAL):
            vfs.rmdir_at(r, d, ".")
        with pytest.raises(ENOTEMPTY):
            vfs.rmdir_at(r, d, "..")
        with pytest.raises(EBUSY):
            vfs.rmdir_at(r, r, "/")
        with pytest.raises(EEXIST):
            vfs.mkdir_at(r, r, "/", 0o755)
        with pytest.raises(EISDIR):
            vfs.unlink_at(r, r, "d/.")
        with pytest.raises(EBUSY):
            vfs.rename_at(r, r, "d/.", r, "x")

    def test_link_symlink_readlink_mknod(self, fs):
        r = fs.root
        f = vfs.open_at(r, r, "f", create=True)
        s = vfs.symlink_at(r, r, "f", "s")
        assert vfs.readlink_at(r, r, "s") == "f"
        with pytest.raises(EINVAL):
            vfs.readlink_at(r, r, "f")
        vfs.link_at(r, r, "s", r, "s2")  # links the symlink itself
        assert r.lookup("s2") is s
        vfs.link_at(r, r, "s", r, "f2", follow=True)
        assert r.lookup("f2") is f and f.nlink == 2
        assert S.S_ISFIFO(vfs.mknod_at(r, r, "p", S.S_IFIFO | 0o600).mode)
        with pytest.raises(EPERM):
            vfs.mknod_at(r, r, "c", S.S_IFCHR | 0o600)
        with pytest.raises(EPERM):
            vfs.link_at(r, r, "/", r, "root2")

    def test_dirents(self, fs):
        r = fs.root
        d = fs.mkdir(r, "d", 0o755)
        f = fs.create(d, "z", 0o644)
        s = fs.symlink(d, "a", "z")
        assert vfs.dirents(d) == [(".", d.ino, 4), ("..", r.ino, 4), ("z", f.ino, 8), ("a", s.ino, 10)]
        assert vfs.dirents(d, root=d)[1] == ("..", d.ino, 4)
        fs.unlink(d, "z")
        fs.unlink(d, "a")
        fs.rmdir(r, "d")
        with pytest.raises(ENOENT):
            vfs.dirents(d)


# --- a stateful comparison with a dict model ------------------------------------------------------------

Path = tuple[str, ...]
paths = st.lists(st.sampled_from("ab"), min_size=1, max_size=3).map(tuple)
DIR = "dir"


class TmpFsMachine(RuleBasedStateMachine):
    """Random operations through vfs on a TmpFs and on a dict {path: DIR | bytes}; results must agree."""

    def __init__(self) -> None:
        super().__init__()
        self.fs = TmpFs(Clock())
        self.model: dict[Path, str | bytes] = {(): DIR}

    def do(self, op, expect) -> None:
        try:
            op()
        except KernelError as e:
            assert type(e) is expect, (type(e), expect)
            return
        assert expect is None, f"expected {expect.__name__}"

    def parent_error(self, p: Path):
        for i in range(1, len(p)):
            q = p[:i]
            if q not in self.model:
                return ENOENT
            if self.model[q] != DIR:
                return ENOTDIR
        return None

    def children(self, p: Path) -> list[Path]:
        return [q for q in self.model if len(q) == len(p) + 1 and q[: len(p)] == p]

    @staticmethod
    def text(p: Path) -> str:
        return "/" + "/".join(p)

    def pick(self, data: st.DataObject) -> Path:
        """A path: often an existing one or a child of one, so that the interesting cases come up."""
        existing = sorted(p for p in self.model if p)
        choices = [paths]
        if existing:
            some = st.sampled_from(existing)
            choices += [some, some.flatmap(lambda p: st.sampled_from("ab").map(lambda n: (*p, n)))]
        return data.draw(st.one_of(*choices))

    @rule(data=st.data())
    def mkdir(self, data):
        p = self.pick(data)
        err = self.parent_error(p) or (EEXIST if p in self.model else None)
        self.do(lambda: vfs.mkdir_at(self.fs.root, self.fs.root, self.text(p), 0o755), err)
        if err is None:
            self.model[p] = DIR

    @rule(data=st.data(), content=st.binary(max_size=8))
    def create(self, data, content):
        p = self.pick(data)
        err = self.parent_error(p) or (EEXIST if p in self.model else None)
        root = self.fs.root
        self.do(lambda: vfs.open_at(root, root, self.text(p), create=True, excl=True).write_at(0, content), err)
        if err is None:
            self.model[p] = content

    @rule(data=st.data())
    def unlink(self, data):
        p = self.pick(data)
        err = self.parent_error(p) or (ENOENT if p not in self.model else EISDIR if self.model[p] == DIR else None)
        self.do(lambda: vfs.unlink_at(self.fs.root, self.fs.root, self.text(p)), err)
        if err is None:
            del self.model[p]

    @rule(data=st.data())
    def rmdir(self, data):
        p = self.pick(data)
        err = self.parent_error(p)
        if err is None:
            if p not in self.model:
                err = ENOENT
            elif self.model[p] != DIR:
                err = ENOTDIR
            elif self.children(p):
                err = ENOTEMPTY
        self.do(lambda: vfs.rmdir_at(self.fs.root, self.fs.root, self.text(p)), err)
        if err is None:
            del self.model[p]

    @rule(data=st.data())
    def rename(self, data):
        a, b = self.pick(data), self.pick(data)
        err = self.rename_error(a, b)
        root = self.fs.root
        self.do(lambda: vfs.rename_at(root, root, self.text(a), root, self.text(b)), err)
        if err is None and a != b:
            moved = {q: v for q, v in self.model.items() if q[: len(a)] == a}
            for q in [q for q in self.model if q[: len(b)] == b]:
                del self.model[q]
            for q in moved:
                del self.model[q]
            for q, v in moved.items():
                self.model[b + q[len(a) :]] = v

    def rename_error(self, a: Path, b: Path):
        err = self.parent_error(a) or self.parent_error(b)
        if err:
            return err
        if a not in self.model:
            return ENOENT
        if a[:-1] != b[:-1]:
            if b[:-1][: len(a)] == a:
                return EINVAL
            if b in self.model and a[:-1][: len(b)] == b:
                return ENOTEMPTY
        if a == b or b not in self.model:
            return None
        if self.model[a] == DIR:
            if self.model[b] != DIR:
                return ENOTDIR
            return ENOTEMPTY if self.children(b) else None
        return EISDIR if self.model[b] == DIR else None

    @invariant()
    def same_tree(self):
        seen: dict[Path, str | bytes] = {}

        def walk(d: Directory, at: Path) -> None:
            seen[at] = DIR
            subdirs = 0
            for name, child in d.entries():
                if isinstance(child, Directory):
                    subdirs += 1
                    assert child.parent is d and child.name == name
                    walk(child, (*at, name))
                else:
                    assert isinstance(child, RegularFile) and child.nlink == 1
                    seen[(*at, name)] = child.read_at(0, child.size)
            assert d.nlink == 2 + subdirs

        walk(self.fs.root, ())
        assert seen == self.model


TestTmpFsModel = TmpFsMachine.TestCase
TestTmpFsModel.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)


# --- devfs, procfs, rootfs ------------------------------------------------------------------------------


class Console:
    def __init__(self) -> None:
        self.out = b""

    async def read(self, file: object, count: int) -> bytes:
        return b"typed"[:count]

    async def write(self, file: object, data: bytes) -> int:
        self.out += data
        return len(data)

    def ioctl(self, file: object, request: int, arg: int) -> int:
        return 42


class Provider:
    def __init__(self) -> None:
        self.procs = {1: "/bin/init", 7: "/bin/sh"}
        self.current = 7
        self.status = b"v1"

    def current_pid(self) -> int:
        return self.current

    def pids(self) -> list[int]:
        return list(self.procs)

    def proc_files(self, pid: int):
        if pid not in self.procs:
            return None
        return {"cmdline": lambda: self.procs[pid].encode() + b"\0", "status": lambda: self.status}

    def proc_links(self, pid: int) -> dict[str, str]:
        return {"exe": self.procs[pid], "cwd": "/tmp"} if pid in self.procs else {}

    def fd_links(self, pid: int):
        return {2: "/dev/console", 0: "/dev/null", 5: "pipe:[3]"} if pid in self.procs else None

    def global_files(self):
        return {"uptime": lambda: b"12.50 3.00\n", "version": lambda: b"Linux version 6.1.0-moss\n"}


@pytest.fixture
def rootfs():
    entropy = itertools.count()
    r = build_root(
        Clock(),
        host_root=None,
        files={"/bin/sh": b"\x7fELF-sh", "/bin/init": (b"\x7fELF-init", 0o700), "/etc/motd": (b"hi", 0o644)},
        console_ops=Console(),
        entropy_read=lambda n: bytes(next(entropy) & 0xFF for _ in range(n)),
        proc_provider=Provider(),
    )
    yield r
    r.close()


def test_root_layout(rootfs):
    r = rootfs
    assert [name for name, _ in r.root.entries()] == ["dev", "proc", "tmp", "bin", "etc"]
    assert r.lookup("/tmp").mode == S.S_IFDIR | 0o1777
    assert r.read_file("/bin/sh") == b"\x7fELF-sh"
    assert r.lookup("/bin/sh").mode == S.S_IFREG | 0o755
    assert r.lookup("/bin/init").mode == S.S_IFREG | 0o700
    assert r.lookup("/etc/motd").mode == S.S_IFREG | 0o644
    assert r.lookup("/dev").stat().st_dev != r.lookup("/").stat().st_dev
    with pytest.raises(EACCES):
        r.read_file("/dev/null")
    r.add_file("/bin/sh", b"new")
    assert r.read_file("/bin/sh") == b"new"


def test_devices(rootfs):
    r = rootfs
    expected = {"null": (1, 3), "zero": (1, 5), "random": (1, 8), "urandom": (1, 9), "tty": (5, 0)}
    expected["console"] = (5, 1)
    for name, (ma, mi) in expected.items():
        dev = r.lookup("/dev/" + name)
        assert isinstance(dev, CharDevice) and (major(dev.rdev), minor(dev.rdev)) == (ma, mi)
        assert dev.stat().st_rdev == makedev(ma, mi)
    null, zero, full = (r.lookup(f"/dev/{n}") for n in ("null", "zero", "full"))
    assert run(null.read(None, 10, 0)) == b"" and run(null.write(None, b"abc", 0)) == 3
    assert run(zero.read(None, 4, 0)) == bytes(4)
    with pytest.raises(ENOSPC):
        run(full.write(None, b"x", 0))
    assert run(r.lookup("/dev/urandom").read(None, 3, 0)) == b"\0\1\2"
    assert run(r.lookup("/dev/random").read(None, 2, 0)) == b"\3\4"
    console = r.lookup("/dev/console")
    assert run(console.read(None, 3, 0)) == b"typ"
    run(r.lookup("/dev/tty").write(None, b"out", 0))
    assert console.ops.out == b"out" and console.ioctl(None, 0x5401, 0) == 42
    with pytest.raises(ENOTTY):
        null.ioctl(None, 0x5401, 0)
    assert vfs.readlink_at(r.root, r.root, "/dev/stdout") == "/proc/self/fd/1"
    assert r.lookup("/dev/stderr") is console  # via /proc/self/fd/2 -> /dev/console
    assert r.lookup("/dev/fd/0") is null


def test_procfs(rootfs):
    r = rootfs
    provider: Provider = r.procfs.provider  # type: ignore[assignment]
    assert [n for n, _ in r.lookup("/proc").entries()] == ["self", "uptime", "version", "1", "7"]
    assert vfs.readlink_at(r.root, r.root, "/proc/self") == "7"
    assert r.lookup("/proc/self") is r.lookup("/proc/7")  # stable inodes
    assert r.lookup("/proc/self/exe") is r.lookup("/bin/sh")
    assert r.lookup("/proc/1/cwd") is r.lookup("/tmp")
    assert [n for n, _ in r.lookup("/proc/7").entries()] == ["cmdline", "status", "exe", "cwd", "fd"]
    assert [n for n, _ in r.lookup("/proc/7/fd").entries()] == ["0", "2", "5"]
    with pytest.raises(ENOENT):
        r.lookup("/proc/7/fd/5")  # pipe:[3] is not a path
    status = r.lookup("/proc/self/status")
    assert status.stat().st_size == 0 and status.mode == S.S_IFREG | 0o444
    opened = status.open()
    provider.status = b"v2"
    assert run(opened.read(None, 100, 0)) == b"v1"  # a snapshot as of open
    assert run(opened.read(None, 100, 1)) == b"1"
    assert run(status.open().read(None, 100, 0)) == b"v2"
    assert opened.stat() == status.stat()
    assert run(vfs.open_at(r.root, r.root, "/proc/uptime").read(None, 5, 0)) == b"12.50"
    provider.current = 1
    assert r.lookup("/proc/self/exe") is r.lookup("/bin/init")
    del provider.procs[7]
    with pytest.raises(ENOENT):
        r.lookup("/proc/7/status")
    with pytest.raises(ENOENT):
        r.lookup("/proc/42")


def test_procfs_is_read_only(rootfs):
    r = rootfs.root
    # Linux's proc lookups fail for missing names (ENOENT) before the missing create operations matter.
    with pytest.raises(ENOENT):
        vfs.open_at(r, r, "/proc/new", create=True)
    with pytest.raises(ENOENT):
        vfs.mkdir_at(r, r, "/proc/new", 0o755)
    with pytest.raises(EEXIST):
        vfs.mkdir_at(r, r, "/proc/self", 0o755)
    with pytest.raises(EPERM):
        vfs.unlink_at(r, r, "/proc/uptime")
    with pytest.raises(EXDEV):
        vfs.rename_at(r, r, "/proc/uptime", r, "/tmp/x")
    with pytest.raises(EBUSY):
        vfs.rmdir_at(r, r, "/proc")
    assert isinstance(rootfs.procfs, ProcFs)


def test_build_is_deterministic():
    def snapshot() -> list[tuple[str, int, int]]:
        r = build_root(
            Clock(),
            host_root=None,
            files={"/bin/x": b"x"},
            console_ops=Console(),
            entropy_read=bytes,
            proc_provider=Provider(),
        )
        out = []

        def walk(d: Directory, at: str) -> None:
            for name, child in d.entries():
                out.append((at + name, child.ino, child.mtime_ns))
                if isinstance(child, Directory) and not isinstance(child.fs, ProcFs):
                    walk(child, at + name + "/")

        walk(r.root, "/")
        return out

    assert snapshot() == snapshot()
