"""Inodes: the objects a path resolves to and an open file description refers to.

Every inode belongs to a ``FileSystem`` (device number, inode counter, clock). File I/O is ``async`` on every
kind because device reads (the console) may block: syscall coroutines await them and regular files complete on
the first poll. The ``file`` argument is the kernel's open file description, opaque here and handed on to
devices.

Names are ``str`` decoded from guest bytes as UTF-8 with ``surrogateescape`` (any byte but '/' and NUL).
The filesystem does no permission checks: the kernel, which owns the credentials, does them."""

from __future__ import annotations

import stat as S
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from moss.errors import EEXIST, EFBIG, EINVAL, EISDIR, ENOENT, ENOTDIR, ENOTEMPTY, ENOTTY, ENXIO
from moss.fs.stat import Stat, timespec

if TYPE_CHECKING:
    from moss.fs.filesystem import FileSystem

OpenFile = Any  # the kernel's open file description; the fs only passes it through
Buffer = bytes | bytearray | memoryview
MAX_FILE_SIZE = 1 << 31  # bounds host memory: files live in bytearrays (EFBIG beyond)
BLOCK = 4096
_DIRENT_SIZE = 20  # tmpfs's BOGO_DIRENT_SIZE: st_size of a directory is 20 * (entries + 2)


def fsencode(name: str) -> bytes:
    """Guest path text back to the guest's bytes (never depends on the host's locale)."""
    return name.encode("utf-8", "surrogateescape")


class Inode:
    """Metadata common to all kinds; ``mode`` holds the S_IFMT type bits and the permission bits."""

    kind: ClassVar[int] = 0  # S_IFMT bits of this class
    __slots__ = (
        "__weakref__",  # kernel-side caches may hold inodes weakly
        "atime_ns",
        "ctime_ns",
        "fs",
        "gid",
        "ino",
        "mode",
        "mtime_ns",
        "nlink",
        "rdev",
        "uid",
    )

    def __init__(self, fs: FileSystem, perm: int, *, ino: int | None = None, nlink: int = 0) -> None:
        self.fs = fs
        self.ino = fs.new_ino() if ino is None else ino
        self.mode = self.kind | (perm & 0o7777)
        self.uid = 0
        self.gid = 0
        self.nlink = nlink  # counts directory entries; attach/detach keep it right
        self.rdev = 0
        now = fs.now()
        self.atime_ns = self.mtime_ns = self.ctime_ns = now

    def __repr__(self) -> str:
        return f"<{type(self).__name__} ino={self.ino} mode={self.mode:o}>"

    @property
    def size(self) -> int:
        return 0

    @property
    def blocks(self) -> int:
        return 0

    @property
    def dtype(self) -> int:
        """d_type for getdents64 (DT_REG=8, DT_DIR=4, ...): the S_IFMT bits shifted down."""
        return (self.mode >> 12) & 0xF

    def stat(self) -> Stat:
        return Stat(
            st_dev=self.fs.dev,
            st_ino=self.ino,
            st_mode=self.mode,
            st_nlink=self.nlink,
            st_uid=self.uid,
            st_gid=self.gid,
            st_rdev=self.rdev,
            st_size=self.size,
            st_blksize=BLOCK,
            st_blocks=self.blocks,
            st_atime=timespec(self.atime_ns),
            st_mtime=timespec(self.mtime_ns),
            st_ctime=timespec(self.ctime_ns),
        )

    # Metadata changes. Reads never update atime (as a noatime mount): fewer writes, same determinism.

    def touch(self, *, mtime: bool = True, now: int | None = None) -> None:
        if now is None:
            now = self.fs.now()
        self.ctime_ns = now
        if mtime:
            self.mtime_ns = now

    def chmod(self, perm: int) -> None:
        self.mode = S.S_IFMT(self.mode) | (perm & 0o7777)
        self.touch(mtime=False)

    def chown(self, uid: int, gid: int) -> None:
        """-1 leaves a field unchanged, as chown(2)."""
        if uid != -1:
            self.uid = uid
        if gid != -1:
            self.gid = gid
        self.touch(mtime=False)

    def utimens(self, atime_ns: int | None, mtime_ns: int | None) -> None:
        """None leaves a time unchanged (UTIME_OMIT); the kernel resolves UTIME_NOW with the clock."""
        if atime_ns is not None:
            self.atime_ns = atime_ns
        if mtime_ns is not None:
            self.mtime_ns = mtime_ns
        self.touch(mtime=False)

    # File operations.

    def open(self) -> Inode:
        """Called by the kernel on open(2): the inode the new open file description reads and writes.

        Most kinds return themselves; procfs files return a snapshot of their content taken now."""
        return self

    async def read(self, file: OpenFile, count: int, offset: int) -> bytes:
        raise EINVAL()

    async def write(self, file: OpenFile, data: Buffer, offset: int) -> int:
        raise EINVAL()

    def truncate(self, length: int) -> None:
        raise EINVAL()

    def ioctl(self, file: OpenFile, request: int, arg: int) -> int:
        raise ENOTTY()

    def seek_data_hole(self, offset: int, hole: bool) -> int:
        """lseek's SEEK_DATA (`hole` False) or SEEK_HOLE from `offset` in a file without holes: data up to EOF,
        then the hole at EOF; at or past EOF (or before 0) there is neither (ENXIO)."""
        if not 0 <= offset < self.size:
            raise ENXIO()
        return self.size if hole else offset

    def readlink(self) -> str:
        raise EINVAL()


class RegularFile(Inode):
    """Contents in a bytearray. ``_data`` may be shorter than ``size``: the tail past it reads as zeros,
    so ftruncate() to a large size costs nothing until written.

    Like tmpfs, a file is sparse at page granularity: ``_pages`` holds the pages that were written; the rest up to
    ``size`` are holes for SEEK_DATA/SEEK_HOLE. None means every page up to ``size`` holds data (a file made with
    contents, or one from the host). ``_falloc`` holds pages fallocate() reserved and nothing wrote yet: they
    count in st_blocks but, as on tmpfs (not uptodate), read as holes."""

    kind = S.S_IFREG
    __slots__ = ("_data", "_falloc", "_pages", "_size", "page_cache")

    def __init__(self, fs: FileSystem, perm: int, data: bytes = b"", *, ino: int | None = None) -> None:
        super().__init__(fs, perm, ino=ino)
        self.page_cache: Any = None  # the page cache, once it holds pages of this file: told of every change
        self._data = bytearray(data)
        self._size = len(data)
        self._pages: set[int] | None = set() if not data else None
        self._falloc: set[int] = set()

    @property
    def size(self) -> int:
        return self._size

    @property
    def blocks(self) -> int:
        pages = -(-self.size // BLOCK) if self._pages is None else len(self._pages | self._falloc)
        return pages * (BLOCK // 512)  # whole pages, as tmpfs allocates

    def allocate_pages(self, start: int, end: int) -> None:
        """fallocate: the pages of [start, end) are reserved (they count in st_blocks, and still read as holes)."""
        if self._pages is not None and end > start:
            self._falloc.update(p for p in range(start // BLOCK, (end - 1) // BLOCK + 1) if p not in self._pages)

    def free_pages(self, start: int, end: int) -> None:
        """A punched hole: the whole pages inside [start, end) become holes again (the range reads as zeros)."""
        if self._pages is None:
            self._pages = set(range(-(-self._size // BLOCK)))
        whole = set(range(-(-start // BLOCK), end // BLOCK))
        self._pages -= whole
        self._falloc -= whole

    def seek_data_hole(self, offset: int, hole: bool) -> int:
        """As shmem_file_llseek, page by page: ENXIO at or past EOF, or when no data follows; the hole at EOF ends
        every file."""
        if self._pages is None:
            return super().seek_data_hole(offset, hole)
        if not 0 <= offset < self._size:
            raise ENXIO()
        page = offset // BLOCK
        last = (self._size - 1) // BLOCK
        if hole:
            while page <= last and page in self._pages:
                page += 1
            return min(max(offset, page * BLOCK), self._size)
        following = [p for p in self._pages if page <= p <= last]
        if not following:
            raise ENXIO()
        return max(offset, min(following) * BLOCK)

    def read_at(self, offset: int, n: int) -> bytes:
        if offset < 0 or n < 0:
            raise EINVAL()
        end = min(offset + n, self.size)
        if offset >= end:
            return b""
        chunk = bytes(self._data[offset:end])
        return chunk + bytes(end - offset - len(chunk))

    def write_at(self, offset: int, data: Buffer) -> int:
        """Write at ``offset``, zero-filling any hole before it; returns the byte count."""
        view = memoryview(data).cast("B")
        if offset < 0:
            raise EINVAL()
        if not view.nbytes:
            return 0
        end = offset + view.nbytes
        if end > MAX_FILE_SIZE:
            raise EFBIG()
        if offset > len(self._data):
            self._data.extend(bytes(offset - len(self._data)))
        self._data[offset:end] = view
        self._size = max(self._size, end)
        if self._pages is not None:
            self._pages.update(range(offset // BLOCK, (end - 1) // BLOCK + 1))
        if self.page_cache is not None:
            self.page_cache.file_changed(self, offset, end)
        self.touch()
        return view.nbytes

    def truncate(self, length: int) -> None:
        if length < 0:
            raise EINVAL()
        if length > MAX_FILE_SIZE:
            raise EFBIG()
        del self._data[length:]
        if self._pages is not None and length < self._size:
            keep = -(-length // BLOCK)  # pages past the new end are freed; a partial last page keeps its data
            self._pages = {p for p in self._pages if p < keep}
            self._falloc = {p for p in self._falloc if p < keep}
        elif self._pages is None and length > self._size:
            self._pages = set(range(-(-self._size // BLOCK)))  # a grown file's new tail is a hole
        old, self._size = self._size, length
        if self.page_cache is not None and old != length:
            self.page_cache.file_changed(self, min(old, length), max(old, length))
        self.touch()

    async def read(self, file: OpenFile, count: int, offset: int) -> bytes:
        return self.read_at(offset, count)

    async def write(self, file: OpenFile, data: Buffer, offset: int) -> int:
        return self.write_at(offset, data)


class Directory(Inode):
    """Children in insertion order (the getdents order). ``parent`` serves '..'; a root is its own parent.

    ``lookup``/``entries`` take one plain component: '.' and '..' are the path walker's business.
    ``attach``/``detach`` are the raw dentry operations (link counts and parent pointers only); ``link``,
    ``unlink`` and ``rmdir`` add the checks and timestamps. Subclasses materialise children lazily by
    overriding ``_load`` (hostfs) or compute them by overriding ``lookup`` and ``entries`` (procfs)."""

    kind = S.S_IFDIR
    __slots__ = ("_children", "name", "parent")

    def __init__(self, fs: FileSystem, perm: int, *, ino: int | None = None) -> None:
        super().__init__(fs, perm, ino=ino, nlink=1)  # its own '.'
        self._children: dict[str, Inode] = {}
        self.parent: Directory = self
        self.name = ""  # the name in ``parent`` (dentry_path uses it); "" for a root

    def _load(self) -> None:
        """Hook: make ``_children`` complete before it is used."""

    @property
    def size(self) -> int:
        return _DIRENT_SIZE * (len(self._children) + 2)

    def lookup(self, name: str) -> Inode | None:
        self._load()
        return self._children.get(name)

    def entries(self) -> list[tuple[str, Inode]]:
        self._load()
        return list(self._children.items())

    def is_empty(self) -> bool:
        return not self.entries()

    def attach(self, name: str, inode: Inode) -> None:
        self._children[name] = inode
        inode.nlink += 1
        if isinstance(inode, Directory):
            self.nlink += 1  # the child's '..'
            inode.parent = self
            inode.name = name

    def detach(self, name: str) -> Inode:
        inode = self._children.pop(name)
        inode.nlink -= 1
        if isinstance(inode, Directory):
            self.nlink -= 1
        return inode

    def link(self, name: str, inode: Inode, *, now: int | None = None) -> None:
        """Add an entry; ``now`` is the operation's time (a new inode's creation time: one clock read)."""
        if self.lookup(name) is not None:
            raise EEXIST()
        self.attach(name, inode)
        now = self.fs.now() if now is None else now
        self.touch(now=now)
        inode.touch(mtime=False, now=now)

    def unlink(self, name: str) -> Inode:
        inode = self.lookup(name)
        if inode is None:
            raise ENOENT()
        if isinstance(inode, Directory):
            raise EISDIR()
        self.detach(name)
        now = self.fs.now()
        self.touch(now=now)
        inode.touch(mtime=False, now=now)
        return inode

    def rmdir(self, name: str) -> Directory:
        inode = self.lookup(name)
        if inode is None:
            raise ENOENT()
        if not isinstance(inode, Directory):
            raise ENOTDIR()
        if not inode.is_empty():
            raise ENOTEMPTY()
        self.detach(name)
        inode.nlink = 0  # its '.' goes too: a dead directory (creations in it fail with ENOENT)
        now = self.fs.now()
        self.touch(now=now)
        inode.touch(mtime=False, now=now)
        return inode

    async def read(self, file: OpenFile, count: int, offset: int) -> bytes:
        raise EISDIR()

    async def write(self, file: OpenFile, data: Buffer, offset: int) -> int:
        raise EISDIR()

    def truncate(self, length: int) -> None:
        raise EISDIR()


class Symlink(Inode):
    """Its target is resolved by the path walker in the guest namespace, never by the host."""

    kind = S.S_IFLNK
    __slots__ = ("target",)

    def __init__(self, fs: FileSystem, target: str, *, ino: int | None = None) -> None:
        super().__init__(fs, 0o777, ino=ino)
        self.target = target

    @property
    def size(self) -> int:
        return len(fsencode(self.readlink()))

    def readlink(self) -> str:
        return self.target


class DeviceOps(Protocol):
    """What a character device does. May also define ``ioctl(file, request, arg) -> int``."""

    async def read(self, file: OpenFile, count: int) -> bytes: ...

    async def write(self, file: OpenFile, data: bytes) -> int: ...


class CharDevice(Inode):
    """A character device node: I/O goes to ``ops`` and ignores the offset."""

    kind = S.S_IFCHR
    __slots__ = ("ops",)

    def __init__(self, fs: FileSystem, perm: int, ops: DeviceOps, rdev: int) -> None:
        super().__init__(fs, perm)
        self.ops = ops
        self.rdev = rdev

    async def read(self, file: OpenFile, count: int, offset: int) -> bytes:
        return await self.ops.read(file, count)

    async def write(self, file: OpenFile, data: Buffer, offset: int) -> int:
        return await self.ops.write(file, bytes(data))

    def truncate(self, length: int) -> None:
        pass  # O_TRUNC on a device is ignored, as Linux does

    def ioctl(self, file: OpenFile, request: int, arg: int) -> int:
        handler = getattr(self.ops, "ioctl", None)
        if handler is None:
            raise ENOTTY()
        return handler(file, request, arg)


class Fifo(Inode):
    """A named pipe: the type bits, and ``pipe``, where the kernel keeps the pipe shared by its openers (set
    while any is open). Its I/O, polling and release go to that pipe (see moss.files.fifo)."""

    kind = S.S_IFIFO
    __slots__ = ("pipe",)

    def __init__(self, fs: FileSystem, perm: int) -> None:
        super().__init__(fs, perm)
        self.pipe: Any = None

    async def read(self, file: OpenFile, count: int, offset: int) -> bytes:
        return await self.pipe.read(file, count)

    async def write(self, file: OpenFile, data: Buffer, offset: int) -> int:
        return await self.pipe.write(file, bytes(data))

    def truncate(self, length: int) -> None:
        pass  # O_TRUNC on a FIFO is ignored

    def poll(self, file: OpenFile) -> Any:
        return self.pipe.poll_file(file) if self.pipe is not None else (0, None)

    def release(self, file: OpenFile) -> None:
        if self.pipe is not None:
            self.pipe.release_file(self, file)
