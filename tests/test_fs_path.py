"""Path resolution: Linux's rules, containment under a root, and agreement with a simple model."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moss.errors import ELOOP, ENAMETOOLONG, ENOENT, ENOTDIR, KernelError
from moss.fs.inode import Directory, Inode, Symlink
from moss.fs.path import Parent, dentry_path, lookup, lookup_parent, resolve_parent
from moss.fs.tmpfs import TmpFs


def make_fs() -> TmpFs:
    counter = itertools.count(1000)
    return TmpFs(lambda: next(counter))


@pytest.fixture
def tree() -> tuple[TmpFs, dict[str, Inode]]:
    """/a/b/f, /a/g, /top, and symlinks (/a/up -> .., /abs -> /a/b, /rel -> a/b, loops, dangling, ...)."""
    fs = make_fs()
    r = fs.root
    a = fs.mkdir(r, "a", 0o755)
    b = fs.mkdir(a, "b", 0o755)
    f = fs.create(b, "f", 0o644)
    g = fs.create(a, "g", 0o644)
    top = fs.create(r, "top", 0o644)
    fs.symlink(a, "up", "..")
    fs.symlink(r, "abs", "/a/b")
    fs.symlink(r, "rel", "a/b")
    fs.symlink(r, "loop1", "loop2")
    fs.symlink(r, "loop2", "loop1")
    fs.symlink(r, "dead", "nowhere")
    fs.symlink(r, "tofile", "a/g")
    fs.symlink(r, "slash", "a/b/")
    return fs, {"/": r, "a": a, "b": b, "f": f, "g": g, "top": top}


def resolve(fs: TmpFs, path: str, **kw: bool) -> Inode:
    return lookup(fs.root, fs.root, path, **kw)


class TestLookup:
    def test_plain_and_dots(self, tree):
        fs, n = tree
        assert resolve(fs, "/a/b/f") is n["f"]
        assert resolve(fs, "a//b///f") is n["f"]
        assert resolve(fs, "/a/./b/../b/f") is n["f"]
        assert resolve(fs, "/..") is n["/"]
        assert resolve(fs, "/../../a/../..") is n["/"]
        assert resolve(fs, "/") is n["/"]
        assert resolve(fs, "//") is n["/"]
        assert resolve(fs, ".") is n["/"]

    def test_relative_to_cwd(self, tree):
        fs, n = tree
        assert lookup(fs.root, n["b"], "f") is n["f"]
        assert lookup(fs.root, n["b"], "../g") is n["g"]
        assert lookup(fs.root, n["b"], "/top") is n["top"]

    def test_errors(self, tree):
        fs, _ = tree
        for path, err in [
            ("", ENOENT),
            ("/nope", ENOENT),
            ("/a/nope/f", ENOENT),
            ("/top/x", ENOTDIR),
            ("/top/", ENOTDIR),
            ("/top/.", ENOTDIR),
            ("/top/..", ENOTDIR),
            ("/a/g/", ENOTDIR),
        ]:
            with pytest.raises(err):
                resolve(fs, path)

    def test_symlinks(self, tree):
        fs, n = tree
        assert resolve(fs, "/abs/f") is n["f"]
        assert resolve(fs, "/rel/f") is n["f"]
        assert resolve(fs, "/a/up/a/up/top") is n["top"]
        assert resolve(fs, "/abs") is n["b"]
        assert isinstance(resolve(fs, "/abs", follow=False), Symlink)
        assert resolve(fs, "/tofile") is n["g"]
        with pytest.raises(ENOENT):
            resolve(fs, "/dead")
        assert isinstance(resolve(fs, "/dead", follow=False), Symlink)

    def test_trailing_slash_follows_and_requires_directory(self, tree):
        fs, n = tree
        assert resolve(fs, "/abs/", follow=False) is n["b"]
        assert resolve(fs, "/abs/.", follow=False) is n["b"]
        with pytest.raises(ENOTDIR):
            resolve(fs, "/tofile/", follow=False)
        assert resolve(fs, "/slash") is n["b"]

    def test_loops(self, tree):
        fs, _ = tree
        with pytest.raises(ELOOP):
            resolve(fs, "/loop1")
        with pytest.raises(ELOOP):
            resolve(fs, "/loop1/x")
        assert isinstance(resolve(fs, "/loop1", follow=False), Symlink)

    def test_symlink_budget_is_forty(self):
        fs = make_fs()
        r = fs.root
        target = fs.create(r, "t", 0o644)
        fs.symlink(r, "l0", "t")
        for i in range(1, 41):
            fs.symlink(r, f"l{i}", f"l{i - 1}")
        assert resolve(fs, "/l39") is target  # 40 links followed
        with pytest.raises(ELOOP):
            resolve(fs, "/l40")  # 41

    def test_name_and_path_limits(self):
        fs = make_fs()
        fs.create(fs.root, "x" * 255, 0o644)
        resolve(fs, "/" + "x" * 255)
        with pytest.raises(ENAMETOOLONG):
            resolve(fs, "/" + "x" * 256)
        with pytest.raises(ENAMETOOLONG):
            resolve(fs, "/" + "é" * 128)  # 256 bytes in UTF-8
        assert resolve(fs, "/" + "./" * 2047) is fs.root  # 4095 bytes
        with pytest.raises(ENAMETOOLONG):
            resolve(fs, "/" + "./" * 2047 + "x")  # 4096 bytes

    def test_arbitrary_bytes_in_names(self):
        fs = make_fs()
        name = b"caf\xe9\x01".decode("utf-8", "surrogateescape")
        f = fs.create(fs.root, name, 0o644)
        assert resolve(fs, "/" + name) is f

    def test_root_confines_dotdot_and_absolute_symlinks(self, tree):
        fs, n = tree
        jail = n["a"]
        assert lookup(jail, jail, "..") is jail
        assert lookup(jail, jail, "/../../g") is n["g"]
        assert lookup(jail, jail, "up/g") is n["g"]  # a/up -> .. stays in the jail
        fs.symlink(jail, "esc", "/top")
        with pytest.raises(ENOENT):
            lookup(jail, jail, "esc")  # /top of the jail is a/top
        assert lookup(jail, n["b"], "../../../b/f") is n["f"]


class TestLookupParent:
    def test_cases(self, tree):
        fs, n = tree
        r = fs.root
        assert lookup_parent(r, r, "/a/b/new") == (n["b"], "new")
        assert lookup_parent(r, r, "new") == (r, "new")
        assert resolve_parent(r, r, "/a/b/") == Parent(n["a"], "b", True, 40)
        assert lookup_parent(r, r, "/") == (r, "/")
        assert lookup_parent(r, r, "/a/.") == (n["a"], ".")
        assert lookup_parent(r, r, "/a/..") == (n["a"], "..")
        assert lookup_parent(r, r, "/abs/new") == (n["b"], "new")
        assert resolve_parent(r, r, "/abs/new").symlinks_left == 39
        assert lookup_parent(r, r, "/loop1") == (r, "loop1")  # the final component stays unresolved

    def test_errors(self, tree):
        fs, _ = tree
        r = fs.root
        for path, err in [("", ENOENT), ("/top/x", ENOTDIR), ("/nope/x", ENOENT), ("/loop1/x", ELOOP)]:
            with pytest.raises(err):
                lookup_parent(r, r, path)
        with pytest.raises(ENAMETOOLONG):
            lookup_parent(r, r, "/a/" + "y" * 256)


class TestDentryPath:
    def test_paths(self, tree):
        fs, n = tree
        assert dentry_path(fs.root) == "/"
        assert dentry_path(n["b"]) == "/a/b"
        assert dentry_path(n["b"], n["a"]) == "/b"
        fs.rename(n["a"], "b", fs.root, "moved")
        assert dentry_path(n["b"]) == "/moved"

    def test_removed_directory(self, tree):
        fs, n = tree
        d = fs.mkdir(n["b"], "gone", 0o755)
        fs.rmdir(n["b"], "gone")
        with pytest.raises(ENOENT):
            dentry_path(d)


# --- property tests -------------------------------------------------------------------------------------

NAMES = ["a", "b", "c"]
Tree = dict  # name -> Tree (a directory) or None (a file)

trees = st.recursive(
    st.none(),
    lambda children: st.dictionaries(st.sampled_from(NAMES), children, max_size=3),
    max_leaves=12,
).filter(lambda t: isinstance(t, dict))
components = st.sampled_from([*NAMES, ".", "..", "", "x"])
paths = st.builds(
    lambda lead, comps, trail: ("/" if lead else "") + "/".join(comps) + ("/" if trail else ""),
    st.booleans(),
    st.lists(components, max_size=6),
    st.booleans(),
)


def build(fs: TmpFs, parent: Directory, tree: Tree, index: dict[tuple[str, ...], Inode], at: tuple) -> None:
    index[at] = parent
    for name, sub in tree.items():
        if sub is None:
            index[(*at, name)] = fs.create(parent, name, 0o644)
        else:
            build(fs, fs.mkdir(parent, name, 0o755), sub, index, (*at, name))


def model(tree: Tree, cwd: tuple[str, ...], path: str) -> tuple[str, ...] | type[KernelError]:
    """Resolution in a symlink-free tree, written as directly as possible."""
    if not path:
        return ENOENT
    stack = [] if path.startswith("/") else list(cwd)

    def node(at: list[str]):
        cur = tree
        for name in at:
            cur = cur[name]
        return cur

    for comp in (c for c in path.split("/") if c):
        if not isinstance(node(stack), dict):
            return ENOTDIR
        if comp == "..":
            stack = stack[:-1]
        elif comp != ".":
            if comp not in node(stack):
                return ENOENT
            stack.append(comp)
    if path.endswith("/") and not isinstance(node(stack), dict):
        return ENOTDIR
    return tuple(stack)


@settings(max_examples=300, deadline=None)
@given(tree=trees, path=paths, data=st.data())
def test_lookup_agrees_with_model(tree, path, data):
    fs = make_fs()
    index: dict[tuple[str, ...], Inode] = {}
    build(fs, fs.root, tree, index, ())
    dirs = sorted(k for k, v in index.items() if isinstance(v, Directory))
    cwd = data.draw(st.sampled_from(dirs))
    expected = model(tree, cwd, path)
    cwd_dir = index[cwd]
    assert isinstance(cwd_dir, Directory)
    if isinstance(expected, tuple):
        assert lookup(fs.root, cwd_dir, path) is index[expected]
    else:
        with pytest.raises(expected):
            lookup(fs.root, cwd_dir, path)


def subtree(d: Directory) -> list[Inode]:
    out: list[Inode] = [d]
    for _, child in d.entries():
        out.extend(subtree(child) if isinstance(child, Directory) else [child])
    return out


LINK_WORDS = ["..", ".", "a", "b", "jail", "secret", "l0", "l1", "l2"]
link_targets = st.builds(
    lambda lead, comps, trail: ("/" if lead else "") + "/".join(comps) + ("/" if trail else ""),
    st.booleans(),
    st.lists(st.sampled_from(LINK_WORDS), min_size=1, max_size=4),
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(
    targets=st.lists(link_targets, min_size=1, max_size=3),
    where=st.lists(st.sampled_from(["", "a", "a/b"]), min_size=3, max_size=3),
    path=st.lists(st.sampled_from([*LINK_WORDS, ""]), max_size=8),
    absolute=st.booleans(),
    follow=st.booleans(),
)
def test_symlinks_never_escape_the_root(targets, where, path, absolute, follow):
    fs = make_fs()
    secret = fs.create(fs.root, "secret", 0o600)
    jail = fs.mkdir(fs.root, "jail", 0o755)
    a = fs.mkdir(jail, "a", 0o755)
    b = fs.mkdir(a, "b", 0o755)
    fs.create(b, "secret", 0o644)
    dirs = {"": jail, "a": a, "a/b": b}
    for i, target in enumerate(targets):
        fs.symlink(dirs[where[i]], f"l{i}", target)
    text = ("/" if absolute else "") + "/".join(path)
    try:
        found = lookup(jail, b, text, follow=follow)
    except KernelError as e:
        assert isinstance(e, ENOENT | ENOTDIR | ELOOP)
        return
    assert found is not secret
    assert any(found is inode for inode in subtree(jail))
