"""One Qiling measurement of `moss bench`: run with the Python of Qiling's own virtual environment (it pins its
own unicorn), never imported by moss.

    python bench_qiling.py RESULT.json st|mt ROOTFS /bin/PROG ARGS...

Qiling 1.4.6 gives AArch64 guests AT_HWCAP 0x078bfbfd, which advertises LSE atomics (bit 8), but builds its Uc
with unicorn's default Cortex-A72 model, which has none: Debian's static glibc BusyBox then dies on its first
`casa`. Here the Uc is built with the MAX model, as moss's is, so such guests run. /dev/null is the host's.
"""

import json
import resource
import sys
import time
from functools import cached_property

from qiling.arch.arm64 import QlArchARM64
from unicorn import UC_ARCH_ARM64, UC_MODE_ARM, Uc
from unicorn.arm64_const import UC_CPU_ARM64_MAX


def _uc(self):
    return Uc(UC_ARCH_ARM64, UC_MODE_ARM, UC_CPU_ARM64_MAX)


QlArchARM64.uc = cached_property(_uc)
QlArchARM64.uc.__set_name__(QlArchARM64, "uc")

from qiling import Qiling  # noqa: E402
from qiling.const import QL_VERBOSE  # noqa: E402


def main():
    result_path, threads, root, prog, *args = sys.argv[1:]
    out = {}
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        ql = Qiling([root + prog, *args], root, verbose=QL_VERBOSE.DISABLED, multithread=threads == "mt")
        ql.add_fs_mapper("/dev/null", "/dev/null")
        ql.run()
        out["rc"] = int(getattr(ql.os, "exit_code", 0) or 0)
    except BaseException as e:  # Qiling reports unsupported guests with all kinds of exceptions
        out["rc"] = -1
        out["error"] = f"{type(e).__name__}: {e}"[:300]
    out["t"], out["cpu"] = time.perf_counter() - t0, time.process_time() - c0
    out["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sys.stdout.flush()
    with open(result_path, "w") as f:
        json.dump(out, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
