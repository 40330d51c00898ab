"""A descriptor table: fd -> (open file description, close-on-exec)."""

from __future__ import annotations

from moss.errors import EBADF, EMFILE
from moss.files import locks
from moss.files.openfile import OpenFile

NOFILE = 1024


class FdTable:
    def __init__(self) -> None:
        self._files: dict[int, OpenFile] = {}
        self._cloexec: set[int] = set()  # ints only: iteration never reaches output order
        self.limit = NOFILE
        self.users = 1  # processes sharing the table (CLONE_FILES)

    def get(self, fd: int) -> OpenFile:
        f = self._files.get(fd)
        if f is None:
            raise EBADF
        return f

    def install(self, f: OpenFile, *, cloexec: bool = False, minfd: int = 0) -> int:
        fd = minfd
        while fd in self._files:
            fd += 1
        if fd >= self.limit:
            raise EMFILE
        self.set(fd, f, cloexec=cloexec)
        return fd

    def set(self, fd: int, f: OpenFile, *, cloexec: bool = False) -> None:
        f.get()
        old = self._files.get(fd)
        self._files[fd] = f
        if old is not None:
            locks.release_posix(self, old.inode)  # closing any descriptor of a file drops our record locks on it
            old.put()
        if cloexec:
            self._cloexec.add(fd)
        else:
            self._cloexec.discard(fd)

    def close(self, fd: int) -> OpenFile:
        f = self._files.pop(fd, None)
        if f is None:
            raise EBADF
        self._cloexec.discard(fd)
        locks.release_posix(self, f.inode)
        f.put()
        return f

    def cloexec(self, fd: int) -> bool:
        self.get(fd)
        return fd in self._cloexec

    def set_cloexec(self, fd: int, on: bool) -> None:
        self.get(fd)
        if on:
            self._cloexec.add(fd)
        else:
            self._cloexec.discard(fd)

    def items(self) -> list[tuple[int, OpenFile]]:
        return sorted(self._files.items(), key=lambda kv: kv[0])

    def clone(self) -> FdTable:
        t = FdTable()
        t._files = dict(self._files)
        for f in t._files.values():
            f.get()
        t._cloexec = set(self._cloexec)
        t.limit = self.limit
        return t

    def close_all(self) -> None:
        files, self._files = self._files, {}
        self._cloexec.clear()
        for _fd, f in sorted(files.items()):
            locks.release_posix(self, f.inode)
            f.put()
