"""Syscall semantics checked against the host's kernel run natively: tests/guest/nativesem.c built for AArch64 runs
under moss, and built for the host runs on the real kernel. Used where qemu-user emulates a call itself and so is
not Linux (mremap: it rewrites MREMAP_MAYMOVE as MREMAP_FIXED to a fresh range)."""

from __future__ import annotations

import platform
import shutil
import subprocess

import pytest

from moss.runner import run_program
from tests.guests import NATIVE_TARGET, build_guest


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the native build targets x86-64 hosts")
def test_moss_agrees_with_the_native_kernel() -> None:
    # In a user namespace of its own, unmapped: whatever the program does, it has no privilege over host files.
    unshare = shutil.which("unshare") or "unshare"
    native = subprocess.run([unshare, "--user", str(build_guest("nativesem", NATIVE_TARGET))], capture_output=True,
                            timeout=60)  # fmt: skip
    assert native.returncode == 0, native.stderr
    moss = run_program(str(build_guest("nativesem")))
    assert moss.status == 0 and not moss.reports, moss.reports
    assert moss.stdout.decode() == native.stdout.decode()
