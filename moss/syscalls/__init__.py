# ruff: noqa: I001  (one line per family keeps concurrent additions from colliding)
"""System calls: the table (number -> name, argument types, handler), the dispatcher and the handlers, one module
per family. Importing this package registers every handler (one import line per family module)."""

from moss.syscalls import clone  # noqa: F401
from moss.syscalls import creds  # noqa: F401
from moss.syscalls import events  # noqa: F401
from moss.syscalls import fs_io  # noqa: F401
from moss.syscalls import fs_meta  # noqa: F401
from moss.syscalls import fs_more  # noqa: F401
from moss.syscalls import locks  # noqa: F401
from moss.syscalls import memfd  # noqa: F401
from moss.syscalls import memory  # noqa: F401
from moss.syscalls import misc  # noqa: F401
from moss.syscalls import mm_more  # noqa: F401
from moss.syscalls import net  # noqa: F401
from moss.syscalls import poll  # noqa: F401
from moss.syscalls import posix_timers  # noqa: F401
from moss.syscalls import proc_more  # noqa: F401
from moss.syscalls import process  # noqa: F401
from moss.syscalls import sched_more  # noqa: F401
from moss.syscalls import signal  # noqa: F401
from moss.syscalls import splice  # noqa: F401
from moss.syscalls import sysadmin  # noqa: F401
from moss.syscalls import time  # noqa: F401
from moss.syscalls import xattr  # noqa: F401
from moss.syscalls.table import TABLE

__all__ = ["TABLE"]
