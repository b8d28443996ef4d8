"""Drive and read Airflow: trigger DAG runs through the REST API, read task and trigger state in SQL."""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.deploy.deployment import Deployment

TERMINAL_RUN_STATES = ("success", "failed")


def _request(url: str, method: str = "GET", body: Any = None, token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def trigger_run(deploy: Deployment, dag_id: str, tag: str) -> str:
    """Start a run of `dag_id` with ``params.tag = tag``; its run id."""
    token = _request(deploy.api_url + "/auth/token")["access_token"]
    run = _request(
        f"{deploy.api_url}/api/v2/dags/{dag_id}/dagRuns",
        "POST",
        {"dag_run_id": f"{tag}", "logical_date": None, "conf": {"tag": tag}},
        token,
    )
    return str(run["dag_run_id"])


@dataclass(frozen=True)
class TaskTry:
    """A task instance as the metadata database has it now."""

    task_id: str
    map_index: int
    state: str | None
    try_number: int
    hostname: str | None
    pid: int | None


def task_instances(deploy: Deployment, dag_id: str, run_id: str) -> list[TaskTry]:
    rows = deploy.query(
        "SELECT task_id, map_index, state, try_number, hostname, pid FROM task_instance "
        "WHERE dag_id = %s AND run_id = %s ORDER BY task_id, map_index",
        dag_id,
        run_id,
    )
    return [TaskTry(*row) for row in rows]


def run_state(deploy: Deployment, dag_id: str, run_id: str) -> str | None:
    rows = deploy.query("SELECT state FROM dag_run WHERE dag_id = %s AND run_id = %s", dag_id, run_id)
    return rows[0][0] if rows else None


def wait_for(
    deploy: Deployment,
    condition: Callable[[], bool],
    timeout: float,
    what: str,
    *,
    skip: tuple[str, ...] = (),
    interval: float = 1.0,
) -> float:
    """Poll `condition` until true, restarting exited supervised components (except `skip`); seconds."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        deploy.supervise(skip=skip)
        try:
            if condition():
                return time.monotonic() - started
        except Exception as error:  # the database may be restarting: try again
            if "connection" not in str(error).lower() and "terminat" not in str(error).lower():
                raise
        time.sleep(interval)
    raise TimeoutError(f"{what}: not within {timeout:.0f} s")


def wait_for_run(
    deploy: Deployment,
    dag_id: str,
    run_id: str,
    timeout: float,
    *,
    observe: Callable[[], None] | None = None,
    skip: tuple[str, ...] = (),
) -> str:
    """Wait until the run is finished; its final state. `observe` is called on every poll."""

    def finished() -> bool:
        if observe is not None:
            observe()
        return run_state(deploy, dag_id, run_id) in TERMINAL_RUN_STATES

    wait_for(deploy, finished, timeout, f"run {dag_id}/{run_id}", skip=skip, interval=2.0)
    return str(run_state(deploy, dag_id, run_id))


def deferred_triggers(deploy: Deployment, dag_id: str, run_id: str) -> list[tuple[int, str | None, str]]:
    """``(trigger_id, triggerer hostname or None, encrypted kwargs)`` of the run's deferred tasks."""
    rows = deploy.query(
        "SELECT t.id, j.hostname, t.kwargs FROM task_instance ti JOIN trigger t ON t.id = ti.trigger_id "
        "LEFT JOIN job j ON j.id = t.triggerer_id "
        "WHERE ti.dag_id = %s AND ti.run_id = %s AND ti.state = 'deferred'",
        dag_id,
        run_id,
    )
    return [(int(tid), host, kwargs) for tid, host, kwargs in rows]


def alive_triggerers(deploy: Deployment, threshold: float) -> dict[int, str]:
    """``{job id: hostname}`` of the triggerers whose heartbeat is within `threshold` seconds."""
    rows = deploy.query(
        "SELECT id, hostname FROM job WHERE job_type = 'TriggererJob' AND state = 'running' "
        "AND latest_heartbeat > now() - make_interval(secs => %s)",
        threshold,
    )
    return {int(job_id): host for job_id, host in rows}
