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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow_provider_aigc.simulator.process import LOOPBACK, free_port, stop, wait_until_up

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from airflow_rest import AirflowRest

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
API_SERVER_START_SECONDS = 180.0
# A reviewed run's bound: below pytest's 300 s timeout, so a run that goes wrong fails with its own
# diagnosis (and the log's tail) rather than a bare pytest-timeout.
RUN_SECONDS = 200.0
# How long ``airflow dags test`` may take to exit once its run has ended.
RUN_EXIT_SECONDS = 60.0
POLL_SECONDS = 1.0
LOG_TAIL_CHARS = 6000
ENDED_RUN_STATES = frozenset({"success", "failed"})


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


@dataclass(frozen=True)
class ReviewedRun:
    """An ``airflow dags test`` run whose human-in-the-loop request was answered over REST."""

    run_id: str
    request: dict[str, Any]  # the request as the reviewer read it
    answered: dict[str, Any]  # the answer as Airflow recorded it
    output: str  # the run's log


@dataclass
class LiveAirflow(AirflowRest):
    """An api-server on ``url`` over ``home``; ``dags_test`` starts runs that it can see."""

    home: Path = field(kw_only=True)
    env: dict[str, str] = field(kw_only=True)
    process: subprocess.Popen[bytes] = field(kw_only=True, repr=False)
    triggerer: subprocess.Popen[bytes] | None = field(default=None, kw_only=True, repr=False)
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

    def reviewed_run(
        self, dag_id: str, conf: Mapping[str, Any], log: Path, answer: str, timeout: float = RUN_SECONDS
    ) -> ReviewedRun:
        """Run ``dag_id``, answer its first human-in-the-loop request with ``answer``, and wait for
        ``airflow dags test`` to exit, all within ``timeout``. Whatever goes wrong (the run ends
        unasked or fails, the api-server or triggerer dies, no request comes, the process outlives
        its ended run) fails at once with the tail of ``log``: never a silent wait into pytest-timeout."""
        deadline = time.monotonic() + timeout
        process = self.dags_test(dag_id, conf, log)
        try:
            request = self._await_request(dag_id, process, deadline)
            answered = self.answer_hitl(request, answer)
            run_id = str(request["task_instance"]["dag_run_id"])
            self._await_exit(dag_id, run_id, process, deadline)
        except (AssertionError, OSError) as error:  # OSError: urllib's HTTPError and URLError
            raise AssertionError(f"{error}\n{_tail(log)}") from None
        finally:
            stop(process)
        if process.returncode != 0:
            raise AssertionError(
                f"airflow dags test {dag_id} exited with rc {process.returncode}\n{_tail(log)}"
            )
        return ReviewedRun(run_id, request, answered, log.read_text(errors="replace"))

    def finished_run(
        self, dag_id: str, conf: Mapping[str, Any], log: Path, timeout: float = RUN_SECONDS
    ) -> str:
        """Run ``dag_id`` (no review) until ``airflow dags test`` exits, within ``timeout``; its
        output. Fails at once, with the tail of ``log``, as ``reviewed_run`` does."""
        return self.await_finished(dag_id, self.dags_test(dag_id, conf, log), log, timeout)

    def await_finished(
        self, dag_id: str, process: subprocess.Popen[bytes], log: Path, timeout: float = RUN_SECONDS
    ) -> str:
        """Wait, as ``finished_run`` does, for a ``dags_test`` process already started; its output."""
        deadline = time.monotonic() + timeout
        try:
            run_id = self._await_run_id(dag_id, process, deadline)
            if run_id is not None:
                self._await_exit(dag_id, run_id, process, deadline)
        except (AssertionError, OSError) as error:
            raise AssertionError(f"{error}\n{_tail(log)}") from None
        finally:
            stop(process)
        return log.read_text(errors="replace")

    def _await_run_id(self, dag_id: str, process: subprocess.Popen[bytes], deadline: float) -> str | None:
        """The id of ``dag_id``'s run once the api-server sees it; None if the process ended first."""
        while process.poll() is None:
            try:
                runs = self.api("GET", f"/dags/{quote(dag_id)}/dagRuns")["dag_runs"]
            except urllib.error.HTTPError as error:
                if error.code != 404:  # 404: the DAG is not parsed into the database yet
                    raise
                runs = []
            if runs:
                return str(runs[0]["dag_run_id"])
            self._check_helpers(deadline, f"no run of {dag_id}")
            time.sleep(POLL_SECONDS)
        return None

    def _await_request(
        self, dag_id: str, process: subprocess.Popen[bytes], deadline: float
    ) -> dict[str, Any]:
        while True:
            waiting: list[dict[str, Any]] = self.waiting_hitl(dag_id)
            if waiting:
                return waiting[0]
            if process.poll() is not None:
                raise AssertionError(f"airflow dags test {dag_id} ended (rc {process.returncode}) unasked")
            self._check_helpers(deadline, f"no human-in-the-loop request from {dag_id}")
            time.sleep(POLL_SECONDS)

    def _await_exit(
        self, dag_id: str, run_id: str, process: subprocess.Popen[bytes], deadline: float
    ) -> None:
        ended_at: float | None = None
        while process.poll() is None:
            self._check_helpers(deadline, f"run {run_id} not over")
            state = self.run_state(dag_id, run_id)
            if state in ENDED_RUN_STATES:
                ended_at = time.monotonic() if ended_at is None else ended_at
                if time.monotonic() - ended_at > RUN_EXIT_SECONDS:
                    raise AssertionError(
                        f"run {run_id} ended {state}, but airflow dags test has not exited"
                        f" {RUN_EXIT_SECONDS:.0f} s later (its executor is waiting for a worker)"
                    )
            time.sleep(POLL_SECONDS)

    def _check_helpers(self, deadline: float, overdue: str) -> None:
        """Fail if the api-server or the triggerer has died, or with ``overdue`` past ``deadline``."""
        for name, helper in (("api-server", self.process), ("triggerer", self.triggerer)):
            if helper is not None and helper.poll() is not None:
                log = (self.home / f"{name}.log").read_text(errors="replace")[-LOG_TAIL_CHARS:]
                raise AssertionError(f"the {name} died (rc {helper.returncode}):\n{log}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{overdue} by the deadline")


def _tail(log: Path) -> str:
    return f"--- the end of {log} ---\n{log.read_text(errors='replace')[-LOG_TAIL_CHARS:]}"


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
            # One worker process. LocalExecutor.end() puts one stop message per worker it finds
            # alive, checking each as it goes: a worker that takes an earlier message and exits
            # before its own check gets none sent, so a message goes missing and end() joins an idle
            # worker forever (``airflow dags test`` never exits; seen on busy cores). With one
            # worker no other process can take its message. The DAGs run here are chains.
            "AIRFLOW__CORE__PARALLELISM": "1",
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
        yield LiveAirflow(
            url=url, home=home, env=env, process=process, triggerer=triggerer, executor=executor
        )
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
