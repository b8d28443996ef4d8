"""A real-Airflow harness: run DAG files with ``airflow dags test`` against the simulator.

``airflow dags test`` is the real thing, only without a scheduler: it parses the DAG file, runs
each task through the Task SDK's task runner in-process, honours retries (``retry_delay``
permitting) and runs a deferred task's trigger in-process until it fires, then resumes the task
with the event. So a deferrable sensor really defers and the trigger really polls over HTTP.

Usage (the ``airflow`` fixture)::

    def test_something(airflow: AirflowHarness, simulator: SimulatorServer) -> None:
        run = airflow.run_dag("my_dag", dags_folder=MY_DAGS, conf={"prompt": "..."})
        assert run.returncode == 0, run.output_tail()
        assert run.task_states() == {("submit", -1): "success", ("wait", -1): "success"}
        assert run.xcom("wait")["state"] == "SUCCEEDED"

Each run gets its own AIRFLOW_HOME holding a copy of a database migrated once per session, so
runs never see each other's DAG runs, XComs or task state; ``run.home`` keeps the database and
``dags-test.log`` (stdout and stderr) for a look afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_aigc.simulator import connection_env

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from tests.conftest import SimulatorServer

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
DAG_RUN_TIMEOUT = 240.0


class DagTestRun(subprocess.CompletedProcess[str]):
    """The finished ``airflow dags test`` process, plus readers for what it left in its database."""

    def __init__(self, process: subprocess.CompletedProcess[str], home: Path, dag_id: str) -> None:
        super().__init__(process.args, process.returncode, process.stdout, process.stderr)
        self.home = home
        self.dag_id = dag_id

    def output_tail(self, chars: int = 6000) -> str:
        """The end of stdout and stderr, for assertion messages."""
        return f"--- stdout ---\n{self.stdout[-chars:]}\n--- stderr ---\n{self.stderr[-chars:]}"

    def _query(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(self.home / "airflow.db")) as db:
            return db.execute(sql, params).fetchall()

    def task_states(self) -> dict[tuple[str, int], str | None]:
        """``{(task_id, map_index): state}`` of the run's task instances."""
        rows = self._query(
            "SELECT task_id, map_index, state FROM task_instance WHERE dag_id = ?", self.dag_id
        )
        return {(task_id, map_index): state for task_id, map_index, state in rows}

    def try_numbers(self) -> dict[tuple[str, int], int]:
        """``{(task_id, map_index): try_number}``: how many tries each task instance used."""
        rows = self._query(
            "SELECT task_id, map_index, try_number FROM task_instance WHERE dag_id = ?", self.dag_id
        )
        return {(task_id, map_index): tries for task_id, map_index, tries in rows}

    def xcom(self, task_id: str, map_index: int = -1, key: str = "return_value") -> Any:
        """A task's XCom value (JSON-decoded); KeyError when there is none."""
        rows = self._query(
            "SELECT value FROM xcom WHERE dag_id = ? AND task_id = ? AND map_index = ? AND key = ?",
            self.dag_id,
            task_id,
            map_index,
            key,
        )
        if not rows:
            raise KeyError(f"no XCom {key!r} for {self.dag_id}.{task_id}[{map_index}]")
        return json.loads(rows[0][0])

    def task_state_store(self, task_id: str, map_index: int = -1) -> dict[str, Any]:
        """What the task instance saved in ``task_state_store`` (JSON-decoded values)."""
        rows = self._query(
            'SELECT "key", value FROM task_state_store WHERE dag_id = ? AND task_id = ? AND map_index = ?',
            self.dag_id,
            task_id,
            map_index,
        )
        return {key: json.loads(value) for key, value in rows}


@dataclass
class AirflowHarness:
    """Runs DAGs in real Airflow, with ``connections`` (the simulator's) in every run's environment."""

    root: Path
    template_db: Path
    connections: dict[str, str]
    runs: int = 0

    def run_dag(
        self,
        dag_id: str,
        conf: Mapping[str, Any] | None = None,
        *,
        dags_folder: Path,
        env: Mapping[str, str] | None = None,
        timeout: float = DAG_RUN_TIMEOUT,
        home: Path | None = None,
    ) -> DagTestRun:
        """``airflow dags test <dag_id> [--conf json]`` in a subprocess, in a fresh AIRFLOW_HOME.

        :param conf: The DAG run's conf (``dag_run.conf``; ``params`` pick it up).
        :param dags_folder: The folder the DAG file is parsed from.
        :param env: Extra environment for this run (e.g. a connection with other extras).
        :param home: Run in the AIRFLOW_HOME of an earlier run (``run.home``), sharing its metadata
            database: its asset events, XComs and DAG runs (e.g. a consumer DAG after its producer).
        """
        self.runs += 1
        log_name = "dags-test.log" if home is None else f"dags-test-{self.runs:02d}-{dag_id}.log"
        if home is None:
            home = self.root / f"run-{self.runs:02d}-{dag_id}"
            home.mkdir()
            shutil.copyfile(self.template_db, home / "airflow.db")
        run_env = {
            **_airflow_env(home),
            **self.connections,
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            **(env or {}),
        }
        args = [AIRFLOW, "dags", "test", dag_id]
        if conf is not None:
            args += ["--conf", json.dumps(conf)]
        process = subprocess.run(
            args, env=run_env, capture_output=True, text=True, timeout=timeout, check=False, cwd=home
        )
        (home / log_name).write_text(process.stdout + process.stderr)
        return DagTestRun(process, home, dag_id)


def connection_env_with(base_url: str, vendor: str, **extra: Any) -> dict[str, str]:
    """The ``AIRFLOW_CONN_AIGC_<VENDOR>_DEFAULT`` variable of the simulator, with extras changed."""
    name = f"AIRFLOW_CONN_AIGC_{vendor.upper()}_DEFAULT"
    connection = json.loads(connection_env(base_url)[name])
    connection["extra"] = {**connection.get("extra", {}), **extra}
    return {name: json.dumps(connection)}


def _airflow_env(home: Path) -> dict[str, str]:
    """The current environment (connections other fixtures export included) without the shell's
    Airflow settings, for an Airflow whose home is ``home``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW__")}
    env.update({"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"})
    return env


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway AIRFLOW_HOME whose sqlite database ``airflow db migrate`` set up (once)."""
    home = tmp_path_factory.mktemp("airflow-template")
    result = subprocess.run(
        [AIRFLOW, "db", "migrate"],
        env=_airflow_env(home),
        capture_output=True,
        text=True,
        timeout=DAG_RUN_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return home


@pytest.fixture(scope="session")
def airflow(
    airflow_home: Path, simulator: SimulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> AirflowHarness:
    """Run DAGs in real Airflow with the ``aigc_*_default`` connections pointing at the simulator."""
    return AirflowHarness(
        tmp_path_factory.mktemp("airflow-runs"), airflow_home / "airflow.db", connection_env(simulator.url)
    )


@pytest.fixture
def sim(simulator: SimulatorServer) -> Iterator[SimulatorServer]:
    """The session simulator with stats, jobs and configuration reset before and after the test."""
    simulator.reset(config=True)
    yield simulator
    simulator.reset(config=True)
