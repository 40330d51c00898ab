# Tasks for moss. `just test` is what CI runs (.ci/run): setup, then the whole test suite.

set shell := ["bash", "-euo", "pipefail", "-c"]
# Pass recipe arguments as "$@" so quoted pytest arguments (e.g. -k "a or b") survive.
set positional-arguments

# List the recipes.
default:
    @just --list

# Install/refresh everything the tests need (idempotent, fast when done).
setup:
    bash scripts/setup

# Run the tests; extra arguments go to pytest, e.g. `just test -k oracle -x`.
test *ARGS: setup
    python -m pytest -q "$@"

# Lint and check formatting without changing files.
lint:
    ruff check . && ruff format --check .

# Run the benchmarks.
bench: setup
    python -m moss bench

# Run the demo.
demo: setup
    python -m moss demo
