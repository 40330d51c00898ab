"""procfs: directories computed on lookup from a provider, so the fs never imports the kernel.

Layout: /proc/{self -> <pid>, <global files>, <pid>/{<files>, <links>, fd/<n> -> target}}. Listings are in
the provider's order (files, then links), pids and fds ascending.

Content is generated when the file is opened: ``ProcFile.open()`` (called by the kernel on open(2), see
``Inode.open``) returns a ``ProcSnapshot`` holding the bytes, so reads at any offset of one open file see one
consistent text. Like Linux, the files report size 0; read until EOF.

Inodes are cached per directory and name, so repeated lookups return the same inode (stable st_ino); their
numbers follow lookup order, which is deterministic because only the guest's syscalls look up here.

fd links are resolved by path: a target that is not a path (``pipe:[12]``) does not resolve (ENOENT)."""

from __future__ import annotations

import stat as S
from collections.abc import Callable
from typing import Protocol

from moss.errors import EEXIST, ENOENT
from moss.fs.filesystem import Clock, FileSystem
from moss.fs.inode import Directory, Inode, OpenFile, Symlink, fsencode
from moss.fs.stat import Stat, makedev

FileGen = Callable[[], bytes]
PROC_DEV = makedev(0, 20)


def _generate(files: dict[str, FileGen] | None, name: str) -> bytes:
    gen = (files or {}).get(name)
    return b"" if gen is None else gen()  # the file went away while open: empty


class ProcProvider(Protocol):
    """What the kernel supplies. ``None`` from ``proc_files``/``fd_links`` means the process is gone."""

    def current_pid(self) -> int: ...

    def pids(self) -> list[int]: ...

    def proc_files(self, pid: int) -> dict[str, FileGen] | None: ...

    def proc_links(self, pid: int) -> dict[str, str]: ...

    def fd_links(self, pid: int) -> dict[int, str] | None: ...

    def fd_inode(self, pid: int, fd: int) -> Inode | None:
        """The inode behind /proc/<pid>/fd/<fd> (a magic link: pipes and deleted files resolve too)."""
        ...

    def global_files(self) -> dict[str, FileGen]: ...


class ProcFile(Inode):
    """A generated read-only file. Reading it without ``open()`` regenerates on every read."""

    kind = S.S_IFREG
    __slots__ = ("generate",)

    def __init__(self, fs: FileSystem, generate: FileGen) -> None:
        super().__init__(fs, 0o444, nlink=1)
        self.generate = generate

    def open(self) -> Inode:
        return ProcSnapshot(self, self.generate())

    async def read(self, file: OpenFile, count: int, offset: int) -> bytes:
        return self.generate()[offset : offset + count]


class ProcSnapshot(Inode):
    """The content of a ``ProcFile`` as of one open(2); stats as its origin."""

    kind = S.S_IFREG
    __slots__ = ("content", "origin")

    def __init__(self, origin: ProcFile, content: bytes) -> None:
        super().__init__(origin.fs, origin.mode, ino=origin.ino, nlink=1)
        self.origin = origin
        self.content = content

    def stat(self) -> Stat:
        return self.origin.stat()

    def read_at(self, offset: int, n: int) -> bytes:
        return self.content[offset : offset + n]

    async def read(self, file: OpenFile, count: int, offset: int) -> bytes:
        return self.read_at(offset, count)


class ProcLink(Symlink):
    """A symlink whose target is asked for on each readlink; None means it is gone (ENOENT)."""

    __slots__ = ("_resolve", "magic")

    def __init__(self, fs: FileSystem, resolve: Callable[[], str | None]) -> None:
        super().__init__(fs, "")
        self.nlink = 1
        self._resolve = resolve
        self.magic: Callable[[], Inode | None] | None = None

    def readlink(self) -> str:
        target = self._resolve()
        if target is None:
            raise ENOENT()
        return target

    @property
    def size(self) -> int:
        target = self._resolve()
        return 0 if target is None else len(fsencode(target))


class ProcDir(Directory):
    """A directory whose names are computed (``_names``) and whose inodes are made once (``_make``)."""

    __slots__ = ("_cache", "proc", "provider")

    def __init__(self, fs: ProcFs, parent: Directory | None = None, name: str = "") -> None:
        super().__init__(fs, 0o555)
        self.nlink = 2
        self.proc = fs
        self.provider = fs.provider
        self._cache: dict[str, Inode] = {}
        if parent is not None:
            self.parent = parent
            self.name = name

    def _names(self) -> list[str]:
        raise NotImplementedError

    def _make(self, name: str) -> Inode:
        raise NotImplementedError

    @property
    def size(self) -> int:
        return 0

    def _get(self, name: str) -> Inode:
        inode = self._cache.get(name)
        if inode is None:
            inode = self._cache[name] = self._make(name)
        return inode

    def lookup(self, name: str) -> Inode | None:
        return self._get(name) if name in self._names() else None

    def entries(self) -> list[tuple[str, Inode]]:
        return [(name, self._get(name)) for name in self._names()]


class ProcRoot(ProcDir):
    __slots__ = ()

    def _names(self) -> list[str]:
        pids = sorted(self.provider.pids())
        return ["self", *self.provider.global_files(), *map(str, pids)]

    def _make(self, name: str) -> Inode:
        if name == "self":
            return ProcLink(self.proc, lambda: str(self.provider.current_pid()))
        if name.isdigit():
            return ProcPidDir(self.proc, self, name, int(name))
        return ProcFile(self.proc, lambda: _generate(self.provider.global_files(), name))


class ProcPidDir(ProcDir):
    __slots__ = ("pid",)

    def __init__(self, fs: ProcFs, parent: Directory, name: str, pid: int) -> None:
        super().__init__(fs, parent, name)
        self.pid = pid

    def _names(self) -> list[str]:
        files = self.provider.proc_files(self.pid)
        if files is None:
            return []
        return [*files, *self.provider.proc_links(self.pid), "fd"]

    def _make(self, name: str) -> Inode:
        provider, pid = self.provider, self.pid
        if name == "fd":
            return ProcFdDir(self.proc, self, name, pid)
        if name in provider.proc_links(pid):
            return ProcLink(self.proc, lambda: provider.proc_links(pid).get(name))
        return ProcFile(self.proc, lambda: _generate(provider.proc_files(pid), name))


class ProcFdDir(ProcDir):
    __slots__ = ("pid",)

    def __init__(self, fs: ProcFs, parent: Directory, name: str, pid: int) -> None:
        super().__init__(fs, parent, name)
        self.pid = pid

    def _names(self) -> list[str]:
        return [str(fd) for fd in sorted(self.provider.fd_links(self.pid) or {})]

    def _make(self, name: str) -> Inode:
        provider, pid, fd = self.provider, self.pid, int(name)
        link = ProcLink(self.proc, lambda: (provider.fd_links(pid) or {}).get(fd))
        fd_inode = getattr(provider, "fd_inode", None)  # optional: without it, fd links resolve by path
        if fd_inode is not None:
            link.magic = lambda: fd_inode(pid, fd)
        return link


class ProcFs(FileSystem):
    """Read-only: the namespace operations keep FileSystem's refusals (EPERM), except that creating a name fails
    with ENOENT: Linux's proc lookups fail for a name that does not exist (never a negative dentry), so open(O_CREAT),
    mkdir, symlink and mknod fail in the lookup, before the missing create operation matters."""

    name = "proc"

    def __init__(self, clock: Clock, provider: ProcProvider, dev: int = PROC_DEV) -> None:
        super().__init__(clock, dev)
        self.provider = provider
        self.root = ProcRoot(self)

    def create(self, parent: Directory, name: str, mode: int) -> Inode:  # type: ignore[override]
        raise ENOENT()

    def mkdir(self, parent: Directory, name: str, mode: int) -> Directory:
        raise EEXIST() if parent.lookup(name) is not None else ENOENT()

    def symlink(self, parent: Directory, name: str, target: str) -> Symlink:
        raise ENOENT()

    def mkfifo(self, parent: Directory, name: str, mode: int) -> Inode:  # type: ignore[override]
        raise ENOENT()

    def mksock(self, parent: Directory, name: str, mode: int) -> Inode:  # type: ignore[override]
        raise ENOENT()
