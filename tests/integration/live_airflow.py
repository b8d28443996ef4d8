"""A live Airflow: a real api-server over an AIRFLOW_HOME that ``airflow dags test`` runs share.

With ``executor=True`` the runs go through a real LocalExecutor (``dags test --use-executor``): each
task runs supervised in its own process and talks to the api-server's execution API, a real
triggerer runs the deferred sensors, and task logs land in files that the UI shows.

``airflow dags test`` keeps a run alive while a human-in-the-loop task waits in AWAITING_INPUT
("a response recorded from outside -- the Required Actions UI or the HITL REST API of an
api-server sharing this metadata DB -- flips them back to SCHEDULED"), so an api-server on the
same sqlite database is all a test needs to answer an approval through the REST API, and to show
the finished run to a browser.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow_provider_aigc.simulator.process import LOOPBACK, free_port, stop, wait_until_up

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
API_SERVER_START_SECONDS = 180.0


def live_env(home: Path, dags_folder: Path, extra: Mapping[str, str]) -> dict[str, str]:
    """The environment of every Airflow process over ``home``: the api-server and the DAG runs."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW__")}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            # The simple auth manager with everyone an admin: no login page, tokens for the asking.
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__API_AUTH__JWT_SECRET": "aigc-live-airflow-tests",
            # Shows the "Test connection" button (Airflow disables it by default).
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            **extra,
        }
    )
    return env


@dataclass
class LiveAirflow:
    """An api-server on ``url`` over ``home``; ``dags_test`` starts runs that it can see."""

    url: str
    home: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] = field(repr=False)
    executor: bool = False
    _token: str | None = field(default=None, repr=False)

    def token(self) -> str:
        if self._token is None:
            with urllib.request.urlopen(f"{self.url}/auth/token", timeout=30) as response:
                self._token = str(json.loads(response.read())["access_token"])
        return self._token

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """Call the public REST API (``/api/v2`` + ``path``); raises HTTPError on 4xx/5xx."""
        request = urllib.request.Request(
            f"{self.url}/api/v2{path}",
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"Bearer {self.token()}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read() or b"null")

    def dags_test(self, dag_id: str, conf: Mapping[str, Any], log: Path) -> subprocess.Popen[bytes]:
        """``airflow dags test`` in the background, writing its output to ``log``."""
        executor = ["--use-executor"] if self.executor else []
        with log.open("wb") as output:
            return subprocess.Popen(
                [AIRFLOW, "dags", "test", dag_id, *executor, "--conf", json.dumps(conf)],
                env=self.env,
                cwd=self.home,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def pending_hitl(self, dag_id: str, timeout: float, process: subprocess.Popen[bytes]) -> dict[str, Any]:
        """The first human-in-the-loop request of ``dag_id`` still waiting for an answer."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            details = self.api("GET", f"/dags/{quote(dag_id)}/dagRuns/~/hitlDetails")["hitl_details"]
            waiting = [detail for detail in details if not detail["response_received"]]
            if waiting:
                return dict(waiting[0])
            if process.poll() is not None:
                raise AssertionError(f"airflow dags test {dag_id} ended (rc {process.returncode}) unasked")
            time.sleep(1)
        raise AssertionError(f"no human-in-the-loop request from {dag_id} within {timeout:.0f} s")

    def answer_hitl(self, detail: Mapping[str, Any], *options: str) -> dict[str, Any]:
        """Answer a request through ``PATCH .../taskInstances/{task}/{map_index}/hitlDetails``."""
        ti = detail["task_instance"]
        path = (
            f"/dags/{quote(ti['dag_id'])}/dagRuns/{quote(ti['dag_run_id'], safe='')}"
            f"/taskInstances/{quote(ti['task_id'])}/{ti['map_index']}/hitlDetails"
        )
        return dict(self.api("PATCH", path, {"chosen_options": list(options)}))

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        path = f"/dags/{quote(dag_id)}/dagRuns/{quote(run_id, safe='')}/taskInstances"
        return {ti["task_id"]: ti["state"] for ti in self.api("GET", path)["task_instances"]}

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        path = (
            f"/dags/{quote(dag_id)}/dagRuns/{quote(run_id, safe='')}/taskInstances/{quote(task_id)}"
            f"/xcomEntries/{quote(key)}?deserialize=true"
        )
        return self.api("GET", path)["value"]


@contextlib.contextmanager
def live_airflow(
    template_db: Path,
    home: Path,
    dags_folder: Path,
    extra_env: Mapping[str, str],
    *,
    executor: bool = False,
) -> Iterator[LiveAirflow]:
    """An api-server on a free loopback port over a copy of the migrated ``template_db``
    (plus a triggerer, and runs through a LocalExecutor, with ``executor``)."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template_db, home / "airflow.db")
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    settings = {"AIRFLOW__API__BASE_URL": url}
    if executor:
        settings |= {
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
        }
    env = live_env(home, dags_folder, {**settings, **extra_env})
    process = _start(["api-server", "--host", LOOPBACK, "--port", str(port), "--workers", "1"], env, home)
    triggerer = _start(["triggerer"], env, home) if executor else None
    try:
        try:
            wait_until_up(f"{url}/api/v2/monitor/health", process, timeout=API_SERVER_START_SECONDS)
        except (RuntimeError, TimeoutError, urllib.error.URLError) as error:
            log = (home / "api-server.log").read_text(errors="replace")[-4000:]
            raise AssertionError(f"api-server did not start: {error}\n{log}") from None
        yield LiveAirflow(url=url, home=home, env=env, process=process, executor=executor)
    finally:
        if triggerer is not None:
            stop(triggerer)
        stop(process)


def _start(command: list[str], env: Mapping[str, str], home: Path) -> subprocess.Popen[bytes]:
    """``airflow <command>`` in ``home``, its output in ``home/<command>.log``."""
    with (home / f"{command[0]}.log").open("wb") as output:
        return subprocess.Popen(
            [AIRFLOW, *command], env=dict(env), cwd=home, stdout=output, stderr=subprocess.STDOUT
        )


def finish(process: subprocess.Popen[bytes], log: Path, timeout: float) -> str:
    """Wait for a ``dags_test`` process; its output (assertion message material)."""
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(process)
    return log.read_text(errors="replace")
