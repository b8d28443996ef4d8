"""The archive step's asset event and OpenLineage COMPLETE event, in real Airflow.

``cogview_chain`` (submit >> wait >> archive, in tests/integration/dags_asset) runs with the
OpenLineage provider's file transport; then, in the same metadata database, the example DAG
``example_publish_on_asset`` (scheduled on the archive's asset) reads the
asset event through ``inlet_events`` and publishes. The tests check that the event's ``extra``
arrived with what the manifest says, that the consumer published every object, and that the
emitted COMPLETE event names the vendor job, the S3 objects and the ``aigcJob`` run facet.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.conftest import S3Server, SimulatorServer
    from tests.integration.conftest import AirflowHarness, DagTestRun

pytestmark = pytest.mark.integration

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
PRODUCER_DAGS = Path(__file__).resolve().parent / "dags_asset"
PROMPT = "西湖断桥残雪"
JOB_SECONDS = 0.2


@dataclass(frozen=True)
class Runs:
    producer: DagTestRun
    consumer: DagTestRun
    bucket: str
    lineage_file: Path
    stats: dict[str, Any]

    def asset_events(self) -> list[tuple[str, dict[str, Any]]]:
        """``(asset uri, extra)`` of every asset event in the shared metadata database."""
        with closing(sqlite3.connect(self.producer.home / "airflow.db")) as db:
            rows = db.execute(
                "SELECT asset.uri, asset_event.extra FROM asset_event"
                " JOIN asset ON asset.id = asset_event.asset_id ORDER BY asset_event.id"
            ).fetchall()
        return [(uri, json.loads(extra)) for uri, extra in rows]

    def lineage_events(self) -> list[dict[str, Any]]:
        lines = self.lineage_file.read_text().splitlines() if self.lineage_file.exists() else []
        return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def runs(
    airflow: AirflowHarness,
    simulator: SimulatorServer,
    s3: S3Server,
    tmp_path_factory: pytest.TempPathFactory,
) -> Runs:
    simulator.reset(config=True)
    speed = float(simulator.config({})["speed"])
    simulator.config({"latency": {"cogview": JOB_SECONDS * speed}})
    bucket = s3.make_bucket("asset-lineage")
    lineage_file = tmp_path_factory.mktemp("openlineage") / "events.jsonl"
    env = {
        "AIGC_ARCHIVE_BUCKET": bucket,
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(lineage_file), "append": True}
        ),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "aigc-tests",
    }
    try:
        producer = airflow.run_dag("cogview_chain", {"prompt": PROMPT}, dags_folder=PRODUCER_DAGS, env=env)
        assert producer.returncode == 0, producer.output_tail()
        stats = simulator.stats()
        consumer = airflow.run_dag(
            "example_publish_on_asset", dags_folder=DAGS_FOLDER, env=env, home=producer.home
        )
    finally:
        simulator.reset(config=True)
    return Runs(producer, consumer, bucket, lineage_file, stats)


def manifest_of(s3: S3Server, bucket: str, key: str) -> dict[str, Any]:
    body = s3.client.get_object(Bucket=bucket, Key=key)["Body"].read()
    manifest: dict[str, Any] = json.loads(body)
    return manifest


def test_the_archive_asset_event_carries_the_result(runs: Runs, s3: S3Server) -> None:
    assert set(runs.producer.task_states().values()) == {"success"}
    events = [(uri, extra) for uri, extra in runs.asset_events() if uri == f"s3://{runs.bucket}/cogview"]
    assert len(events) == 1, runs.asset_events()
    _, extra = events[0]
    job = runs.producer.xcom("wait")
    manifest = manifest_of(s3, runs.bucket, extra["manifest_key"])
    assert (extra["vendor"], extra["app"], extra["job_id"]) == ("zhipu", "cogview", job["job_id"])
    assert extra["manifest_uri"] == f"s3://{runs.bucket}/{extra['manifest_key']}"
    assert extra["object_count"] == len(manifest["objects"]) == len(job["outputs"]) > 0
    assert extra["total_bytes"] == sum(item["size"] for item in manifest["objects"])
    # Zhipu documents no price: one job is recorded, and the simulator took exactly one submit.
    assert (extra["billed_units"], extra["billed_unit"]) == (1, "job")
    assert runs.stats["vendors"]["zhipu"]["submissions"]["count"] == 1
    assert (manifest["billed_units"], manifest["billed_unit"]) == (1, "job")
    assert extra["prompt_sha256"] == hashlib.sha256(PROMPT.encode()).hexdigest() == manifest["prompt_sha256"]
    assert PROMPT not in json.dumps(extra)
    log = (runs.producer.home / "dags-test.log").read_text()
    count, size = extra["object_count"], extra["total_bytes"]
    assert f"job {job['job_id']}: {count} object(s), {size} bytes, billed 1 job(s)" in log


def test_the_downstream_dag_reads_the_event_and_publishes(runs: Runs, s3: S3Server) -> None:
    assert runs.consumer.returncode == 0, runs.consumer.output_tail()
    assert runs.consumer.task_states() == {("publish", -1): "success"}
    (published,) = runs.consumer.xcom("publish")
    _, extra = next(event for event in runs.asset_events() if event[0] == f"s3://{runs.bucket}/cogview")
    assert {key: published[key] for key in extra} == extra
    target = f"published/zhipu/cogview/{extra['job_id']}"
    assert published["published_prefix"] == target
    manifest = manifest_of(s3, runs.bucket, extra["manifest_key"])
    assert manifest_of(s3, runs.bucket, f"{target}/manifest.json") == manifest
    for item in manifest["objects"]:
        body = s3.client.get_object(Bucket=runs.bucket, Key=f"{target}/{item['key'].rsplit('/', 1)[1]}")
        assert hashlib.sha256(body["Body"].read()).hexdigest() == item["sha256"]


def test_openlineage_complete_event_names_the_job_the_objects_and_the_cost(runs: Runs, s3: S3Server) -> None:
    completes = [
        event
        for event in runs.lineage_events()
        if event.get("eventType") == "COMPLETE" and event["job"]["name"] == "cogview_chain.archive"
    ]
    assert len(completes) == 1, [(e.get("eventType"), e["job"]["name"]) for e in runs.lineage_events()]
    (event,) = completes
    job = runs.producer.xcom("wait")
    assert [(d["namespace"], d["name"]) for d in event["inputs"]] == [
        ("aigc://zhipu", f"cogview/{job['job_id']}")
    ]
    archived = runs.producer.xcom("archive")
    _, extra = next(e for e in runs.asset_events() if e[0] == f"s3://{runs.bucket}/cogview")
    assert [(d["namespace"], d["name"]) for d in event["outputs"]] == [
        *((f"s3://{runs.bucket}", item["key"]) for item in archived),
        (f"s3://{runs.bucket}", extra["manifest_key"]),
    ]
    assert [d["outputFacets"]["outputStatistics"]["size"] for d in event["outputs"][:-1]] == [
        item["size"] for item in archived
    ]
    facet = event["run"]["facets"]["aigcJob"]
    assert (facet["vendor"], facet["app"], facet["jobId"]) == ("zhipu", "cogview", job["job_id"])
    assert (facet["billedUnits"], facet["billedUnit"]) == (1, "job")
    assert "接口周期次数超限制" in facet["billingBasis"]
    assert facet["submittedAt"] == runs.producer.xcom("submit")["submitted_at"]
    assert facet["submittedAt"] <= facet["archiveStartedAt"] <= facet["archivedAt"]
    assert (facet["objectCount"], facet["totalBytes"]) == (extra["object_count"], extra["total_bytes"])
