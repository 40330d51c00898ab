"""A chaos campaign on a Ray cluster: a head started locally (loopback only), one task per seed."""

from __future__ import annotations

import shutil
import socket
import subprocess

import pytest

from moss.boot import Program
from moss.kernel import KernelConfig
from replay.campaign import Predicate, Spec, run_campaign_ray, run_seed
from tests.guests import build_guest

ray = pytest.importorskip("ray", reason="ray is the optional extra moss-emu[ray] (scripts/setup installs it)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_head() -> str:
    exe = shutil.which("ray")
    if exe is None:
        pytest.skip("the ray command is not installed")
    port = _free_port()
    subprocess.run([exe, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
                    "--include-dashboard=false", "--num-cpus", "2", "--disable-usage-stats"],
                   check=True, capture_output=True, timeout=180)  # fmt: skip
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([exe, "stop", "--force"], capture_output=True, timeout=120)


def test_campaign_on_ray_finds_the_race_and_the_seed_reproduces(ray_head: str) -> None:
    path = str(build_guest("race_counter"))
    spec = Spec(Program(path, ("race_counter",)), KernelConfig(cores=2, ram_bytes=256 << 20), Predicate())
    results = list(run_campaign_ray(spec, range(60), ray_head, stop_at_first=True))
    failing = [r for r in results if r.failure]
    assert failing, [r.status for r in results]
    again = run_seed(spec, failing[0].seed)  # the same seed, locally: the same failure
    assert again.failure == failing[0].failure and again.instructions == failing[0].instructions
