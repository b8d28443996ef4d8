"""DashScope Wan in real Airflow (``airflow dags test``) against the simulator over HTTP and a moto
S3 server: the chain with a partially failed image task, the one-task operator deferring, a
submit whose answer was lost, reported with the task listing's candidate and never resent, and a
deferred task marked failed whose PENDING task is cancelled by the triggerer (opt-in)."""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from demo_archive import read_archive

from tests.integration.live_airflow import LiveAirflow, live_airflow

if TYPE_CHECKING:
    import subprocess

    from tests.conftest import S3Server, SimulatorServer
    from tests.integration.conftest import AirflowHarness

pytestmark = pytest.mark.integration

DAGS = Path(__file__).parent / "dags_dashscope"
DEFERRED = "[DAG TEST] running trigger in line"
DEMO_KEY = "sk-demo-dashscope-api-key"


def _wan_latency(sim: SimulatorServer, seconds: float) -> None:
    """Wan tasks take ``seconds`` of wall time whatever the simulator's speed: long enough to defer."""
    speed = float(sim.config({})["speed"])
    sim.config({"latency": {"wan_image": seconds * speed, "wan_video": seconds * speed}})


def _dashscope(sim: SimulatorServer) -> dict[str, Any]:
    stats: dict[str, Any] = sim.stats()["vendors"]["dashscope"]
    return stats


def test_chain_archives_a_partial_success_and_lists_the_failed_image(
    airflow: AirflowHarness, sim: SimulatorServer, s3: S3Server
) -> None:
    _wan_latency(sim, 2.0)
    sim.config({"faults": {"dashscope": {"submit": {"partial_failure": {"next": 1}}}}})
    bucket = s3.make_bucket("wan-chain")

    run = airflow.run_dag("it_wan_chain", dags_folder=DAGS, env={"AIGC_ARCHIVE_BUCKET": bucket})

    assert run.returncode == 0, run.output_tail()
    assert set(run.task_states().values()) == {"success"}
    assert run.stdout.count(DEFERRED) == 1
    (job,) = _dashscope(sim)["submissions"]["jobs"]
    ref, status = run.xcom("submit"), run.xcom("wait")
    assert ref["request"] == {"model": "wan2.2-t2i-flash", "prompt": "荷塘月色", "size": "1024*1024", "n": 3}
    assert status["job_id"] == ref["job_id"] == job["job_id"]
    assert (status["billed_units"], status["billed_unit"]) == (2, "image")
    (archived,) = read_archive(s3.client, bucket)
    manifest = archived.manifest
    assert [item.key.rsplit("/", 1)[1] for item in archived.files] == ["0.png", "1.png"]
    assert [(item["index"], item["kind"]) for item in manifest["skipped"]] == [(2, "image")]
    assert "DataInspectionFailed" in manifest["skipped"][0]["reason"]
    assert (manifest["vendor"], manifest["app"], manifest["billed_units"]) == ("dashscope", "wan_image", 2)
    assert "2 object(s) (0 reused), 1 skipped" in run.stdout  # how many of the images came back
    assert _dashscope(sim)["downloads"]["count"] == 2
    assert DEMO_KEY not in run.stdout + run.stderr


def test_one_task_defers_and_archives_wan26_images(
    airflow: AirflowHarness, sim: SimulatorServer, s3: S3Server
) -> None:
    _wan_latency(sim, 2.0)
    bucket = s3.make_bucket("wan-one-task")

    run = airflow.run_dag("it_wan_one_task", dags_folder=DAGS, env={"AIGC_ARCHIVE_BUCKET": bucket})

    assert run.returncode == 0, run.output_tail()
    assert run.task_states() == {("generate", -1): "success"}
    assert run.stdout.count(DEFERRED) == 1
    (job,) = _dashscope(sim)["submissions"]["jobs"]
    (archived,) = read_archive(s3.client, bucket)
    assert archived.manifest["job_id"] == job["job_id"]
    assert archived.manifest["request"]["model"] == "wan2.6-t2i"
    assert [item.content_type for item in archived.files] == ["image/png", "image/png"]
    assert archived.manifest["skipped"] == []
    assert DEMO_KEY not in run.stdout + run.stderr


def test_chain_archives_the_video_as_a_first_class_object(
    airflow: AirflowHarness, sim: SimulatorServer, s3: S3Server
) -> None:
    _wan_latency(sim, 2.0)
    bucket = s3.make_bucket("wan-video")

    run = airflow.run_dag("it_wan_video", dags_folder=DAGS, env={"AIGC_ARCHIVE_BUCKET": bucket})

    assert run.returncode == 0, run.output_tail()
    assert set(run.task_states().values()) == {"success"}
    assert run.stdout.count(DEFERRED) == 1
    status = run.xcom("wait")
    assert [output["kind"] for output in status["outputs"]] == ["video"]
    assert (status["billed_units"], status["billed_unit"]) == (10, "second")
    (archived,) = read_archive(s3.client, bucket)  # sizes and sha256 checked against the manifest
    (video,) = archived.files
    assert video.key.endswith("/0.mp4")
    assert video.content_type == "video/mp4"
    assert [item["kind"] for item in archived.manifest["objects"]] == ["video"]
    assert archived.manifest["billed_unit"] == "second"


def test_a_lost_submit_answer_names_the_listed_candidate_and_is_never_resent(
    airflow: AirflowHarness, sim: SimulatorServer
) -> None:
    # The task is created, then its answer is cut in half: the outcome is unknown to the client.
    sim.config({"faults": {"dashscope": {"submit": {"malformed": {"next": 1}}}}})

    run = airflow.run_dag("it_wan_unconfirmed", dags_folder=DAGS)

    assert run.returncode != 0
    assert run.task_states() == {("submit", -1): "failed"}
    assert run.try_numbers() == {("submit", -1): 1}  # fail-fast: its retry was not used
    (job,) = _dashscope(sim)["submissions"]["jobs"]  # bought once, never resent
    output = run.stdout + run.stderr
    assert "AigcSubmitUnconfirmedError" in output
    assert f"{job['job_id']} (PENDING" in output
    assert "evidence, not proof" in output


LIVE_RUN_SECONDS = 120.0  # twice, under pytest-timeout (300 s)
# PENDING lasts a tenth of the latency: long enough to outlast a LocalExecutor's start-up.
PENDING_LATENCY_SECONDS = 1200.0


def _task_status(sim: SimulatorServer, task_id: str) -> str:
    request = urllib.request.Request(
        f"{sim.url}/api/v1/tasks/{task_id}", headers={"Authorization": f"Bearer {DEMO_KEY}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return str(json.loads(answer.read())["output"]["task_status"])


def _deferred_instance(live: LiveAirflow, dag_id: str, process: subprocess.Popen[bytes]) -> str:
    """The task instance path of ``dag_id``'s only task, once it is deferred."""
    deadline = time.monotonic() + LIVE_RUN_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        try:
            runs = live.api("GET", f"/dags/{dag_id}/dagRuns")["dag_runs"]
        except urllib.error.HTTPError as error:  # 404 until the run's process has parsed the DAG
            if error.code != 404:
                raise
            runs = []
        if runs:
            path = f"/dags/{dag_id}/dagRuns/{quote(runs[0]['dag_run_id'], safe='')}/taskInstances"
            (instance,) = live.api("GET", path)["task_instances"]
            if instance["state"] == "deferred":
                return f"{path}/{instance['task_id']}"
        time.sleep(1)
    raise AssertionError(f"{dag_id} did not defer (the run's process ended: {process.poll() is not None})")


def _await_trigger_polling(sim: SimulatorServer, process: subprocess.Popen[bytes]) -> None:
    """Wait for a poll that is not ours: only a trigger the triggerer runs can be killed; a task
    marked failed before the triggerer picked its trigger up is never cancelled (documented)."""
    ours = _dashscope(sim)["polls"]
    deadline = time.monotonic() + LIVE_RUN_SECONDS
    while _dashscope(sim)["polls"] <= ours:
        if time.monotonic() > deadline or process.poll() is not None:
            raise AssertionError("the triggerer never polled the deferred task's job")
        time.sleep(0.5)


def test_a_deferred_task_marked_failed_cancels_its_pending_task_when_opted_in(
    airflow: AirflowHarness, sim: SimulatorServer, s3: S3Server, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A real triggerer calls the trigger's ``on_kill`` when the user marks the task failed; the
    simulator (like DashScope) cancels only a PENDING task, for free."""
    _wan_latency(sim, PENDING_LATENCY_SECONDS)
    bucket = s3.make_bucket("wan-cancel")
    env = {**airflow.connections, "AIGC_ARCHIVE_BUCKET": bucket}
    home = tmp_path_factory.mktemp("live-wan-cancel")
    with live_airflow(airflow.template_db, home, DAGS, env, executor=True) as live:
        log = home / "dags-test.log"
        process = live.dags_test("it_wan_cancel", {}, log)
        instance = _deferred_instance(live, "it_wan_cancel", process)
        (job,) = _dashscope(sim)["submissions"]["jobs"]
        assert _task_status(sim, job["job_id"]) == "PENDING"
        _await_trigger_polling(sim, process)

        live.api("PATCH", instance, {"new_state": "failed"})
        deadline = time.monotonic() + LIVE_RUN_SECONDS
        while _task_status(sim, job["job_id"]) != "CANCELED" and time.monotonic() < deadline:
            time.sleep(1)
        output = live.await_finished("it_wan_cancel", process, log, timeout=LIVE_RUN_SECONDS)
        triggerer_log = (home / "triggerer.log").read_text(errors="replace")

    assert _task_status(sim, job["job_id"]) == "CANCELED", output[-3000:] + triggerer_log[-3000:]
    assert len(_dashscope(sim)["submissions"]["jobs"]) == 1  # nothing bought again
    assert _dashscope(sim)["downloads"]["count"] == 0
    assert DEMO_KEY not in output + triggerer_log
