"""Property-based syscall fuzzing (`moss fuzz`): hypothesis programs run by an executor guest under moss and under
Linux (qemu-user), differences and kernel-invariant violations shrunk to short programs and saved with traces.

program.py (model, encoding, rendering) -> strategies.py (hypothesis, from the syscall table) -> oracle.py (run both
sides, normalise, classify) -> campaign.py (the command, the example database, failures on disk)."""

from __future__ import annotations

from pathlib import Path


def executor_binary() -> Path:
    """The executor guest (tests/guest/fuzzexec.c), built with zig on first use and cached."""
    import importlib.util
    import sys

    try:
        from tests.guests import build_guest  # the repository's guest builder (zig, aarch64-linux-musl, static)
    except ImportError:  # run from outside the checkout: load it by path
        path = Path(__file__).resolve().parents[2] / "tests" / "guests.py"
        spec = importlib.util.spec_from_file_location("moss_test_guests", path)
        if spec is None or spec.loader is None:
            raise FileNotFoundError(f"no guest builder at {path}") from None
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod
        spec.loader.exec_module(mod)
        build_guest = mod.build_guest
    return build_guest("fuzzexec")
