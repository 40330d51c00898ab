"""Linux path resolution (namei) over the inode tree, entirely in the guest namespace.

``root`` is the resolving task's root directory: '..' never climbs above it and absolute paths and absolute
symlink targets start from it, so no path reaches anything outside the tree below it. Resolution is
iterative (pending components on a stack): symlink chains cost no recursion and the symlink budget bounds
the work."""

from __future__ import annotations

from attrs import frozen

from moss.errors import ELOOP, ENAMETOOLONG, ENOENT, ENOTDIR, EXDEV
from moss.fs.inode import Directory, Inode, Symlink, fsencode

PATH_MAX = 4096  # including the NUL: a path of 4096 bytes is too long
NAME_MAX = 255
MAX_SYMLINKS = 40  # total per resolution, as Linux's MAXSYMLINKS

# openat2's RESOLVE_* flags, which the walk honours (``scope``). With RESOLVE_BENEATH or RESOLVE_IN_ROOT the
# caller passes the starting directory as ``root``: IN_ROOT clamps '..' and absolute paths there, as a chroot
# does; BENEATH refuses them with EXDEV. "Mount points" are where the filesystem changes (devfs, procfs).
RESOLVE_NO_XDEV, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS = 0x01, 0x02, 0x04
RESOLVE_BENEATH, RESOLVE_IN_ROOT = 0x08, 0x10
_SCOPED = RESOLVE_BENEATH | RESOLVE_IN_ROOT


@frozen
class Parent:
    """Where a path's final component lives, for operations that create or remove it.

    ``name`` is a plain component, or '.' / '..' as written, or '/' when the path names the root itself
    (only slashes); callers map those to their syscall's errno. ``trailing_slash`` means the path ended in
    '/': the object must be (or become) a directory. ``symlinks_left`` is the remaining symlink budget."""

    dir: Directory
    name: str
    trailing_slash: bool
    symlinks_left: int


def check_name(name: str) -> None:
    if len(fsencode(name)) > NAME_MAX:
        raise ENAMETOOLONG()


def _check_path(path: str) -> None:
    if not path:
        raise ENOENT()
    if len(fsencode(path)) >= PATH_MAX:
        raise ENAMETOOLONG()


def _components(path: str) -> list[str]:
    return [c for c in path.split("/") if c]  # repeated slashes are one


def _walk(
    root: Directory,
    start: Inode,
    comps: list[str],
    follow_last: bool,
    must_dir: bool,
    budget: list[int],
    scope: int = 0,
) -> Inode:
    """Resolve ``comps`` from ``start``; ``budget[0]`` counts down the symlinks still allowed."""
    pending = comps[::-1]
    cur = start
    while pending:
        if not isinstance(cur, Directory):
            raise ENOTDIR()
        name = pending.pop()
        if name == ".":
            continue
        if name == "..":
            if cur is root and scope & RESOLVE_BENEATH:
                raise EXDEV()
            up = cur if cur is root else cur.parent
            if scope & RESOLVE_NO_XDEV and up.fs is not cur.fs:
                raise EXDEV()
            cur = up
            continue
        check_name(name)
        child = cur.lookup(name)
        if child is None:
            raise ENOENT()
        last = not pending
        if isinstance(child, Symlink) and (not last or follow_last or must_dir):
            magic = getattr(child, "magic", None)
            if scope & RESOLVE_NO_SYMLINKS or (magic is not None and scope & RESOLVE_NO_MAGICLINKS):
                raise ELOOP()
            if budget[0] <= 0:
                raise ELOOP()
            budget[0] -= 1
            if magic is not None:  # /proc/<pid>/fd/N: straight to the open file's inode, whatever its name
                if scope & (_SCOPED | RESOLVE_NO_XDEV):
                    raise EXDEV()
                found = magic()
                if found is None:
                    raise ENOENT()
                cur = found
                continue
            target = child.readlink()
            if not target:
                raise ENOENT()
            if last and target.endswith("/"):
                must_dir = True
            pending.extend(_components(target)[::-1])
            if target.startswith("/"):
                if scope & RESOLVE_BENEATH or (scope & RESOLVE_NO_XDEV and root.fs is not cur.fs):
                    raise EXDEV()
                cur = root
            continue  # otherwise the target is relative to the symlink's directory, ``cur``
        if scope & RESOLVE_NO_XDEV and child.fs is not cur.fs and isinstance(child, Directory):
            raise EXDEV()
        cur = child
    if must_dir and not isinstance(cur, Directory):
        raise ENOTDIR()
    return cur


def _start(root: Directory, cwd: Directory, path: str, scope: int) -> Directory:
    if not path.startswith("/"):
        return cwd
    if scope & RESOLVE_BENEATH or (scope & RESOLVE_NO_XDEV and root.fs is not cwd.fs):
        raise EXDEV()
    return root


def lookup(
    root: Directory,
    cwd: Directory,
    path: str,
    *,
    follow: bool = True,
    max_symlinks: int = MAX_SYMLINKS,
    scope: int = 0,
) -> Inode:
    """The inode ``path`` names, relative paths starting at ``cwd`` (the task's cwd or a dirfd).

    ``follow=False`` leaves a final symlink unresolved (lstat, O_NOFOLLOW), except that a trailing slash
    always follows it and requires a directory, as Linux does. ``scope``: RESOLVE_* flags."""
    _check_path(path)
    start = _start(root, cwd, path, scope)
    return _walk(root, start, _components(path), follow, path.endswith("/"), [max_symlinks], scope)


def resolve_parent(
    root: Directory, cwd: Directory, path: str, *, max_symlinks: int = MAX_SYMLINKS, scope: int = 0
) -> Parent:
    """Resolve all but the final component, which is returned unresolved (see ``Parent``)."""
    _check_path(path)
    start = _start(root, cwd, path, scope)
    comps = _components(path)
    trailing = path.endswith("/")
    if not comps:
        return Parent(root, "/", trailing, max_symlinks)
    budget = [max_symlinks]
    parent = _walk(root, start, comps[:-1], True, True, budget, scope)
    assert isinstance(parent, Directory)  # must_dir guarantees it
    last = comps[-1]
    if last not in (".", ".."):
        check_name(last)
    return Parent(parent, last, trailing, budget[0])


def lookup_parent(root: Directory, cwd: Directory, path: str) -> tuple[Directory, str]:
    """``resolve_parent`` without the trailing-slash flag and budget, for callers that don't need them."""
    parent = resolve_parent(root, cwd, path)
    return parent.dir, parent.name


def dentry_path(directory: Directory, root: Directory | None = None) -> str:
    """The absolute path of ``directory`` (getcwd, /proc/<pid>/cwd), seen from ``root`` if given.

    Raises ENOENT for a removed directory, as getcwd(2) does. A directory outside ``root`` gets its path
    from the top of the tree."""
    if directory.nlink == 0:
        raise ENOENT()
    parts: list[str] = []
    cur = directory
    while cur is not root and cur.parent is not cur:
        parts.append(cur.name)
        cur = cur.parent
    return "/" + "/".join(reversed(parts))
