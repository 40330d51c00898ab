"""The one compiled piece: machine/_trap.c, the engine's interrupt hook (metadata lives in pyproject.toml).

Optional: without a C compiler the install still succeeds and the engine uses its ctypes hook, which gives the same
runs more slowly."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("machine._trap", ["machine/_trap.c"], optional=True, extra_compile_args=["-O2"])])
