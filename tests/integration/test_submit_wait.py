"""submit >> wait in real Airflow (``airflow dags test``) against the simulator over HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_aigc.operators.submit import JOB_STATE_KEY
from tests.integration.conftest import connection_env_with

if TYPE_CHECKING:
    from tests.conftest import SimulatorServer
    from tests.integration.conftest import AirflowHarness, DagTestRun

pytestmark = pytest.mark.integration

DAGS = Path(__file__).parent / "dags_submit_wait"
# What `dags test` logs when a task deferred and its trigger runs in-process.
DEFERRED = "[DAG TEST] running trigger in line"
DEMO_SECRETS = (
    "demo-zhipu-app-secret",
    "demo-zhipu-des3-key-24b!",
    "demo-baidu-secret-key",
    "demo-jumdata-app-secret",
)
APPS = ("cogview", "news_generate", "txt2imgv2", "ai_draw")


def set_latency(sim: SimulatorServer, seconds: float, **per_app: float) -> None:
    """Make jobs take ``seconds`` of wall time (per app where given), whatever the simulator's speed."""
    speed = float(sim.config({})["speed"])
    wall = {app: per_app.get(app, seconds) for app in APPS}
    sim.config({"latency": {app: value * speed for app, value in wall.items()}})


def vendor_stats(sim: SimulatorServer, vendor: str) -> dict[str, Any]:
    stats: dict[str, Any] = sim.stats()["vendors"][vendor]
    return stats


def submitted_prompts(sim: SimulatorServer, vendor: str) -> list[str]:
    return [job["prompt"] for job in vendor_stats(sim, vendor)["submissions"]["jobs"]]


def assert_no_secrets(run: DagTestRun, *values: Any) -> None:
    text = run.stdout + run.stderr + json.dumps(values, ensure_ascii=False)
    assert not [secret for secret in DEMO_SECRETS if secret in text]


@pytest.fixture
def fast_jobs(sim: SimulatorServer) -> SimulatorServer:
    """Jobs finish in 2 s: longer than submit -> wait takes, so every sensor really defers."""
    set_latency(sim, 2.0)
    return sim


def test_each_api_is_submitted_once_and_waited_for_in_the_trigger(
    airflow: AirflowHarness, fast_jobs: SimulatorServer
) -> None:
    run = airflow.run_dag("it_four_apis", {"prompt": "荷塘月色"}, dags_folder=DAGS)

    assert run.returncode == 0, run.output_tail()
    assert set(run.task_states().values()) == {"success"}
    assert run.stdout.count(DEFERRED) == 4
    expected = {
        "cogview": ("zhipu", "cogview", 4, "image"),
        "news": ("zhipu", "news_generate", 1, "text"),
        "ernie": ("baidu", "txt2imgv2", 2, "image"),
        "jumdata": ("jumdata", "ai_draw", 2, "image"),
    }
    for name, (vendor, app, count, kind) in expected.items():
        ref, status = run.xcom(f"submit_{name}"), run.xcom(f"wait_{name}")
        assert (ref["vendor"], ref["app"], ref["conn_id"]) == (vendor, app, f"aigc_{vendor}_default")
        assert (status["job_id"], status["state"], status["progress"]) == (ref["job_id"], "SUCCEEDED", 1.0)
        assert (status["conn_id"], status["request"]) == (ref["conn_id"], ref["request"])
        assert [output["kind"] for output in status["outputs"]] == [kind] * count
        assert_no_secrets(run, ref, status)
    assert submitted_prompts(fast_jobs, "zhipu") == ["荷塘月色", "荷塘月色"]
    assert submitted_prompts(fast_jobs, "baidu") == ["荷塘月色"]
    assert submitted_prompts(fast_jobs, "jumdata") == ["荷塘月色"]
    assert "RUNNING" in run.stdout  # the trigger logged progress into the task log


def test_a_mapped_submit_and_wait_buy_one_job_per_prompt(
    airflow: AirflowHarness, fast_jobs: SimulatorServer
) -> None:
    run = airflow.run_dag("it_mapped", dags_folder=DAGS)

    assert run.returncode == 0, run.output_tail()
    assert run.task_states() == {(task, i): "success" for task in ("submit", "wait") for i in range(3)}
    assert sorted(submitted_prompts(fast_jobs, "zhipu")) == sorted(["春", "夏", "秋"])
    for index, prompt in enumerate(["春", "夏", "秋"]):
        ref, status = run.xcom("submit", index), run.xcom("wait", index)
        assert ref["request"]["query"] == status["request"]["query"] == prompt
        assert (status["job_id"], status["state"]) == (ref["job_id"], "SUCCEEDED")


def test_failures_no_retry_can_fix_fail_at_once_and_buy_nothing_twice(
    airflow: AirflowHarness, sim: SimulatorServer
) -> None:
    set_latency(sim, 2.0, ai_draw=60.0)
    sim.config({"faults": {"zhipu": {"submit": {"job_failure": {"next": 1}}}}})

    run = airflow.run_dag("it_fail_fast", dags_folder=DAGS)

    assert run.returncode != 0, run.output_tail()
    assert run.task_states() == {
        ("submit_ernie", -1): "success",
        ("wait_ernie", -1): "failed",
        ("submit_jumdata", -1): "failed",
        ("submit_cogview", -1): "success",
        ("wait_cogview", -1): "failed",
        ("submit_slow", -1): "success",
        ("wait_slow", -1): "failed",
    }
    assert set(run.try_numbers().values()) == {1}, "a retry was used although none could help"
    assert submitted_prompts(sim, "baidu") == ["违禁的画面"]
    assert submitted_prompts(sim, "jumdata") == ["a slow drawing"]
    assert submitted_prompts(sim, "zhipu") == ["a job the vendor fails"]
    assert "AigcContentRejectedError: baidu job" in run.stdout
    assert "AigcContentRejectedError: jumdata error 202" in run.stdout
    assert "clear the submit task together with its downstream tasks" in run.stdout
    assert "AirflowSensorTimeout" in run.stdout


def test_transient_trouble_is_ridden_out_without_task_retries(
    airflow: AirflowHarness, fast_jobs: SimulatorServer
) -> None:
    """503 bursts while polling CogView, with a hook that does not retry (max_retries 0), so the
    sensor and trigger see every one; and two rate-limit answers to an ERNIE-ViLG submit."""
    fast_jobs.config(
        {
            "faults": {
                "zhipu": {"status": {"http_5xx": {"next": 4, "status": 503}}},
                "baidu": {"submit": {"rate_limit": {"next": 2, "code": 18}}},
            }
        }
    )

    run = airflow.run_dag(
        "it_transient", dags_folder=DAGS, env=connection_env_with(fast_jobs.url, "zhipu", max_retries=0)
    )

    assert run.returncode == 0, run.output_tail()
    assert set(run.task_states().values()) == {"success"}
    assert set(run.try_numbers().values()) == {1}
    zhipu, baidu = vendor_stats(fast_jobs, "zhipu"), vendor_stats(fast_jobs, "baidu")
    assert zhipu["errors_injected"]["status.http_5xx"] == 4
    assert "Could not check job" in run.stdout  # the first check failed, the sensor deferred anyway
    assert "(3 of at most 5 in a row" in run.stdout  # the trigger backed off three times
    assert baidu["errors_injected"]["submit.rate_limit"] == 2
    assert (zhipu["submissions"]["count"], baidu["submissions"]["count"]) == (1, 1)
    assert run.xcom("wait_cogview")["state"] == run.xcom("wait_ernie")["state"] == "SUCCEEDED"


def test_a_submit_retried_after_a_crash_reuses_the_accepted_job(
    airflow: AirflowHarness, fast_jobs: SimulatorServer
) -> None:
    run = airflow.run_dag("it_crash_after_submit", dags_folder=DAGS)

    assert run.returncode == 0, run.output_tail()
    assert run.try_numbers() == {("submit", -1): 2, ("wait", -1): 1}
    assert run.task_states() == {("submit", -1): "success", ("wait", -1): "success"}
    (job,) = vendor_stats(fast_jobs, "zhipu")["submissions"]["jobs"]
    assert run.xcom("submit")["job_id"] == run.xcom("wait")["job_id"] == job["job_id"]
    assert run.task_state_store("submit")[JOB_STATE_KEY]["job"]["job_id"] == job["job_id"]
    assert f"simulated worker loss right after job {job['job_id']} was accepted" in run.stdout
    assert f"Reusing job {job['job_id']}" in run.stdout
