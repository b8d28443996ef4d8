"""A worker killed right after the vendor accepted a job: the task's retry reuses the job.

The operators' integration test (tests/integration/test_submit_wait.py::
test_a_submit_retried_after_a_crash_reuses_the_accepted_job) proves the same in real Airflow with
a task that raises after submitting. This one kills the worker process outright (SIGKILL, so no
exception handling runs) and runs the retry in a fresh process against the same task state.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.reliability.helpers import submissions

if TYPE_CHECKING:
    from tests.conftest import SimulatorServer

ROOT = Path(__file__).resolve().parents[2]


def worker(store: Path, prompt: str, mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.reliability.killed_worker", str(store), prompt, mode],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )


@pytest.mark.scenario("pipeline.worker-killed")
def test_retry_after_a_killed_worker_reuses_the_job(sim: SimulatorServer, tmp_path: Path) -> None:
    store = tmp_path / "task_state_store.json"
    prompt = f"荷塘月色 {uuid.uuid4().hex[:8]}"

    killed = worker(store, prompt, "kill")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    saved = json.loads(store.read_text())["aigc_job"]["job"]
    assert [job["job_id"] for job in submissions(sim, "zhipu")] == [saved["job_id"]]

    retried = worker(store, prompt, "retry")
    assert retried.returncode == 0, retried.stderr[-3000:]
    (line,) = [line for line in retried.stdout.splitlines() if line.startswith("JOBREF ")]
    assert json.loads(line.removeprefix("JOBREF "))["job_id"] == saved["job_id"]
    assert f"Reusing job {saved['job_id']}" in retried.stdout + retried.stderr
    assert len(submissions(sim, "zhipu")) == 1  # bought once


@pytest.mark.scenario("pipeline.worker-killed")
def test_retry_with_other_parameters_buys_a_new_job(sim: SimulatorServer, tmp_path: Path) -> None:
    """The saved job is reused only for the same request: a changed prompt is a new purchase."""
    store = tmp_path / "task_state_store.json"
    killed = worker(store, f"旧的 {uuid.uuid4().hex[:8]}", "kill")
    assert killed.returncode == -signal.SIGKILL
    retried = worker(store, f"新的 {uuid.uuid4().hex[:8]}", "retry")
    assert retried.returncode == 0, retried.stderr[-3000:]
    assert len(submissions(sim, "zhipu")) == 2
