"""The checks every scenario ends with: run outcome, one purchase per prompt, complete archives."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from cryptography.fernet import Fernet

from tests.deploy.airflow_api import task_instances, trigger_run, wait_for_run
from tests.deploy.checks import check_archives, purchases, sim_call

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.deploy.deployment import Deployment
    from tests.deploy.report import Result

JOBS = {"deploy_load": 75, "deploy_waits": 16, "deploy_one": 1}
RUN_TIMEOUT = 420.0


def start(deploy: Deployment, dag_id: str, tag: str, latency: float = 45.0) -> str:
    """Start a run whose jobs each take `latency` seconds at the vendor (every app)."""
    apps = ("cogview", "news_generate", "txt2imgv2", "ai_draw", "cogvideox")
    sim_call(deploy, "/_sim/config", {"latency": dict.fromkeys(apps, latency)})
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
    """Wait for the run, then assert its state, purchases and archives and record the figures."""
    state = wait_for_run(deploy, dag_id, run_id, RUN_TIMEOUT, observe=observe)
    jobs = JOBS[dag_id]
    bought = purchases(deploy, run_id)
    archives = check_archives(deploy, run_id)
    result.figures.update(
        {
            "jobs": jobs,
            "purchases/prompt": max(bought.values(), default=0),
            "archived objects": archives.objects,
            "manifests": archives.manifests,
            "wall s": time.monotonic() - started,
        }
    )
    result.figures["orphans"] = archives.orphans
    failed = [
        f"{t.task_id}[{t.map_index}]" for t in task_instances(deploy, dag_id, run_id) if t.state != "success"
    ]
    assert state == expect_state, f"run ended {state}; not successful: {failed}"
    assert len(bought) == jobs, f"{len(bought)} prompts bought, expected {jobs}"
    assert set(bought.values()) == {1}, (
        f"prompts bought more than once: {[p for p, n in bought.items() if n > 1]}"
    )
    assert not archives.problems, f"archive problems: {archives.problems[:5]}"
    assert archives.manifests == (jobs if expect_archives is None else expect_archives), (
        f"{archives.manifests} manifests for {jobs} jobs"
    )
    assert set(archives.prompts.values()) <= {1}, "a prompt has two manifests"


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
