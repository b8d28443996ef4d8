"""Shared by the worker faults: which worker runs a task, kill it with its task processes, bring it back."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from tests.deploy.airflow_api import task_instances, wait_for
from tests.deploy.checks import sim_call

if TYPE_CHECKING:
    from tests.deploy.deployment import Deployment

DAG_ID = "deploy_one"


def running_on(deploy: Deployment, run_id: str, task_id: str) -> str:
    """The worker whose task process runs `task_id` now (its ``hostname``, see tests/deploy/hostname.py)."""
    found: list[str] = []

    def running() -> bool:
        found[:] = [
            str(t.hostname)
            for t in task_instances(deploy, DAG_ID, run_id)
            if t.task_id == task_id and t.state == "running" and t.hostname
        ]
        return bool(found)

    wait_for(deploy, running, 180.0, f"{task_id} running", interval=0.1)
    return found[0]


def kill_and_restart(deploy: Deployment, worker: str) -> None:
    """SIGKILL the worker's process group (the worker, its pool and task processes), then restart it."""
    deploy[worker].kill()
    deploy.start(worker)


def configure(deploy: Deployment, patch: dict[str, object]) -> None:
    sim_call(deploy, "/_sim/config", patch)


def wait_for_fault(deploy: Deployment, vendor: str, name: str, count: int, timeout: float = 240.0) -> None:
    """Until the simulator has fired fault `name` `count` times (a request is then in flight)."""
    from tests.deploy.checks import faults_fired

    wait_for(deploy, lambda: faults_fired(deploy, vendor, name) >= count, timeout, name, interval=0.05)


def task_logs(deploy: Deployment, run_id: str, task_id: str) -> str:
    """Every attempt's log of one task of the run, concatenated."""
    base = (
        Path(deploy.env["AIRFLOW_HOME"])
        / "logs"
        / f"dag_id={DAG_ID}"
        / f"run_id={run_id}"
        / f"task_id={task_id}"
    )
    return "\n".join(path.read_text(errors="replace") for path in sorted(base.rglob("*.log")))


def tries(deploy: Deployment, run_id: str, task_id: str) -> int:
    return max(
        (t.try_number for t in task_instances(deploy, DAG_ID, run_id) if t.task_id == task_id), default=0
    )


def settle() -> None:
    time.sleep(0.5)
