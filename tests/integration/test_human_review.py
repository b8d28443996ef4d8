"""dags/example_human_review.py end to end in real Airflow, the approval answered over REST.

A real api-server shares the sqlite metadata database with ``airflow dags test``; the run
parks ``review`` in AWAITING_INPUT, the test reads the request through
``GET /api/v2/dags/{dag}/dagRuns/~/hitlDetails`` and answers it with ``PATCH .../hitlDetails``
as a reviewer would, and the run resumes: publish on Approve, nothing published on Reject.
"""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.integration.live_airflow import LiveAirflow, ReviewedRun, live_airflow

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.conftest import S3Server, SimulatorServer
    from tests.integration.conftest import AirflowHarness

pytestmark = pytest.mark.integration

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
DAG_ID = "example_human_review"
PRESIGNED = re.compile(r"!\[image (\d)\]\((http[^)\s]+)\)")


@pytest.fixture(scope="module")
def review_bucket(s3: S3Server) -> str:
    return s3.make_bucket("human-review")


@pytest.fixture(scope="module")
def live(
    airflow: AirflowHarness,
    simulator: SimulatorServer,
    s3: S3Server,
    review_bucket: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveAirflow]:
    simulator.reset(config=True)
    simulator.config({"latency": {"ai_draw": 0.2 * float(simulator.config({})["speed"])}})
    env = {**airflow.connections, "AIGC_ARCHIVE_BUCKET": review_bucket}
    home = tmp_path_factory.mktemp("live-review")
    with live_airflow(airflow.template_db, home, DAGS_FOLDER, env) as server:
        yield server
    simulator.reset(config=True)


def review_once(live: LiveAirflow, answer: str, text: str) -> ReviewedRun:
    """Run the DAG and answer ``answer``; the request the reviewer was shown is in the result."""
    run = live.reviewed_run(DAG_ID, {"text": text, "num": 2}, live.home / f"dags-test-{answer}.log", answer)
    assert run.answered["chosen_options"] == [answer]
    return run


def archived_keys(s3: S3Server, bucket: str, prefix: str) -> list[str]:
    listing = s3.client.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def test_reviewer_sees_the_s3_copies_and_approval_publishes_them(
    live: LiveAirflow, s3: S3Server, review_bucket: str, simulator: SimulatorServer
) -> None:
    run = review_once(live, "Approve", "江南水乡的清晨")
    run_id, request = run.run_id, run.request

    # What the reviewer was shown: the archived S3 copies, never the vendor's expiring URLs.
    assert request["options"] == ["Approve", "Reject"]
    assert request["subject"] == "Publish 2 image(s) for “江南水乡的清晨”?"
    archived = live.xcom(DAG_ID, run_id, "archive")
    assert len(archived) == 2
    body = request["body"]
    assert simulator.url not in body
    previews = dict(PRESIGNED.findall(body))
    assert sorted(previews) == ["0", "1"]
    for item in archived:
        assert f"`s3://{review_bucket}/{item['key']}`" in body
        url = previews[str(item["index"])]
        assert url.startswith(f"{s3.endpoint_url}/{review_bucket}/{item['key']}?")
        with urllib.request.urlopen(url, timeout=30) as response:  # the link really opens the copy
            assert (
                response.read() == s3.client.get_object(Bucket=review_bucket, Key=item["key"])["Body"].read()
            )

    states = live.task_states(DAG_ID, run_id)
    assert states == dict.fromkeys(("submit", "wait", "archive", "preview", "review", "publish"), "success")
    manifest_uri = live.xcom(DAG_ID, run_id, "archive", key="manifest_uri")
    manifest_key = manifest_uri.removeprefix(f"s3://{review_bucket}/")
    published = live.xcom(DAG_ID, run_id, "publish")
    expected = [f"published/{item['key']}" for item in archived] + [f"published/{manifest_key}"]
    assert published == [f"s3://{review_bucket}/{key}" for key in expected]
    for item in archived:
        original = s3.client.get_object(Bucket=review_bucket, Key=item["key"])["Body"].read()
        copy = s3.client.get_object(Bucket=review_bucket, Key=f"published/{item['key']}")["Body"].read()
        assert copy == original
        assert len(copy) == item["size"]


def test_rejection_publishes_nothing(live: LiveAirflow, s3: S3Server, review_bucket: str) -> None:
    run_id = review_once(live, "Reject", "被拒绝的草图").run_id

    states = live.task_states(DAG_ID, run_id)
    assert states["review"] == "success"
    assert states["publish"] == "skipped"
    archived = live.xcom(DAG_ID, run_id, "archive")
    job_directory = archived[0]["key"].rsplit("/", 1)[0]
    assert archived_keys(s3, review_bucket, f"published/{job_directory}/") == []
    assert len(archived_keys(s3, review_bucket, f"{job_directory}/")) == 3  # two images + manifest


def test_a_run_that_ends_unasked_fails_at_once_with_the_end_of_its_log(live: LiveAirflow) -> None:
    # ``num`` below the DAG's minimum: Airflow refuses the run before any task, so no request comes.
    log = live.home / "dags-test-refused.log"
    with pytest.raises(AssertionError) as failure:
        live.reviewed_run(DAG_ID, {"text": "不会运行", "num": 0}, log, "Approve")
    message = str(failure.value)
    assert f"airflow dags test {DAG_ID} ended (rc 1) unasked" in message
    assert f"--- the end of {log} ---" in message
    assert "ParamValidationError" in message  # the cause, from the log
