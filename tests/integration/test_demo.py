"""`make demo` stops everything it started when it is interrupted (Ctrl-C, or SIGTERM from a CI
timeout) in the middle of its DAG runs, and exits 130; the full demo itself runs in `.ci/run`.

The demo runs in a folder of the test's own (``AIGC_DEMO_DIR``); every process it started (the
simulator, moto, the api-server, the `airflow dags test` runs and their children) is recorded
while it runs and must be gone after it exits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
RUNNING_MARK = "answers its approval through the REST API"
START_SECONDS = 240.0
STOP_SECONDS = 90.0


def descendants(process: psutil.Process) -> set[psutil.Process]:
    try:
        return set(process.children(recursive=True))
    except psutil.NoSuchProcess:
        return set()


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_demo_leaves_nothing_running(tmp_path: Path, signum: signal.Signals) -> None:
    log = tmp_path / "demo.log"
    env = {**os.environ, "AIGC_DEMO_DIR": str(tmp_path / "demo"), "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as output:
        demo = subprocess.Popen(
            [sys.executable, str(REPO / "scripts" / "demo.py")],
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    started: set[psutil.Process] = set()
    try:
        deadline = time.monotonic() + START_SECONDS
        while RUNNING_MARK not in log.read_text(errors="replace"):
            assert demo.poll() is None, log.read_text(errors="replace")[-4000:]
            assert time.monotonic() < deadline, "the demo never started its DAG runs"
            time.sleep(0.5)
        time.sleep(3)  # let the runs spawn their own children
        started = descendants(psutil.Process(demo.pid))
        names = " ".join(" ".join(p.cmdline()) for p in started if alive(p))
        assert "moto.server" in names
        assert "simulator" in names
        assert "api-server" in names
        assert names.count("dags test") >= 2

        demo.send_signal(signum)
        returncode = demo.wait(timeout=STOP_SECONDS)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    output = log.read_text(errors="replace")
    assert returncode == 130, output[-4000:]
    assert "interrupted; stopping everything the demo started" in output
    left = [" ".join(p.cmdline()) for p in started if alive(p)]
    assert left == []
