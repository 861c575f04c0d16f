"""Fixtures of the tune tests: ONE Ray per test session (ray.init costs ~9 s on 2 cores), small
object store, its own short temp folder; subprocess drivers join it through RAY_ADDRESS."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def ray_session():
    """The test session's Ray (2 CPUs, no dashboard, ~80 MB object store); yields its address."""
    ray = pytest.importorskip("ray")
    temp = tempfile.mkdtemp(prefix="rt", dir="/tmp")      # short: Ray's socket paths are limited
    started = False
    if not ray.is_initialized():
        ctx = ray.init(num_cpus=2, include_dashboard=False, object_store_memory=80 * 1024 ** 2,
                       _temp_dir=temp, log_to_driver=False)
        started = True
        address = ctx.address_info["gcs_address"]
    else:
        address = ray.get_runtime_context().gcs_address
    yield address
    if started:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


def search_env(address: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SSVAE_SPLIT_DIR", None)
    if address:
        env["RAY_ADDRESS"] = address
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def start_search(args: list[str], address: str | None, log: Path,
                 env: dict[str, str] | None = None) -> subprocess.Popen:
    """`python tune/search.py ARGS` as a driver joining the session's Ray (``env``: its whole
    environment instead of ``search_env(address)``), in its own process group (so the test can
    kill exactly it)."""
    handle = open(log, "ab")
    return subprocess.Popen([sys.executable, str(REPO / "tune" / "search.py"), *args],
                            cwd=REPO, env=env if env is not None else search_env(address),
                            stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)


def kill_group(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Signal the process group of a driver this test started (never anything else)."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


STARTED: list[subprocess.Popen] = []    # drivers a test started (it appends them)


@pytest.fixture(autouse=True)
def _no_driver_left():
    """Whatever happens in a test, no driver it started (listed in STARTED) outlives it."""
    yield
    while STARTED:
        proc = STARTED.pop()
        if proc.poll() is None:
            kill_group(proc, signal.SIGKILL)
            proc.wait(timeout=30)
