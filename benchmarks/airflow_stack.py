"""A real, throwaway Airflow 3 deployment for benchmark 3: the four services as child processes.

Scheduler (LocalExecutor, parallelism 2), triggerer, dag-processor and api-server run from a
fresh ``AIRFLOW_HOME`` under ``.bench/``, configured only through environment variables, on a
sqlite metadata database. Airflow 3.3 accepts sqlite with the LocalExecutor (``airflow
standalone`` runs exactly that); at this scale (two worker slots) sqlite's single writer was not
a bottleneck in our runs, and it needs nothing the project cannot install itself.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from benchmarks.common import LOOPBACK, SCRATCH, child_env, free_port, wait_until_up

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

SERVICES = ("api-server", "scheduler", "dag-processor", "triggerer")
TERMINAL = ("success", "failed")


def airflow_env(home: Path, port: int, extra: dict[str, str]) -> dict[str, str]:
    """Every setting the deployment needs, as environment variables (no airflow.cfg edits)."""
    return child_env(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "2",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://{LOOPBACK}:{port}/execution/",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__API__HOST": LOOPBACK,
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
            "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "30",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            **extra,
        }
    )


@dataclass
class AirflowStack:
    """The running services and where their database and DAG folder are."""

    home: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def dags(self) -> Path:
        return self.home / "dags"

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with contextlib.closing(sqlite3.connect(self.home / "airflow.db", timeout=30)) as db:
            return list(db.execute(sql, params).fetchall())

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                log = (self.home / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"airflow {name} exited with {process.returncode}:\n{log}")

    def wait_for_runs(self, dag_id: str, count: int, timeout: float) -> list[tuple[Any, ...]]:
        """Block until ``count`` runs of ``dag_id`` have finished; their (state, start, end) rows."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            rows = self.query(
                "SELECT state, start_date, end_date FROM dag_run WHERE dag_id = ? AND state IN (?, ?)",
                dag_id,
                *TERMINAL,
            )
            if len(rows) >= count:
                return rows
            time.sleep(1.0)
        raise TimeoutError(f"{dag_id}: {count} runs did not finish within {timeout:.0f} s")


def migrate(env: dict[str, str], log: Path) -> None:
    with log.open("ab") as out:
        subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=600,
        )


@contextlib.contextmanager
def airflow_stack(extra_env: dict[str, str]) -> Iterator[AirflowStack]:
    """Migrate a fresh database, start the four services, and stop them all on exit."""
    home = SCRATCH / "airflow_stack"
    shutil.rmtree(home, ignore_errors=True)
    (home / "dags").mkdir(parents=True)
    port = free_port()
    stack = AirflowStack(home=home, env=airflow_env(home, port, extra_env))
    migrate(stack.env, home / "migrate.log")
    try:
        for name in SERVICES:
            with (home / f"{name}.log").open("wb") as log:
                stack.processes[name] = subprocess.Popen(
                    [sys.executable, "-m", "airflow", name],
                    env=stack.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        wait_until_up(f"http://{LOOPBACK}:{port}/api/v2/monitor/health", stack.processes["api-server"], 180)
        yield stack
    finally:
        for process in reversed(list(stack.processes.values())):
            stop_group(process)


def stop_group(process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Stop a service and the task processes it forked: its own process group, started by us."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
