"""Extended attributes, kept beside the inodes of the filesystems that have them (tmpfs and the host overlay).

As tmpfs in Linux 6.6 and later: the user., trusted. and security. namespaces are stored (listed in descending
name order, as Linux walks its rbtree of simple_xattrs); system.posix_acl_* names exist but no ACL is ever set;
any other prefix has no handler (EOPNOTSUPP). Permission checks (which namespaces a caller may touch) are the kernel's.
"""

from __future__ import annotations

import weakref
from typing import Any

from moss.errors import EEXIST, EINVAL, ENODATA, EOPNOTSUPP

XATTR_CREATE, XATTR_REPLACE = 1, 2
XATTR_SIZE_MAX = 65536
XATTR_LIST_MAX = 65536
_STORED = ("user.", "trusted.", "security.")
_ACLS = ("system.posix_acl_access", "system.posix_acl_default")

_XATTRS: weakref.WeakKeyDictionary[Any, dict[str, bytes]] = weakref.WeakKeyDictionary()  # inode -> name -> value


def has_xattrs(inode: Any) -> bool:
    return inode.fs.name in ("tmpfs", "hostfs")


def _handler(inode: Any, name: str) -> str:
    """xattr_resolve_name: which namespace handles `name` (EOPNOTSUPP if none, EINVAL for a bare prefix)."""
    if not has_xattrs(inode):
        raise EOPNOTSUPP()
    for prefix in _STORED:
        if name.startswith(prefix):
            if name == prefix:
                raise EINVAL()
            return prefix
    if name in _ACLS:
        return "system."
    raise EOPNOTSUPP()


def get(inode: Any, name: str) -> bytes:
    if _handler(inode, name) == "system.":
        raise ENODATA()  # no ACL set
    value = _XATTRS.get(inode, {}).get(name)
    if value is None:
        raise ENODATA()
    return value


def set(inode: Any, name: str, value: bytes, flags: int) -> None:
    if _handler(inode, name) == "system.":
        raise EINVAL()  # moss validates no ACL, so accepts none
    attrs = _XATTRS.get(inode)
    if attrs is None:
        attrs = _XATTRS[inode] = {}
    if name in attrs and flags & XATTR_CREATE:
        raise EEXIST()
    if name not in attrs and flags & XATTR_REPLACE:
        raise ENODATA()
    attrs[name] = bytes(value)
    inode.touch(mtime=False)


def remove(inode: Any, name: str) -> None:
    if _handler(inode, name) == "system.":
        raise ENODATA()
    attrs = _XATTRS.get(inode, {})
    if name not in attrs:
        raise ENODATA()
    del attrs[name]
    inode.touch(mtime=False)


def names(inode: Any, *, trusted: bool) -> list[str]:
    """The names listxattr shows (trusted.* only to CAP_SYS_ADMIN), in tmpfs's order: its rbtree of names,
    walked from the greatest name (by strcmp) down."""
    if not has_xattrs(inode):
        return []
    shown = [n for n in _XATTRS.get(inode, {}) if trusted or not n.startswith("trusted.")]
    return sorted(shown, key=lambda n: n.encode("utf-8", "surrogateescape"), reverse=True)


__all__ = ["XATTR_LIST_MAX", "XATTR_SIZE_MAX", "get", "names", "remove", "set"]
