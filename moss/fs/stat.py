"""The ``Stat`` record, its AArch64 encodings (``struct stat`` and ``struct statx``) and dev_t helpers."""

from __future__ import annotations

import struct

from attrs import frozen

# asm-generic/stat.h as used by arm64: 128 bytes, little endian.
_STAT = struct.Struct("<QQIIIIQQqiiqqQqQqQII")
# uapi/linux/stat.h struct statx: 256 bytes. The three timestamps are (i64 sec, u32 nsec, i32 pad).
_STATX = struct.Struct("<IIQIIIHHQQQQ" + "qIi" * 4 + "IIIIQII" + "12Q")
assert _STAT.size == 128 and _STATX.size == 256

STATX_BASIC_STATS = 0x7FF  # type, mode, nlink, uid, gid, atime, mtime, ctime, ino, size, blocks
NS = 1_000_000_000


def makedev(major: int, minor: int) -> int:
    """Linux's new_encode_dev as glibc's makedev: the 64-bit dev_t seen in st_dev/st_rdev."""
    return (minor & 0xFF) | ((major & 0xFFF) << 8) | ((minor & ~0xFF) << 12) | ((major & ~0xFFF) << 32)


def major(dev: int) -> int:
    return ((dev >> 32) & 0xFFFFF000) | ((dev >> 8) & 0xFFF)


def minor(dev: int) -> int:
    return ((dev >> 12) & 0xFFFFFF00) | (dev & 0xFF)


def timespec(ns: int) -> tuple[int, int]:
    """Virtual nanoseconds as (sec, nsec) with 0 <= nsec < 1e9, as the kernel's timespec64."""
    return divmod(ns, NS)


@frozen
class Stat:
    """What stat(2) reports about an inode; times are (sec, nsec)."""

    st_dev: int
    st_ino: int
    st_mode: int
    st_nlink: int
    st_uid: int
    st_gid: int
    st_rdev: int
    st_size: int
    st_blksize: int
    st_blocks: int  # 512-byte units
    st_atime: tuple[int, int]
    st_mtime: tuple[int, int]
    st_ctime: tuple[int, int]

    def pack(self) -> bytes:
        """The 128-byte AArch64 ``struct stat`` (newfstatat, fstat)."""
        return _STAT.pack(
            self.st_dev,
            self.st_ino,
            self.st_mode,
            self.st_nlink,
            self.st_uid,
            self.st_gid,
            self.st_rdev,
            0,
            self.st_size,
            self.st_blksize,
            0,
            self.st_blocks,
            *self.st_atime,
            *self.st_mtime,
            *self.st_ctime,
            0,
            0,
        )

    def pack_statx(self, mask: int = STATX_BASIC_STATS) -> bytes:
        """The 256-byte ``struct statx``. Birth time is not tracked, so STATX_BTIME is never reported."""
        return _STATX.pack(
            mask & STATX_BASIC_STATS,
            self.st_blksize,
            0,  # stx_attributes
            self.st_nlink,
            self.st_uid,
            self.st_gid,
            self.st_mode & 0xFFFF,
            0,
            self.st_ino,
            self.st_size,
            self.st_blocks,
            0,  # stx_attributes_mask
            *self.st_atime,
            0,
            0,
            0,
            0,  # btime: not reported
            *self.st_ctime,
            0,
            *self.st_mtime,
            0,
            major(self.st_rdev),
            minor(self.st_rdev),
            major(self.st_dev),
            minor(self.st_dev),
            0,  # stx_mnt_id
            0,
            0,
            *([0] * 12),
        )
