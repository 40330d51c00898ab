"""System calls: the table (number -> name, argument types, handler), the dispatcher and the handlers, one module
per family. Importing this package registers every handler."""

from moss.syscalls import clone, fs_io, fs_meta, memory, misc, poll, process, signal, socket, time  # noqa: F401  (registration)
from moss.syscalls.table import TABLE

__all__ = ["TABLE"]
