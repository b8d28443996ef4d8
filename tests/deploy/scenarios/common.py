"""The checks every scenario ends with: run outcome, one purchase per prompt, complete archives."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cryptography.fernet import Fernet

from tests.deploy.airflow_api import run_state, task_instances, trigger_run, wait_for_run
from tests.deploy.checks import ArchiveCheck, check_archives, purchases, sim_call

if TYPE_CHECKING:
    from collections import Counter
    from collections.abc import Callable

    from tests.deploy.airflow_api import TaskTry
    from tests.deploy.deployment import Deployment
    from tests.deploy.report import Result

CAPACITY_BATCH = 4  # tests/deploy/dags/deploy_jobs.py
CAPACITY_DAGS = tuple(f"deploy_capacity_{mode}_r{r}" for mode in ("chain", "one_task") for r in (0, 2))
JOBS = {
    "deploy_load": 72,
    "deploy_waits": 16,
    "deploy_one": 1,
    **dict.fromkeys(CAPACITY_DAGS, CAPACITY_BATCH),
}
# The simulator's names of the apps the DAGs buy (their latency is set per run).
APPS = ("cogview", "news_generate", "txt2imgv2", "ai_draw", "cogvideox", "wan_image")
RUN_TIMEOUT = 420.0


def start(deploy: Deployment, dag_id: str, tag: str, latency: float = 45.0) -> str:
    """Start a run whose jobs each take `latency` seconds at the vendor (every app)."""
    sim_call(deploy, "/_sim/config", {"latency": dict.fromkeys(APPS, latency)})
    return trigger_run(deploy, dag_id, tag)


def finish(
    deploy: Deployment,
    dag_id: str,
    run_id: str,
    result: Result,
    started: float,
    *,
    observe: Callable[[], None] | None = None,
    expect_state: str = "success",
    expect_archives: int | None = None,
) -> None:
    """Wait for the run, then record the figures and assert its state, purchases and archives."""
    wait_for_run(deploy, dag_id, run_id, RUN_TIMEOUT, observe=observe)
    found = outcome(deploy, dag_id, run_id)
    result.figures.update(
        {
            "jobs": found.jobs,
            "purchases/prompt": max(found.bought.values(), default=0),
            "archived objects": found.archives.objects,
            "manifests": found.archives.manifests,
            "orphans": found.archives.orphans,
            "wall s": time.monotonic() - started,
        }
    )
    found.check(expect_state, expect_archives)


@dataclass
class Outcome:
    """A finished run as the database, the simulator and S3 have it (benchmarks/deployment.py
    reports the same record for its own DAGs)."""

    dag_id: str
    run_id: str
    state: str | None
    bought: Counter[str]
    archives: ArchiveCheck
    tries: list[TaskTry]

    @property
    def jobs(self) -> int:
        """The jobs the deploy DAG buys (``JOBS``)."""
        return JOBS[self.dag_id]

    @property
    def failed(self) -> list[str]:
        """The task instances that did not succeed, as ``task_id[map_index]``."""
        return [f"{t.task_id}[{t.map_index}]" for t in self.tries if t.state != "success"]

    def check(self, expect_state: str = "success", expect_archives: int | None = None) -> None:
        """The run ended as expected, each prompt was bought once, each job has one verified archive."""
        assert self.state == expect_state, (
            f"run {self.run_id} ended {self.state}; not successful: {self.failed}"
        )
        assert len(self.bought) == self.jobs, (
            f"{self.run_id}: {len(self.bought)} prompts bought, expected {self.jobs}"
        )
        assert set(self.bought.values()) == {1}, (
            f"prompts bought more than once: {[p for p, n in self.bought.items() if n > 1]}"
        )
        assert not self.archives.problems, f"archive problems: {self.archives.problems[:5]}"
        expected = self.jobs if expect_archives is None else expect_archives
        assert self.archives.manifests == expected, (
            f"{self.run_id}: {self.archives.manifests} manifests for {self.jobs} jobs"
        )
        assert set(self.archives.prompts.values()) <= {1}, "a prompt has two manifests"


def outcome(deploy: Deployment, dag_id: str, run_id: str) -> Outcome:
    return Outcome(
        dag_id=dag_id,
        run_id=run_id,
        state=run_state(deploy, dag_id, run_id),
        bought=purchases(deploy, run_id),
        archives=check_archives(deploy, run_id),
        tries=task_instances(deploy, dag_id, run_id),
    )


def end_time(deploy: Deployment, encrypted_kwargs: str) -> float:
    """The absolute deadline (``end_time``) inside a trigger's stored kwargs.

    Airflow 3.3.2 stores the kwargs of triggers deferred through the execution API as plain JSON
    (Fernet-encrypted only on some paths), so both forms are read.
    """
    if encrypted_kwargs.startswith("{"):
        data = json.loads(encrypted_kwargs)
    else:
        key = deploy.env["AIRFLOW__CORE__FERNET_KEY"].encode()
        data = json.loads(Fernet(key).decrypt(encrypted_kwargs.encode()))

    def find(value: Any) -> float | None:
        if isinstance(value, dict):
            if "end_time" in value:
                inner = value["end_time"]
                return float(inner) if isinstance(inner, (int, float)) else find(inner)
            for item in value.values():
                found = find(item)
                if found is not None:
                    return found
        if isinstance(value, list):
            for item in value:
                found = find(item)
                if found is not None:
                    return found
        return None

    found = find(data)
    if found is None:
        raise AssertionError(f"no end_time in trigger kwargs {data}")
    return found
