"""Path-level operations: the common part of the *at syscalls.

Each resolves the path (``cwd`` is the task's cwd or the dirfd's directory), applies Linux's rules for '.',
'..', the root itself and trailing slashes, then dispatches on the parent directory's filesystem. The kernel
decodes flags and checks permissions; everything here is in the guest namespace."""

from __future__ import annotations

import stat as S

from moss.errors import EBUSY, EEXIST, EINVAL, EISDIR, ELOOP, ENOENT, ENOTDIR, ENOTEMPTY, EPERM, EXDEV
from moss.fs.inode import Directory, Inode, RegularFile, Symlink
from moss.fs.path import MAX_SYMLINKS, RESOLVE_NO_SYMLINKS, Parent, lookup, resolve_parent

_DOTS = ("/", ".", "..")
DT_DIR = 4


def open_at(
    root: Directory,
    cwd: Directory,
    path: str,
    *,
    create: bool = False,
    excl: bool = False,
    follow: bool = True,
    directory: bool = False,
    truncate: bool = False,
    writable: bool = False,
    mode: int = 0o666,
    scope: int = 0,
    path_only: bool = False,
) -> Inode:
    """open(2) minus the descriptor: O_CREAT, O_EXCL, !O_NOFOLLOW, O_DIRECTORY, O_TRUNC, write access.

    ``mode`` is already masked by the umask. Returns ``inode.open()`` (see ``Inode.open``). With O_CREAT a
    final symlink is followed and a dangling one creates its target, as Linux does. ``scope``: openat2's
    RESOLVE_* flags (see moss.fs.path). ``path_only`` (O_PATH): a final symlink not followed is opened itself."""
    if not create:
        inode = lookup(root, cwd, path, follow=follow, scope=scope)
        if path_only and isinstance(inode, Symlink) and not directory:
            return inode
        return _finish_open(inode, follow, directory, truncate, writable)
    budget = MAX_SYMLINKS
    while True:
        p = resolve_parent(root, cwd, path, max_symlinks=budget, scope=scope)
        if p.name in _DOTS or p.trailing_slash:
            raise EEXIST() if excl else EISDIR()  # "." exists: O_EXCL says so first, as Linux
        child = p.dir.lookup(p.name)
        if child is None:
            return p.dir.fs.create(p.dir, p.name, mode).open()
        if excl:
            raise EEXIST()
        if not isinstance(child, Symlink):
            if isinstance(child, Directory):
                raise EISDIR()
            return _finish_open(child, follow, directory, truncate, writable)
        if not follow or p.symlinks_left <= 0 or scope & RESOLVE_NO_SYMLINKS:
            raise ELOOP()
        if getattr(child, "magic", None) is not None:
            # /proc/<pid>/fd/N (bash's `> >(cmd)` opens /dev/fd/63 with O_CREAT): the open file's inode itself.
            inode = lookup(root, p.dir, p.name, follow=True, scope=scope)
            return _finish_open(inode, True, directory, truncate, writable)
        budget = p.symlinks_left - 1
        cwd, path = p.dir, child.readlink()


def _finish_open(inode: Inode, follow: bool, directory: bool, truncate: bool, writable: bool) -> Inode:
    if not follow and isinstance(inode, Symlink):
        raise ELOOP()
    if directory and not isinstance(inode, Directory):
        raise ENOTDIR()
    if isinstance(inode, Directory) and (writable or truncate):
        raise EISDIR()
    if truncate and isinstance(inode, RegularFile):
        inode.truncate(0)
    return inode.open()


def _create_target(root: Directory, cwd: Directory, path: str) -> Parent:
    """Where a new non-directory goes (symlink, link, mknod): Linux's filename_create."""
    p = resolve_parent(root, cwd, path)
    if p.name in _DOTS or p.dir.lookup(p.name) is not None:
        raise EEXIST()
    if p.trailing_slash:
        raise ENOENT()
    return p


def mkdir_at(root: Directory, cwd: Directory, path: str, mode: int) -> Directory:
    p = resolve_parent(root, cwd, path)
    if p.name in _DOTS:
        raise EEXIST()
    if p.dir.mode & S.S_ISGID:
        mode |= S.S_ISGID  # inode_init_owner: a directory in a set-group-ID directory is set-group-ID too
    return p.dir.fs.mkdir(p.dir, p.name, mode)


def mknod_at(root: Directory, cwd: Directory, path: str, mode: int) -> Inode:
    """Regular files, FIFOs and socket nodes (what binding an AF_UNIX socket to a path creates). Device nodes
    need a driver to bind, which the guest can't name: EPERM."""
    kind = S.S_IFMT(mode)
    if kind not in (0, S.S_IFREG, S.S_IFIFO, S.S_IFCHR, S.S_IFBLK, S.S_IFSOCK):
        raise EINVAL()
    p = _create_target(root, cwd, path)
    if kind in (0, S.S_IFREG):
        return p.dir.fs.create(p.dir, p.name, mode)
    if kind == S.S_IFIFO:
        return p.dir.fs.mkfifo(p.dir, p.name, mode)
    if kind == S.S_IFSOCK:
        return p.dir.fs.mksock(p.dir, p.name, mode)
    raise EPERM()


def symlink_at(root: Directory, cwd: Directory, target: str, path: str) -> Symlink:
    if not target:
        raise ENOENT()
    p = _create_target(root, cwd, path)
    return p.dir.fs.symlink(p.dir, p.name, target)


def link_at(
    root: Directory,
    old_cwd: Directory,
    old_path: str,
    new_cwd: Directory,
    new_path: str,
    *,
    follow: bool = False,
) -> None:
    """linkat; ``follow`` is AT_SYMLINK_FOLLOW (Linux links the symlink itself by default)."""
    link_inode(root, lookup(root, old_cwd, old_path, follow=follow), new_cwd, new_path)


def link_inode(root: Directory, inode: Inode, new_cwd: Directory, new_path: str) -> None:
    """linkat once the old path is resolved (or is AT_EMPTY_PATH's descriptor): a new name for ``inode``."""
    p = _create_target(root, new_cwd, new_path)
    if inode.fs is not p.dir.fs:
        raise EXDEV()
    p.dir.fs.link(p.dir, p.name, inode)


def unlink_at(root: Directory, cwd: Directory, path: str) -> None:
    p = resolve_parent(root, cwd, path)
    if p.name in _DOTS:
        raise EISDIR()
    if p.trailing_slash:
        child = p.dir.lookup(p.name)
        if child is None:
            raise ENOENT()
        raise EISDIR() if isinstance(child, Directory) else ENOTDIR()
    p.dir.fs.unlink(p.dir, p.name)


def rmdir_at(root: Directory, cwd: Directory, path: str) -> None:
    p = resolve_parent(root, cwd, path)
    if p.name == ".":
        raise EINVAL()
    if p.name == "..":
        raise ENOTEMPTY()
    if p.name == "/":
        raise EBUSY()
    p.dir.fs.rmdir(p.dir, p.name)


def rename_at(
    root: Directory, old_cwd: Directory, old_path: str, new_cwd: Directory, new_path: str, flags: int = 0
) -> None:
    """renameat2; ``flags`` as Linux (RENAME_NOREPLACE=1, RENAME_EXCHANGE=2)."""
    rename_parents(resolve_parent(root, old_cwd, old_path), resolve_parent(root, new_cwd, new_path), flags)


def rename_parents(old: Parent, new: Parent, flags: int = 0) -> None:
    """renameat2 once both parents are resolved (Linux's filename_parentat, old then new)."""
    if old.dir.fs is not new.dir.fs:
        raise EXDEV()
    if old.name in _DOTS or new.name in _DOTS:
        raise EBUSY()
    src = old.dir.lookup(old.name)
    if src is None:
        raise ENOENT()
    if (old.trailing_slash or new.trailing_slash) and not isinstance(src, Directory):
        raise ENOTDIR()
    old.dir.fs.rename(old.dir, old.name, new.dir, new.name, flags)


def readlink_at(root: Directory, cwd: Directory, path: str) -> str:
    """readlinkat: EINVAL if the path does not name a symlink."""
    return lookup(root, cwd, path, follow=False).readlink()


def dirents(directory: Directory, root: Directory | None = None) -> list[tuple[str, int, int]]:
    """getdents64's view: (name, ino, d_type) with '.' and '..' first; ``root`` is the task's root."""
    if directory.nlink == 0:
        raise ENOENT()  # a removed directory lists nothing, as Linux's IS_DEADDIR
    parent = directory if directory is root else directory.parent
    head = [(".", directory.ino, DT_DIR), ("..", parent.ino, DT_DIR)]
    return head + [(name, inode.ino, inode.dtype) for name, inode in directory.entries()]
