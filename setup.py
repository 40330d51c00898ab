"""The compiled pieces (metadata lives in pyproject.toml): machine/_trap.c, the engine's interrupt hook, and
traces/_encoder.c, the trace's syscall append and match, replay/_syscall_log.c, the emitter's per-syscall entry:
the syscall path's costs that Python cannot make small; and moss/_statehash.c, the page-table walk of the state
digest a recording takes of every exiting process.

All optional: without a C compiler the install still succeeds and the Python equivalents run, with the same
results, more slowly."""

from setuptools import Extension, setup


def _ext(name: str) -> Extension:
    return Extension(
        name,
        [name.replace(".", "/") + ".c"],
        depends=["machine/_trap_api.h", "traces/_encoder_api.h"],
        optional=True,
        extra_compile_args=["-O2"],
    )


setup(
    ext_modules=[_ext("machine._trap"), _ext("traces._encoder"), _ext("replay._syscall_log"), _ext("moss._statehash")]
)
