"""The one-task mode (CogViewToS3Operator) in real Airflow against the simulator and a moto S3 server.

``airflow dags test`` runs the task, defers it to AigcJobTrigger (run in-process), resumes it to
archive, and honours its retry: the retry after a complete archive must neither buy nor copy.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from demo_archive import read_archive

from airflow_provider_aigc.operators.generate import GENERATE_STATE_KEY, PURCHASES_XCOM_KEY
from airflow_provider_aigc.operators.job_state import JOB_STATE_KEY

if TYPE_CHECKING:
    from tests.conftest import S3Server, SimulatorServer
    from tests.integration.conftest import AirflowHarness

pytestmark = pytest.mark.integration

DAGS = Path(__file__).parent / "dags_one_task"
DEFERRED = "[DAG TEST] running trigger in line"
COGVIEW_IMAGES = 4


def test_one_task_buys_once_archives_and_its_retry_neither_buys_nor_copies(
    airflow: AirflowHarness, sim: SimulatorServer, s3: S3Server
) -> None:
    speed = float(sim.config({})["speed"])
    sim.config({"latency": {"cogview": 2.0 * speed}})  # 2 s: the task really defers
    bucket = s3.make_bucket("one-task-retry")

    run = airflow.run_dag("it_one_task_retry", dags_folder=DAGS, env={"AIGC_ARCHIVE_BUCKET": bucket})

    assert run.returncode == 0, run.output_tail()
    assert run.task_states() == {("generate", -1): "success"}
    assert run.try_numbers() == {("generate", -1): 2}
    assert f"simulated loss after archiving {COGVIEW_IMAGES} object(s)" in run.stdout
    assert run.stdout.count(DEFERRED) == 1  # the first try waited in the trigger, the retry did not
    stats = sim.stats()["vendors"]["zhipu"]
    (job,) = stats["submissions"]["jobs"]  # one purchase
    assert stats["downloads"]["count"] == COGVIEW_IMAGES  # each image copied once
    # The retry found the finished job in its task state and the complete archive in S3.
    assert f"Job {job['job_id']} finished in an earlier try" in run.stdout
    assert f"already archives job {job['job_id']} completely; not downloading again" in run.stdout

    (archived,) = read_archive(s3.client, bucket)  # every object checked against the manifest
    assert archived.manifest["job_id"] == job["job_id"]
    assert len(archived.files) == COGVIEW_IMAGES
    assert all("/run-" not in item.key for item in archived.files)
    returned = run.xcom("generate")
    assert [(item["key"], item["sha256"], item["size"]) for item in returned] == [
        (item.key, item.sha256, item.size) for item in archived.files
    ]
    state = run.task_state_store("generate")
    assert state[JOB_STATE_KEY]["job"]["job_id"] == job["job_id"]
    assert state[GENERATE_STATE_KEY]["finished"]["state"] == "SUCCEEDED"
    purchases = run.xcom("generate", key=PURCHASES_XCOM_KEY)
    assert [item["job_id"] for item in purchases["jobs"]] == [job["job_id"]]
    assert purchases["billed_units"] == archived.manifest.get("billed_units", 1)


def test_a_model_failure_is_bought_again_once_and_both_purchases_are_billed(
    airflow: AirflowHarness, sim: SimulatorServer, s3: S3Server
) -> None:
    speed = float(sim.config({})["speed"])
    sim.config({"latency": {"cogview": 1.0 * speed}})
    sim.config({"faults": {"zhipu": {"submit": {"job_failure": {"next": 1}}}}})  # the first job fails
    bucket = s3.make_bucket("one-task-resubmit")

    run = airflow.run_dag("it_one_task_resubmit", dags_folder=DAGS, env={"AIGC_ARCHIVE_BUCKET": bucket})

    assert run.returncode == 0, run.output_tail()
    assert run.try_numbers() == {("generate", -1): 2}
    failed, bought = (job["job_id"] for job in sim.stats()["vendors"]["zhipu"]["submissions"]["jobs"])
    (archived,) = read_archive(s3.client, bucket)
    assert archived.manifest["job_id"] == bought
    purchases = run.xcom("generate", key=PURCHASES_XCOM_KEY)
    assert [(item["job_id"], item["state"]) for item in purchases["jobs"]] == [
        (failed, "FAILED"),
        (bought, "SUCCEEDED"),
    ]
    assert purchases["resubmits"] == 1
    assert purchases["billed_units"] == sum(item["billed_units"] for item in purchases["jobs"])
    assert run.task_state_store("generate")[GENERATE_STATE_KEY]["resubmits"] == 1
