"""A worker killed around the paid submit: the next try never buys the job a second time.

Each try runs in a process of its own (tests/reliability/killed_worker.py) against the same task
state, kept in a file as Airflow keeps it in its database. The worker is SIGKILLed, so no
exception handling runs: once right after the vendor accepted the job (the retry reuses it), once
while the submit request is in flight at the simulator (the retry cannot know whether the job was
bought, so it refuses on its own and says how to decide). The operators' integration test
(tests/integration/test_submit_wait.py) proves the first case in real Airflow too.
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

from tests.reliability.helpers import fault, injected, submissions, wait_until

if TYPE_CHECKING:
    from tests.conftest import SimulatorServer

ROOT = Path(__file__).resolve().parents[2]
SLOW_SUBMIT = 3.0  # seconds the simulator holds the submit's answer: under the 5 s client timeout


def argv(store: Path, prompt: str, mode: str, try_number: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tests.reliability.killed_worker",
        str(store),
        prompt,
        mode,
        str(try_number),
    ]


def worker(store: Path, prompt: str, mode: str, try_number: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv(store, prompt, mode, try_number),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )


def failure(run: subprocess.CompletedProcess[str]) -> tuple[str, str]:
    """The (error class, cause class) a worker in ``run`` mode printed."""
    (line,) = [line for line in run.stdout.splitlines() if line.startswith("FAILED ")]
    error, cause = line.split()[1:3]
    return error, cause


@pytest.mark.scenario("pipeline.worker-killed")
def test_retry_after_a_killed_worker_reuses_the_job(sim: SimulatorServer, tmp_path: Path) -> None:
    store = tmp_path / "task_state_store.json"
    prompt = f"荷塘月色 {uuid.uuid4().hex[:8]}"

    killed = worker(store, prompt, "kill-after-job", 1)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    saved = json.loads(store.read_text())["aigc_job"]["job"]
    assert [job["job_id"] for job in submissions(sim, "zhipu")] == [saved["job_id"]]

    retried = worker(store, prompt, "run", 2)
    assert retried.returncode == 0, retried.stderr[-3000:]
    (line,) = [line for line in retried.stdout.splitlines() if line.startswith("JOBREF ")]
    assert json.loads(line.removeprefix("JOBREF "))["job_id"] == saved["job_id"]
    assert f"Reusing job {saved['job_id']}" in retried.stdout + retried.stderr
    assert len(submissions(sim, "zhipu")) == 1  # bought once


def assert_the_retry_refuses_without_calling_the_vendor(
    sim: SimulatorServer, store: Path, prompt: str
) -> dict[str, object]:
    """The next try, in a fresh process: AigcSubmitUnconfirmedError, no request to the vendor at all."""
    intent: dict[str, object] = json.loads(store.read_text())["aigc_job"]
    assert "job" not in intent  # the worker died before it recorded the vendor's answer
    requests_before = sim.stats()["requests_total"]

    retried = worker(store, prompt, "run", 2)

    assert retried.returncode == 1, retried.stderr[-3000:]
    assert failure(retried) == ("AirflowFailException", "AigcSubmitUnconfirmedError")
    assert "try 1 of this task instance sent a zhipu cogview submit on connection" in retried.stdout
    assert str(intent["intent"]["sent_at"]) in retried.stdout  # type: ignore[index]
    assert "state-store/aigc_job" in retried.stdout  # how the user decides to buy again
    # The retry sent nothing: the only request since is this reading of /_sim/stats itself.
    assert sim.stats()["requests_total"] == requests_before + 1
    assert json.loads(store.read_text())["aigc_job"] == intent
    return intent


@pytest.mark.scenario("pipeline.worker-killed")
def test_a_worker_killed_while_the_vendor_holds_its_submit_is_never_followed_by_a_purchase(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    store = tmp_path / "task_state_store.json"
    prompt = f"荷塘月色 {uuid.uuid4().hex[:8]}"
    sim.config(fault("zhipu", "submit", "slow", next=1, delay=SLOW_SUBMIT))

    first = subprocess.Popen(
        argv(store, prompt, "run", 1), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        # The request reached the simulator, which is holding its answer: the submit is in flight.
        in_flight = wait_until(lambda: injected(sim, "zhipu", "submit.slow") == 1, attempts=600, pause=0.1)
        assert in_flight, "the submit never reached the simulator"
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert first.returncode == -signal.SIGKILL

    assert_the_retry_refuses_without_calling_the_vendor(sim, store, prompt)
    assert len(submissions(sim, "zhipu")) <= 1  # whatever the vendor made of the cut request: once


@pytest.mark.scenario("pipeline.worker-killed")
def test_a_worker_killed_as_the_vendor_answers_its_submit_is_never_followed_by_a_second_purchase(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    store = tmp_path / "task_state_store.json"
    prompt = f"荷塘月色 {uuid.uuid4().hex[:8]}"

    killed = worker(store, prompt, "kill-on-answer", 1)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert len(submissions(sim, "zhipu")) == 1  # the vendor took and billed the job

    assert_the_retry_refuses_without_calling_the_vendor(sim, store, prompt)
    assert len(submissions(sim, "zhipu")) == 1  # zero additional purchases


@pytest.mark.scenario("pipeline.worker-killed")
def test_retry_with_other_parameters_never_buys_over_the_live_job(
    sim: SimulatorServer, tmp_path: Path
) -> None:
    """The saved job is reused only for the same request; a changed one is refused, not bought."""
    store = tmp_path / "task_state_store.json"
    killed = worker(store, f"旧的 {uuid.uuid4().hex[:8]}", "kill-after-job", 1)
    assert killed.returncode == -signal.SIGKILL
    saved = json.loads(store.read_text())["aigc_job"]

    retried = worker(store, f"新的 {uuid.uuid4().hex[:8]}", "run", 2)

    assert retried.returncode == 1, retried.stderr[-3000:]
    assert failure(retried) == ("AirflowFailException", "AigcJobConflictError")
    assert f"job {saved['job']['job_id']}" in retried.stdout
    assert len(submissions(sim, "zhipu")) == 1
    assert json.loads(store.read_text())["aigc_job"] == saved  # the earlier job is kept
