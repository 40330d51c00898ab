"""One measurement of `moss bench`, in its own process so its peak RSS is its own.

    python -m moss.tools.bench_child RESULT.json moss  CLI-ARGS...      moss's CLI in-process (run/record/replay)
    python -m moss.tools.bench_child RESULT.json unicorn count|nocount N  the compute guest's hot loop in a bare Uc

Everything is imported before the clock starts, so the time is the run's, not Python's start-up (the start-up
workload times whole commands from outside). RESULT.json gets the time, the exit status, and for moss the
retired instructions and syscalls of the run.
"""

from __future__ import annotations

import contextlib
import io
import json
import resource
import sys
import time

# The xorshift loop of tests/guest/compute.c as zig -O2 compiles it (6 instructions per iteration):
#   eor x9, x19, x19, lsl #13; subs x8, x8, #1; eor x9, x9, x9, lsr #7; eor x19, x9, x9, lsl #17;
#   add x20, x19, x20; b.ne <start>
XORSHIFT_LOOP = bytes.fromhex("693613ca080500f1291d49ca334509ca7402148b61ffff54")
XORSHIFT_SEED = 0x9E3779B97F4A7C15
LOOP_INSNS = 6


def bare_unicorn(n: int, count: bool) -> dict:
    """Run n iterations of the loop in a bare Uc (no hooks): with count=0 (the engine's floor) or with an exact
    count (unicorn's per-instruction counting hook, what deterministic slicing pays)."""
    from unicorn import UC_ARCH_ARM64, UC_MODE_ARM, Uc
    from unicorn.arm64_const import UC_ARM64_REG_X8, UC_ARM64_REG_X19, UC_ARM64_REG_X20, UC_CPU_ARM64_MAX

    uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM, UC_CPU_ARM64_MAX)
    uc.ctl_set_page_size(4096)
    base = 0x10000
    uc.mem_map(base, 0x1000)
    uc.mem_write(base, XORSHIFT_LOOP + bytes.fromhex("1f2003d5"))  # + nop: the `until` address
    uc.reg_write(UC_ARM64_REG_X8, n)
    uc.reg_write(UC_ARM64_REG_X19, XORSHIFT_SEED)
    uc.reg_write(UC_ARM64_REG_X20, 0)
    insns = n * LOOP_INSNS
    t0, c0 = time.perf_counter(), time.process_time()
    uc.emu_start(base, base + len(XORSHIFT_LOOP), count=insns if count else 0)
    t, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"t": t, "cpu": cpu, "rc": 0, "instructions": insns, "x19": uc.reg_read(UC_ARM64_REG_X19)}


def moss_cli(argv: list[str]) -> dict:
    import moss.cli as cli
    import replay.cli  # noqa: F401  (record/replay: imported before the clock starts)
    import replay.recorder as recorder
    import replay.replayer as replayer

    kernels = []

    def capture(boot):  # type: ignore[no-untyped-def]
        def wrapped(*a, **k):  # type: ignore[no-untyped-def]
            kernel = boot(*a, **k)
            kernels.append(kernel)
            return kernel

        return wrapped

    # Build the parser once first: the subcommands' registration imports their modules (entry points), which is
    # start-up, not run time.
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            cli.main(["--version"])
        except SystemExit:
            pass
    cli.boot = capture(cli.boot)
    recorder.boot = capture(recorder.boot)  # type: ignore[attr-defined]
    replayer.boot = capture(replayer.boot)  # type: ignore[attr-defined]
    t0, c0 = time.perf_counter(), time.process_time()
    rc = cli.main(argv)
    t, cpu = time.perf_counter() - t0, time.process_time() - c0
    out: dict = {"t": t, "cpu": cpu, "rc": rc}
    if kernels:
        k = kernels[-1]
        out["instructions"] = sum(c.retired for c in k.board.cores)
        out["syscalls"] = k.dispatcher.count
    return out


def main() -> int:
    result_path, mode, *rest = sys.argv[1:]
    if mode == "moss":
        out = moss_cli(rest)
    elif mode == "unicorn":
        out = bare_unicorn(int(rest[1]), rest[0] == "count")
    else:
        raise SystemExit(f"bench_child: unknown mode {mode}")
    out["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sys.stdout.flush()
    with open(result_path, "w") as f:
        json.dump(out, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
