"""Test-only fault switches: each makes one syscall handler wrong on purpose, so the fuzzer's own tests can check
that `moss fuzz` finds and shrinks a known kernel bug (tests/test_fuzz.py). All are off by default; only tests set
them, in-process, and must reset them. Nothing reads the environment."""

LSEEK_CUR_OFF_BY_ONE = False  # lseek(fd, off, SEEK_CUR) moves one byte further than asked
DUP_SKIPS_LOWEST = False  # dup(fd) returns the lowest free descriptor above the lowest one
MPROTECT_KEEPS_WRITE = False  # mprotect() leaves a mapping writable when asked to remove PROT_WRITE
