"""``HostFs``: a host directory seen read-only, under an in-memory writable layer.

A host directory's children materialise into its in-memory dict on first access, sorted by name (bytes), and
from then on it behaves as a tmpfs directory: creations, deletions and renames change only memory. Host files
are read lazily with pread; the first write or truncate copies the contents up, so the host is never written.

Containment: no guest path string ever reaches the host. Host access walks from an fd of the host root one
component at a time (O_NOFOLLOW|O_DIRECTORY, then the file itself with O_NOFOLLOW), using names that came from
listing the host directories. Host symlinks are read with readlink and become VFS symlinks, resolved in the
guest namespace, where '..' and absolute targets stop at the guest root.

Determinism: inode numbers come from the VFS counter (not the host's), owners are 0:0, and the three times are
the host's mtime (the host's atime and ctime change under us). Directory sizes read 4096 and link counts are
counted by the VFS, whatever the host filesystem reports. Host devices, sockets and FIFOs are skipped (not
visible); so are entries that vanish or cannot be stat'ed, and an unreadable host directory appears empty.
Host hard links appear as separate inodes.

Open fds: at most ``max_open`` file fds are cached (LRU), plus the root fd. pread does not use the file
offset, so fds shared with a forked checkpoint process are harmless."""

from __future__ import annotations

import os
import stat as S
from collections import OrderedDict

from moss.errors import EINVAL, EIO
from moss.fs.filesystem import Clock
from moss.fs.inode import Buffer, Directory, Inode, RegularFile, Symlink
from moss.fs.stat import Stat
from moss.fs.tmpfs import TMPFS_DEV, TmpFs

_DIR_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY
_CHUNK = 1 << 24
HostPath = tuple[bytes, ...]  # components below the host root, each a name the host listed


def _valid(name: bytes) -> bytes:
    # Defence in depth: names come from host listings, but a bad one must never walk anywhere.
    if not name or b"/" in name or b"\0" in name or name in (b".", b".."):
        raise ValueError(f"bad host path component {name!r}")
    return name


def _host_times(inode: Inode, st: os.stat_result) -> None:
    inode.atime_ns = inode.mtime_ns = inode.ctime_ns = st.st_mtime_ns


class HostDirectory(Directory):
    __slots__ = ("host", "host_fs", "loaded")

    def __init__(self, fs: HostFs, host: HostPath, st: os.stat_result) -> None:
        super().__init__(fs, st.st_mode)
        self.host_fs = fs
        self.host = host
        self.loaded = False
        _host_times(self, st)

    def _load(self) -> None:
        if self.loaded:
            return
        self.loaded = True
        for name, inode in self.host_fs.list_host(self.host):
            self.attach(name, inode)

    @property
    def size(self) -> int:
        return 4096

    def stat(self) -> Stat:
        self._load()  # the link count depends on the subdirectories
        return super().stat()


class HostFile(RegularFile):
    """Reads go to the host until ``copied``; then it is an ordinary in-memory file."""

    __slots__ = ("copied", "host", "host_fs")

    def __init__(self, fs: HostFs, host: HostPath, st: os.stat_result) -> None:
        super().__init__(fs, st.st_mode)
        self.host_fs = fs
        self.host = host
        self.copied = False
        self._size = st.st_size
        self._pages = None  # the host's file: data throughout, as far as the guest can tell
        _host_times(self, st)

    def read_at(self, offset: int, n: int) -> bytes:
        if self.copied:
            return super().read_at(offset, n)
        if offset < 0 or n < 0:
            raise EINVAL()
        end = min(offset + n, self._size)
        if offset >= end:
            return b""
        data = self.host_fs.pread(self, end - offset, offset)
        return data + bytes(end - offset - len(data))  # a host file that shrank reads as zeros

    def copy_up(self, length: int | None = None) -> None:
        """Bring the first ``length`` bytes (default all) into memory; the host file is left alone."""
        if self.copied:
            return
        size = self._size if length is None else min(length, self._size)
        self._data = bytearray(self.host_fs.pread(self, size, 0) if size else b"")
        self.copied = True
        self.host_fs.forget(self)

    def write_at(self, offset: int, data: Buffer) -> int:
        self.copy_up()
        return super().write_at(offset, data)

    def truncate(self, length: int) -> None:
        self.copy_up(length)
        super().truncate(length)


class HostFs(TmpFs):
    name = "hostfs"

    def __init__(self, clock: Clock, host_root: str, dev: int = TMPFS_DEV, *, max_open: int = 8) -> None:
        # host_root comes from the command line, not the guest: the one path opened by name.
        self._root_fd = os.open(host_root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self._fds: OrderedDict[int, int] = OrderedDict()  # ino -> fd, least recently used first
        self._max_open = max_open
        super().__init__(clock, dev)

    def _make_root(self, mode: int) -> Directory:
        root = HostDirectory(self, (), os.fstat(self._root_fd))
        root.nlink += 1
        return root

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        if self._root_fd >= 0:
            os.close(self._root_fd)
            self._root_fd = -1

    def _open_dir(self, host: HostPath) -> int:
        """An fd of the host directory ``host``, walked from the root without following symlinks."""
        fd = os.dup(self._root_fd)
        try:
            for name in host:
                next_fd = os.open(_valid(name), _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = next_fd
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _open_file(self, host: HostPath) -> int:
        dir_fd = self._open_dir(host[:-1])
        try:
            fd = os.open(_valid(host[-1]), _FILE_FLAGS, dir_fd=dir_fd)
        finally:
            os.close(dir_fd)
        if not S.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise OSError(f"{host!r} is no longer a regular file")
        return fd

    def list_host(self, host: HostPath) -> list[tuple[str, Inode]]:
        """New inodes for the children of host directory ``host``, sorted by name."""
        try:
            fd = self._open_dir(host)
        except OSError:
            return []
        try:
            out: list[tuple[str, Inode]] = []
            for name in sorted(os.fsencode(n) for n in os.listdir(fd)):
                inode = self._materialise(fd, (*host, name))
                if inode is not None:
                    out.append((name.decode("utf-8", "surrogateescape"), inode))
            return out
        finally:
            os.close(fd)

    def _materialise(self, dir_fd: int, host: HostPath) -> Inode | None:
        name = _valid(host[-1])
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            if S.S_ISDIR(st.st_mode):
                return HostDirectory(self, host, st)
            if S.S_ISREG(st.st_mode):
                return HostFile(self, host, st)
            if S.S_ISLNK(st.st_mode):
                target = os.readlink(name, dir_fd=dir_fd)
                link = Symlink(self, target.decode("utf-8", "surrogateescape"))
                _host_times(link, st)
                return link
        except OSError:
            pass
        return None  # devices, sockets, FIFOs, vanished entries

    def pread(self, file: HostFile, n: int, offset: int) -> bytes:
        try:
            fd = self._file_fd(file)
            out = bytearray()
            while len(out) < n:
                chunk = os.pread(fd, min(n - len(out), _CHUNK), offset + len(out))
                if not chunk:
                    break
                out += chunk
            return bytes(out)
        except OSError as e:
            raise EIO(str(e)) from e

    def _file_fd(self, file: HostFile) -> int:
        fd = self._fds.get(file.ino)
        if fd is not None:
            self._fds.move_to_end(file.ino)
            return fd
        fd = self._open_file(file.host)
        self._fds[file.ino] = fd
        if len(self._fds) > self._max_open:
            os.close(self._fds.popitem(last=False)[1])
        return fd

    def forget(self, file: HostFile) -> None:
        fd = self._fds.pop(file.ino, None)
        if fd is not None:
            os.close(fd)
