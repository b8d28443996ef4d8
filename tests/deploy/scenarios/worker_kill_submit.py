"""A Celery worker SIGKILLed while a submit is in flight, and again right after the vendor answered.

In flight: the simulator holds the CogView submit for a while (slow-response fault) and the worker
running it is killed meanwhile. The vendor still creates the job; the retry finds the intent
recorded before the request left and no job id, so it fails with ``AigcSubmitUnconfirmedError``
rather than buy again (docs/deployment.md). Right after the answer: the worker is killed as soon
as the simulator has accepted the job; the retry reuses the job if the try had saved its id,
otherwise it fails the same classified way. Either way: one purchase per prompt.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from tests.deploy.airflow_api import run_state, wait_for, wait_for_run
from tests.deploy.checks import check_archives, purchases
from tests.deploy.scenarios.common import RUN_TIMEOUT, start
from tests.deploy.scenarios.workers import (
    DAG_ID,
    configure,
    kill_and_restart,
    running_on,
    task_logs,
    tries,
    wait_for_fault,
)

if TYPE_CHECKING:
    from tests.deploy.deployment import Deployment
    from tests.deploy.report import Result

TASK = "submit_cogview"
UNCONFIRMED = "AigcSubmitUnconfirmedError"
SLOW_SUBMIT_SECONDS = 15.0


def _outcome(deploy: Deployment, run_id: str, result: Result) -> str:
    state = wait_for_run(deploy, DAG_ID, run_id, RUN_TIMEOUT)
    bought = purchases(deploy, run_id)
    most = max(bought.values(), default=0)
    result.figures["purchases/prompt"] = max(most, int(str(result.figures.get("purchases/prompt", 0))))
    assert most <= 1, f"bought more than once: {dict(bought)}"
    logs = task_logs(deploy, run_id, TASK)
    if state == "success":
        archives = check_archives(deploy, run_id)
        assert sum(bought.values()) == 1, bought
        assert archives.manifests == 1, archives
        assert not archives.problems, archives
        return "job reused, archived"
    assert UNCONFIRMED in logs, (
        f"run {state} without {UNCONFIRMED}; submit tries {tries(deploy, run_id, TASK)}"
    )
    assert tries(deploy, run_id, TASK) >= 2, "the submit was not retried after the kill"
    return f"{UNCONFIRMED} (purchases {sum(bought.values())})"


def _in_flight(deploy: Deployment, result: Result) -> tuple[str, float]:
    configure(deploy, {"faults": {"zhipu": {"submit": {"slow": {"next": 1, "delay": SLOW_SUBMIT_SECONDS}}}}})
    before = _fired(deploy)
    started = time.monotonic()
    run_id = start(deploy, DAG_ID, "wsub-flight")
    worker = running_on(deploy, run_id, TASK)
    wait_for_fault(deploy, "zhipu", "submit.slow", before + 1)
    kill_and_restart(deploy, worker)
    outcome = _outcome(deploy, run_id, result)
    return f"in flight on {worker}: {outcome}", time.monotonic() - started


def _after_answer(deploy: Deployment, result: Result) -> tuple[str, float]:
    started = time.monotonic()
    run_id = start(deploy, DAG_ID, "wsub-answered")
    worker = running_on(deploy, run_id, TASK)
    wait_for(deploy, lambda: sum(purchases(deploy, run_id).values()) >= 1, 240.0, "submission", interval=0.02)
    kill_and_restart(deploy, worker)
    outcome = _outcome(deploy, run_id, result)
    assert run_state(deploy, DAG_ID, run_id) in ("success", "failed")
    return f"after the answer on {worker}: {outcome}", time.monotonic() - started


def _fired(deploy: Deployment) -> int:
    from tests.deploy.checks import faults_fired

    return faults_fired(deploy, "zhipu", "submit.slow")


def run(deploy: Deployment, result: Result) -> None:
    first, wall_1 = _in_flight(deploy, result)
    configure(deploy, {"faults": None})
    second, wall_2 = _after_answer(deploy, result)
    result.figures.update({"jobs": 2, "wall s": wall_1 + wall_2})
    result.notes += [first, second]
