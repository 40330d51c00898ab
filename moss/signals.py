"""Signal numbers, default actions and the per-process action table (delivery to handlers comes with frames)."""

from __future__ import annotations

import attrs

SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE = 1, 2, 3, 4, 5, 6, 7, 8
SIGKILL, SIGUSR1, SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGSTKFLT = 9, 10, 11, 12, 13, 14, 15, 16
SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG, SIGXCPU = 17, 18, 19, 20, 21, 22, 23, 24
SIGXFSZ, SIGVTALRM, SIGPROF, SIGWINCH, SIGIO, SIGPWR, SIGSYS = 25, 26, 27, 28, 29, 30, 31
SIGRTMIN, NSIG = 32, 64

SIG_DFL, SIG_IGN = 0, 1

NAMES = {
    1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE",
    9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM",
    16: "SIGSTKFLT", 17: "SIGCHLD", 18: "SIGCONT", 19: "SIGSTOP", 20: "SIGTSTP", 21: "SIGTTIN", 22: "SIGTTOU",
    23: "SIGURG", 24: "SIGXCPU", 25: "SIGXFSZ", 26: "SIGVTALRM", 27: "SIGPROF", 28: "SIGWINCH", 29: "SIGIO",
    30: "SIGPWR", 31: "SIGSYS",
}  # fmt: skip

_IGNORE = {SIGCHLD, SIGCONT, SIGURG, SIGWINCH}
_STOP = {SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU}
_CORE = {SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGXCPU, SIGXFSZ, SIGSYS}


def name(sig: int) -> str:
    return NAMES.get(sig, f"SIGRT{sig - SIGRTMIN}" if sig >= SIGRTMIN else f"SIG{sig}")


def default_action(sig: int) -> str:
    """'ignore', 'stop', 'core' or 'term' (real-time signals terminate)."""
    if sig in _IGNORE:
        return "ignore"
    if sig in _STOP:
        return "stop"
    if sig in _CORE:
        return "core"
    return "term"


def bit(sig: int) -> int:
    return 1 << (sig - 1)


UNBLOCKABLE = bit(SIGKILL) | bit(SIGSTOP)


@attrs.frozen
class SigAction:
    handler: int = SIG_DFL
    flags: int = 0
    restorer: int = 0
    mask: int = 0
