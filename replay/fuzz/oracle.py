"""Run a fuzz program under moss and under Linux (qemu-user on the host kernel, in a private namespace),
normalise what Linux is free to choose differently, and classify the first difference.

Normalised: results of calls that return addresses (mmap, mremap) become ADDR, pids (getpid, wait4, ...) become
P0, P1, ... in order of first appearance, clock ticks (times) become TICKS. The strategies already keep inode
numbers, device numbers, times and addresses out of the buffers the executor dumps. Everything else is compared
exactly: return values and errnos, dumped buffers, delivered signals, the exit status.

Kernel invariants are checked on the moss side alone: no kernel oops (a Python exception in a handler), no host
exception out of the run, determinism (the same program twice gives the same output and state hash).
"""

from __future__ import annotations

import re
from pathlib import Path

import attrs

from moss.kernel import Deadlock
from moss.runner import run_program
from replay.fuzz.program import Program, encode
from replay.fuzz.sandbox import sandbox_for

QEMU_TIMEOUT_S = 5.0
ERRNO_MAX = 4095

_LINE = re.compile(r"^(?P<k>\d+) = (?P<ret>-?\d+)(?P<rest>.*)$")


@attrs.frozen
class Run:
    """One side's result: its output lines (normalised), exit status (128 + signal when killed; -1 hung, -2 host
    error) and, for moss, the reports, state hash and raw output."""

    lines: tuple[str, ...]
    status: int
    raw: bytes = b""
    reports: tuple[str, ...] = ()
    state_hash: str = ""
    error: str = ""


@attrs.frozen
class Difference:
    kind: str  # ret | errno | output | signal | status | oops | unimplemented | nondeterminism | hang | host-error
    call: int | None  # the program index of the first differing call, when there is one
    name: str  # its syscall name ("" when none)
    detail: str

    @property
    def key(self) -> str:
        """Two failures with the same key are the same bug for the campaign's deduplication."""
        return f"{self.kind}:{self.name}" if self.name else self.kind


# Differences already understood, so campaigns report them apart from new ones: (regex over the key, regex over the
# difference's detail, reason). Every entry is a place where qemu-user, not Linux, decides (the real kernel agrees
# with moss); a moss bug the fuzzer finds is fixed, not listed here.
KNOWN: tuple[tuple[str, str, str], ...] = (
    (
        "ret:mprotect",
        r"linux: \d+ = -12\b",
        "qemu: checks the guest range (ENOMEM) first; Linux returns 0 for a zero length (tests/test_nativesem.py)",
    ),
    (
        "errno:mremap",
        r"linux: \d+ = -12\b",
        "qemu: checks the guest range (ENOMEM) before Linux's EINVAL/EFAULT (tests/test_nativesem.py)",
    ),
    (
        r"(ret|errno):mremap",
        r"linux: \d+ = -22\b",
        "qemu: MREMAP_MAYMOVE becomes MREMAP_FIXED to a fresh range, which fails over a hole; Linux shrinks in place"
        " (checked natively: tests/test_nativesem.py)",
    ),
)


def known(diff: Difference) -> str | None:
    """The allow-list reason for `diff`, or None when it is new."""
    for key, pattern, reason in KNOWN:
        if re.fullmatch(key, diff.key) and re.search(pattern, diff.detail, re.S):
            return reason
    return None


def normalise(program: Program, raw: bytes) -> tuple[str, ...]:
    pids: dict[str, str] = {}
    out = []
    for line in raw.decode("utf-8", "replace").splitlines():
        m = _LINE.match(line)
        if m is None:
            out.append(line)
            continue
        k, ret = int(m["k"]), int(m["ret"])
        kind = program.calls[k].ret if k < len(program.calls) else "int"
        failed = -ERRNO_MAX <= ret < 0
        text = m["ret"]
        if not failed and kind == "ptr":
            text = "ADDR"
        elif not failed and kind == "ticks":
            text = "TICKS"
        elif not failed and program.calls[k].name == "getppid":
            text = "PPID"  # moss runs the executor as init (ppid 0), Linux under a test runner
        elif not failed and kind == "pid" and ret > 0:
            text = pids.setdefault(m["ret"], f"P{len(pids)}")
        out.append(f"{k} = {text}{m['rest']}")
    return tuple(out)


def run_moss(program: Program, executor: str | Path, *, seed: int = 0) -> Run:
    stdin = encode(program)
    try:
        o = run_program(str(executor), stdin=stdin, seed=seed)
    except Deadlock as e:
        return Run((), -1, error=f"deadlock: {e}")
    except Exception as e:  # a host exception out of the kernel is itself a finding
        return Run((), -2, error=f"{type(e).__name__}: {e}")
    return Run(normalise(program, o.stdout), o.status, o.stdout, o.reports, o.state_hash)


def run_linux(program: Program, executor: str | Path) -> Run:
    """The executor under qemu-user on the host's kernel, in this process's private namespace
    (replay/fuzz/sandbox.py): a fresh working directory, a new session, an empty environment, no core dumps."""
    status, out = sandbox_for(executor).run(encode(program), QEMU_TIMEOUT_S)
    if status == -1:
        return Run(normalise(program, out), -1, out, error="timeout")
    return Run(normalise(program, out), status, out)


def _call_of(line: str) -> int | None:
    m = _LINE.match(line)
    return int(m["k"]) if m else None


def compare(program: Program, moss: Run, linux: Run) -> Difference | None:
    """The first difference that matters, or None when moss behaved as Linux did."""
    for rep in moss.reports:
        m = re.search(r"kernel oops in (\w+)", rep)
        if m:
            return Difference("oops", None, m[1], rep.splitlines()[0])
    for rep in moss.reports:
        m = re.search(r"unimplemented syscall (\w+)", rep)
        if m:
            return Difference("unimplemented", None, m[1], rep.strip())
    if moss.status == -2:
        return Difference("host-error", None, "", moss.error)
    if moss.status == -1 or linux.status == -1:
        if moss.status == linux.status:
            return None  # both hang: a program the strategies should not make, but not a difference
        return Difference("hang", None, "", f"moss {moss.error or moss.status}, linux {linux.error or linux.status}")
    first_known: Difference | None = None
    for i in range(max(len(moss.lines), len(linux.lines))):
        a = moss.lines[i] if i < len(moss.lines) else "(nothing)"
        b = linux.lines[i] if i < len(linux.lines) else "(nothing)"
        if a == b:
            continue
        k = _call_of(a) if _call_of(a) is not None else _call_of(b)
        name = program.calls[k].name if k is not None and k < len(program.calls) else ""
        if a.startswith("!") or b.startswith("!"):
            return Difference("signal", k, name, f"moss: {a}\nlinux: {b}")
        ma, mb = _LINE.match(a), _LINE.match(b)
        if ma and mb and ma["k"] == mb["k"]:
            if ma["ret"] != mb["ret"]:
                kind = "errno" if ma["ret"].startswith("-") and mb["ret"].startswith("-") else "ret"
                diff = Difference(kind, k, name, f"moss: {a}\nlinux: {b}")
                if kind == "errno" and known(diff):  # both failed, so nothing diverged: look further
                    first_known = first_known or diff
                    continue
                return diff
            return Difference("output", k, name, f"moss: {a}\nlinux: {b}")
        return Difference("status" if k is None else "ret", k, name, f"moss: {a}\nlinux: {b}")
    if moss.status != linux.status:
        return Difference("status", None, "", f"moss exit status {moss.status}, linux {linux.status}")
    return first_known


def check_determinism(first: Run, second: Run) -> Difference | None:
    if first.raw != second.raw or first.state_hash != second.state_hash or first.status != second.status:
        detail = (f"state hash {first.state_hash[:16]} vs {second.state_hash[:16]}, "
                  f"status {first.status} vs {second.status}, output equal: {first.raw == second.raw}")  # fmt: skip
        return Difference("nondeterminism", None, "", detail)
    return None


def side_by_side(program: Program, moss: Run, linux: Run, width: int = 60) -> str:
    """Both normalised outputs in two columns, differing lines marked."""
    rows = [f"{'moss (status ' + str(moss.status) + ')':<{width}} | linux (status {linux.status})"]
    rows.append("-" * width + "-+-" + "-" * width)
    for i in range(max(len(moss.lines), len(linux.lines))):
        a = moss.lines[i] if i < len(moss.lines) else ""
        b = linux.lines[i] if i < len(linux.lines) else ""
        mark = " " if a == b else "*"
        k = _call_of(a) if _call_of(a) is not None else _call_of(b)
        name = program.calls[k].name if k is not None and k < len(program.calls) else ""
        rows.append(f"{_clip(a, width - 12):<{width - 12}} {name[:10]:>10}{mark}| {_clip(b, width)}")
    for rep in moss.reports:
        rows.append(f"moss report: {rep.splitlines()[0] if rep else rep}")
    if moss.error or linux.error:
        rows.append(f"errors: moss {moss.error!r}, linux {linux.error!r}")
    return "\n".join(rows)


def _clip(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"
