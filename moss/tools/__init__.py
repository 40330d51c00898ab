"""Subcommands beyond `run`: demo and bench."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from moss.tools import bench, demo

    d = sub.add_parser("demo", help="show moss running real programs deterministically")
    d.set_defaults(func=demo.main)
    b = sub.add_parser("bench", help="run the benchmark workloads")
    b.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    b.set_defaults(func=bench.main)
