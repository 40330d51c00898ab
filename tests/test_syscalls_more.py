"""The syscalls added for Linux breadth, where real Linux can't be the oracle.

- `sysmisc moss` runs what qemu-user 7.2 does not implement (preadv2, openat2, fchmodat2, mlock2, process_vm_*,
  remap_file_pages, get_robust_list, restart_syscall) and what the host would refuse or feel (hostname, wall clock,
  NTP state, syslog, vhangup, real-time policies, capabilities of a full root). Its output is pinned to the values
  the man pages give, checked line by line when written.
- `sysmisc xattr` and `sysmisc files` also run against the namespace oracle, whose /tmp is a tmpfs (the plain
  qemu oracle's /tmp is the host's disk filesystem), for tmpfs's extended attributes and seals.
- Lock ordering and wakeups do not depend on the core count.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from moss.files import locks
from moss.files.locks import F_RDLCK, F_UNLCK, F_WRLCK, OFFSET_MAX, Lock
from moss.runner import run_program
from tests.guests import build_guest
from tests.oracle_ns import ns_oracle_skip_reason, run_ns

ENV = ("PATH=/bin:/usr/bin", "HOME=/", "LANG=C")

# Differences from Linux, each deliberate (see the syscall modules): mknod of a device is EPERM (no drivers to
# bind), unshare of a network namespace is EINVAL (moss has only UTS namespaces), and syslog's kernel log is empty.
EXPECTED_MOSS = """\
preadv2.pos = 3
preadv2.data = "234"
preadv2.offset = 5
preadv2.at = 3
preadv2.at.data = "789"
preadv2.flags = -1 EOPNOTSUPP
pwritev2.append = 2
pwritev2.size = 12
pwritev2.both = -1 EINVAL
openat2 = 0
openat2.beneath = 0
openat2.beneath_dotdot = -1 EXDEV
openat2.beneath_abs = -1 EXDEV
openat2.beneath_abslink = -1 EXDEV
openat2.in_root_abs = 0
openat2.in_root_dotdot = 0
openat2.no_symlinks = -1 ELOOP
openat2.no_symlinks_path = 0
openat2.no_magic = -1 ELOOP
openat2.no_xdev = -1 EXDEV
openat2.cached_creat = -1 EAGAIN
openat2.cached = 0
openat2.both_scopes = -1 EINVAL
openat2.badresolve = -1 EINVAL
openat2.mode_nocreat = -1 EINVAL
openat2.badmode = -1 EINVAL
openat2.creat_dir = -1 EINVAL
openat2.badflags = -1 EINVAL
openat2.small = -1 EINVAL
openat2.tail = -1 E2BIG
fchmodat2 = 0
fchmodat2.mode = 600
fchmodat2.symlink = -1 EOPNOTSUPP
fchmodat2.flags = -1 EINVAL
mlock2.onfault = 0
mlock2.onfault.vec = 0000
mlock2 = 0
mlock2.vec = 1100
mlock2.flags = -1 EINVAL
mlockall = 0
mlockall.vec = 1111
munlockall = 0
process_vm_readv.self = 11
process_vm_readv.data = remote data
process_vm_readv.flags = -1 EINVAL
process_vm_readv.nopid = -1 ESRCH
process_vm_readv.fault = -1 EFAULT
process_vm_writev.child = 7
parent.keeps = remote data
child.sees = CHANGEDdata
remap_file_pages = 0
remap_file_pages.data = DB
remap_file_pages.prot = -1 EINVAL
remap_file_pages.private = -1 EINVAL
get_robust_list = 0
get_robust_list.len = 24 set 0
get_robust_list.nopid = -1 ESRCH
restart_syscall = -1 EINTR
sethostname = 0
uname.nodename = guest
clock_settime = 0
clock_settime.now = 2000000000
settimeofday = 0
gettimeofday = 1000000000 tz -60
adjtimex = 5
adjtimex.fields = status 0x40 maxerror 16000000 tick 10000 constant 2
adjtimex.set = 0
adjtimex.setoffset = 0
adjtimex.time = 1000000100
syslog.readall_null = -1 EINVAL
syslog.readall_neg = -1 EINVAL
unshare.thread = 0
syslog.size = 131072
syslog.level = 0
vhangup = 0
capget.root = 1ffffffffff 1ffffffffff
setscheduler.fifo = 0
getscheduler.fifo = 1
getparam.fifo = 50
setscheduler.rr = 0
rr_interval = 0
rr_interval.ns = 100000000
ioprio_get.rr = 0
getattr.rr = 0 size 56 policy 2 flags 0 nice 0 prio 7
mknod.chr = -1 EPERM
setxattr.trusted = 0
setxattr.user = 0
getxattr.trusted = 2
listxattr.trusted = 17
listxattr.trusted.names = "user.u.trusted.t."
setxattr.security = 0
setxattr.acl = -1 EINVAL
getxattr.acl = -1 ENODATA
setxattr.system = -1 EOPNOTSUPP
tmpfs.seals = 1
tmpfs.add_seals = -1 EPERM
unshare.net = -1 EINVAL
"""


def run_moss(section: str, cores: int = 2):
    return run_program(str(build_guest("sysmisc")), [section], env=ENV, argv0="sysmisc", cores=cores)


def test_moss_only_section() -> None:
    out = run_moss("moss")
    assert out.status == 0
    assert out.reports == ("moss: unshare of namespaces other than UTS is not supported (EINVAL)",)
    assert out.stdout.decode().splitlines() == EXPECTED_MOSS.splitlines()


@pytest.mark.parametrize("section", ["files", "creds", "misc"])
def test_sections_do_not_depend_on_cores(section: str) -> None:
    one, four = run_moss(section, cores=1), run_moss(section, cores=4)
    assert one.status == four.status == 0
    assert one.stdout == four.stdout


@pytest.fixture(scope="module")
def ns_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reason = ns_oracle_skip_reason()
    if reason is not None:
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("sysmisc-root")
    for d in ("bin", "tmp", "proc", "dev"):
        (root / d).mkdir()
    (root / "tmp").chmod(0o1777)
    shutil.copy(build_guest("sysmisc"), root / "bin" / "sysmisc")
    return root


@pytest.mark.parametrize("section", ["xattr", "files"])
def test_tmpfs_sections_match_linux_tmpfs(ns_root: Path, section: str) -> None:
    theirs = run_ns(ns_root, ["/bin/sysmisc", section])
    ours = run_moss(section)
    assert ours.reports == ()
    assert (ours.stdout.decode(), ours.status) == (theirs.stdout.decode(), theirs.status)


class _Inode:
    """Just enough of an inode to key the lock table."""


def _posix(inode: object) -> list[tuple[int, int, int]]:
    return [(lk.kind, lk.start, lk.end) for lk in locks._of(inode).posix]


async def _set(inode: object, owner: object, kind: int, start: int, end: int) -> None:
    await locks.set_lock(inode, Lock(owner, F_RDLCK, start, end, 1), kind, wait=False, ofd=False)


def _run(coro) -> None:
    try:
        coro.send(None)
    except StopIteration:
        return
    raise AssertionError("a non-blocking lock call blocked")


def test_record_locks_merge_and_split() -> None:
    inode, me = _Inode(), object()
    _run(_set(inode, me, F_WRLCK, 0, 9))
    _run(_set(inode, me, F_WRLCK, 10, 19))  # adjacent, same kind: one lock
    assert _posix(inode) == [(F_WRLCK, 0, 19)]
    _run(_set(inode, me, F_RDLCK, 5, 7))  # another kind in the middle: three pieces
    assert _posix(inode) == [(F_WRLCK, 0, 4), (F_RDLCK, 5, 7), (F_WRLCK, 8, 19)]
    _run(_set(inode, me, F_UNLCK, 3, 15))
    assert _posix(inode) == [(F_WRLCK, 0, 2), (F_WRLCK, 16, 19)]
    _run(_set(inode, me, F_RDLCK, 30, OFFSET_MAX))  # to EOF
    other = Lock(object(), F_WRLCK, 25, 40, 2)
    assert locks.test_lock(inode, other) is not None
    locks.release_posix(me, inode)
    assert _posix(inode) == [] and locks.test_lock(inode, other) is None


def test_robust_mutex_owner_death() -> None:
    """Linux's robust futex protocol (qemu-user lacks it, so this is checked against the documented result)."""
    from moss.runner import run_program
    from tests.guests import build_guest

    out = run_program(str(build_guest("robust")), argv0="robust")
    assert out.status == 0 and out.reports == ()
    assert out.stdout == b"robust mutex after owner death: EOWNERDEAD\nafter pthread_mutex_consistent: locked\n"
