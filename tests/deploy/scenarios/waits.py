"""Shared by the triggerer faults: start a run, wait until its waits are deferred and assigned."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from tests.deploy.airflow_api import deferred_triggers, wait_for
from tests.deploy.scenarios.common import JOBS, end_time

if TYPE_CHECKING:
    from tests.deploy.deployment import Deployment

DAG_ID = "deploy_waits"
DEFER_TIMEOUT = 240.0
WAIT_SECONDS = 75.0  # vendor latency: the waits stay deferred through the fault


def wait_until_deferred(deploy: Deployment, run_id: str) -> dict[int, tuple[str, float]]:
    """``{trigger id: (triggerer, end_time)}`` once every wait of the run is deferred and running."""
    jobs = JOBS[DAG_ID]

    def all_assigned() -> bool:
        triggers = deferred_triggers(deploy, DAG_ID, run_id)
        return len(triggers) == jobs and all(host for _, host, _ in triggers)

    wait_for(deploy, all_assigned, DEFER_TIMEOUT, f"{jobs} waits deferred and assigned")
    return {
        tid: (str(host), end_time(deploy, kwargs))
        for tid, host, kwargs in deferred_triggers(deploy, DAG_ID, run_id)
    }


def busiest(assigned: dict[int, tuple[str, float]]) -> tuple[str, int]:
    """The triggerer holding most waits, and how many."""
    host, count = Counter(host for host, _ in assigned.values()).most_common(1)[0]
    return host, count


def check_deadlines(deploy: Deployment, run_id: str, before: dict[int, tuple[str, float]]) -> int:
    """Assert no still-deferred wait got a later deadline than it had; how many were compared."""
    compared = 0
    for tid, _, kwargs in deferred_triggers(deploy, DAG_ID, run_id):
        if tid in before:
            assert end_time(deploy, kwargs) == before[tid][1], f"trigger {tid}: deadline changed"
            compared += 1
    return compared
