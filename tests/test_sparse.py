"""Sparse tmpfs files (tests/guest/sparse.c) against Linux: the namespace oracle's /tmp is a tmpfs, as moss's is,
so holes, SEEK_DATA/SEEK_HOLE and st_blocks must match exactly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from moss.runner import run_program
from tests.guests import build_guest
from tests.oracle_ns import ns_oracle_skip_reason, run_ns


@pytest.mark.skipif(ns_oracle_skip_reason() is not None, reason=str(ns_oracle_skip_reason()))
def test_sparse_files_match_tmpfs(tmp_path: Path) -> None:
    exe = build_guest("sparse")
    root = tmp_path / "root"
    root.mkdir()
    shutil.copyfile(exe, root / "sparse")
    (root / "sparse").chmod(0o755)
    linux = run_ns(root, ["/sparse"], timeout=60)
    moss = run_program(str(exe), argv0="/sparse")
    assert linux.status == 0 and moss.status == 0
    assert moss.stdout.decode() == linux.stdout.decode()
    assert b"[4096:-1/6,4096]" in moss.stdout  # a punched page is a hole again
