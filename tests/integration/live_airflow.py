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
import urllib.error
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_aigc.simulator.process import LOOPBACK, free_port, stop, wait_until_up

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from airflow_rest import AirflowRest

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
class LiveAirflow(AirflowRest):
    """An api-server on ``url`` over ``home``; ``dags_test`` starts runs that it can see."""

    home: Path = field(kw_only=True)
    env: dict[str, str] = field(kw_only=True)
    process: subprocess.Popen[bytes] = field(kw_only=True, repr=False)
    executor: bool = field(default=False, kw_only=True)

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
