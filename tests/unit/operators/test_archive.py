"""AigcArchiveToS3Operator: job checks, URL policy from connection and arguments, asset outlet, S3."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, cast

import pytest
from airflow.sdk import DAG, Asset
from airflow.sdk.bases.operator import ExecutorSafeguard
from airflow.sdk.definitions.mappedoperator import MappedOperator
from airflow.sdk.exceptions import AirflowFailException
from airflow.sdk.execution_time.context import OutletEventAccessors
from airflow.serialization.serialized_objects import DagSerialization

from airflow_provider_aigc.exceptions import (
    AigcInvalidRequestError,
    AigcOutputExpiredError,
    AigcServerError,
)
from airflow_provider_aigc.hooks.connection import OutputPolicy
from airflow_provider_aigc.models import JobState, JobStatus, Output
from airflow_provider_aigc.operators import archive as archive_module
from airflow_provider_aigc.operators.archive import AigcArchiveToS3Operator, connection_output_policy
from tests.unit.archive.origin import PNG_HEAD, Origin, Route

if TYPE_CHECKING:
    from airflow.sdk import Context

ARTICLE = "今日要闻：人工智能。"


@pytest.fixture(autouse=True)
def _executor_safeguard_test_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ExecutorSafeguard, "test_mode", True)


class ConnectionPolicy:
    """Stands in for the vendor connection's output policy; records which connection was asked."""

    def __init__(self) -> None:
        self.policy = OutputPolicy(allow_private_output_hosts=True)
        self.asked: list[tuple[str, str | None]] = []

    def __call__(self, vendor: str, conn_id: str | None) -> OutputPolicy:
        self.asked.append((vendor, conn_id))
        return self.policy


@pytest.fixture
def connection_policy(monkeypatch: pytest.MonkeyPatch) -> ConnectionPolicy:
    fake = ConnectionPolicy()
    monkeypatch.setattr(archive_module, "connection_output_policy", fake)
    return fake


def job_status(*outputs: Output, state: JobState = JobState.SUCCEEDED) -> dict[str, Any]:
    return (
        JobStatus(
            vendor="zhipu",
            app="cogview",
            job_id="task-42",
            state=state,
            progress=1.0 if state is JobState.SUCCEEDED else 0.4,
            outputs=outputs,
            conn_id="aigc_zhipu_default",
            request={"query": "a lotus pond at dawn", "key": "queue1"},
            submitted_at="2024-05-01T00:00:00+00:00",
        )
        .billed(1, "job", "zhipu: one job recorded per finished task")
        .to_dict()
    )


PROMPT_SHA256 = hashlib.sha256(b"a lotus pond at dawn").hexdigest()


def image(index: int, url: str, **fields: Any) -> Output:
    return Output(index=index, kind="image", url=url, **fields)


class RecordingTi:
    """The task instance's ``xcom_push``, recorded."""

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def context() -> Context:
    return cast("Context", {"outlet_events": OutletEventAccessors(), "ti": RecordingTi()})


def archive(bucket: str, job: dict[str, Any], **kwargs: Any) -> AigcArchiveToS3Operator:
    return AigcArchiveToS3Operator(
        task_id="archive", job=job, s3_bucket=bucket, s3_key_prefix="cogview/{{ ds }}", **kwargs
    )


def rendered(
    operator: AigcArchiveToS3Operator, prefix: str = "cogview/2024-05-01"
) -> AigcArchiveToS3Operator:
    """The operator as Airflow hands it to ``execute``: its templated prefix rendered."""
    operator.s3_key_prefix = prefix
    return operator


# --- parsing a DAG ---------------------------------------------------------------------------


def test_importing_the_operator_stays_cheap() -> None:
    heavy = (
        "boto3",
        "botocore",
        "requests",
        "urllib3",
        "airflow.providers.amazon.aws.hooks.s3",
        "airflow_provider_aigc.archive.copier",
    )
    code = (
        "import sys, airflow_provider_aigc.operators.archive; "
        f"print([name for name in {heavy!r} if name in sys.modules])"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "[]"


def test_declares_the_static_part_of_the_prefix_as_an_asset() -> None:
    operator = archive("aigc-archive", {})
    assert operator.outlets == [Asset("s3://aigc-archive/cogview")]
    assert operator.template_fields == ("job", "s3_bucket", "s3_key_prefix")


def test_keeps_user_outlets_and_skips_the_asset_for_a_templated_bucket() -> None:
    mine = Asset("s3://elsewhere/x")
    assert archive("aigc-archive", {}, outlets=mine).outlets == [mine, Asset("s3://aigc-archive/cogview")]
    templated = AigcArchiveToS3Operator(
        task_id="a", job={}, s3_bucket="{{ var.value.bucket }}", s3_key_prefix="x"
    )
    assert templated.outlets == []


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"key_template": "{prefix}/{index}.{ext}"}, "key_template"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"max_object_bytes": 0}, "max_object_bytes"),
        ({"allowed_output_hosts": "cdn.example"}, "allowed_output_hosts"),
    ],
)
def test_bad_arguments_fail_when_the_dag_is_parsed(kwargs: dict[str, Any], problem: str) -> None:
    with pytest.raises(AigcInvalidRequestError, match=problem):
        archive("aigc-archive", {}, **kwargs)


def test_maps_over_jobs_and_serializes() -> None:
    with DAG("mapped_archive", schedule=None, start_date=datetime(2024, 1, 1, tzinfo=timezone.utc)) as dag:
        mapped = AigcArchiveToS3Operator.partial(task_id="archive", s3_bucket="aigc-archive").expand(
            job=[job_status(), job_status()]
        )
    assert isinstance(mapped, MappedOperator)
    assert DagSerialization.from_dict(DagSerialization.to_dict(dag)).task_dict["archive"].is_mapped


def test_a_mapped_task_declares_its_asset_through_partial_once() -> None:
    asset = Asset("s3://aigc-archive/cogview")
    with DAG("mapped_archive", schedule=None, start_date=datetime(2024, 1, 1, tzinfo=timezone.utc)):
        mapped = AigcArchiveToS3Operator.partial(
            task_id="archive", s3_bucket="aigc-archive", s3_key_prefix="cogview/{{ ds }}", outlets=[asset]
        ).expand(job=[job_status()])
    assert mapped.outlets == [asset]
    assert mapped.unmap({"job": job_status()}).outlets == [asset]


# --- running ---------------------------------------------------------------------------------


def test_archives_images_and_text_and_records_the_asset_event(
    origin: Origin, s3: Any, bucket: str, connection_policy: ConnectionPolicy
) -> None:
    url = origin.route("/0.png", Route(head=PNG_HEAD, size=1000))
    job = job_status(image(0, url), Output(index=1, kind="text", text=ARTICLE))
    operator = rendered(archive(bucket, job))
    task_context = context()

    result = operator.execute(task_context)

    directory = "cogview/2024-05-01/zhipu/cogview/task-42"
    assert [(item["key"], item["content_type"], item["bucket"]) for item in result] == [
        (f"{directory}/0.png", "image/png", bucket),
        (f"{directory}/1.txt", "text/plain; charset=utf-8", bucket),
    ]
    assert json.loads(json.dumps(result)) == result
    manifest = json.loads(
        s3.client.get_object(Bucket=bucket, Key=f"{directory}/manifest.json")["Body"].read()
    )
    assert manifest["objects"] == result
    assert manifest["prompt"] == "a lotus pond at dawn"
    assert connection_policy.asked == [("zhipu", "aigc_zhipu_default")]
    asset = Asset(f"s3://{bucket}/cogview")
    assert operator.outlet_asset == asset
    extra = task_context["outlet_events"][asset].extra
    assert extra == {
        "bucket": bucket,
        "prefix": "cogview/2024-05-01",
        "manifest_key": f"{directory}/manifest.json",
        "manifest_uri": f"s3://{bucket}/{directory}/manifest.json",
        "vendor": "zhipu",
        "app": "cogview",
        "job_id": "task-42",
        "object_count": 2,
        "total_bytes": len(PNG_HEAD) + 1000 + len(ARTICLE.encode()),
        "billed_units": 1,
        "billed_unit": "job",
        "prompt_sha256": PROMPT_SHA256,
    }
    assert json.loads(json.dumps(extra)) == extra
    assert "a lotus pond" not in json.dumps(extra)
    assert (manifest["billed_units"], manifest["billed_unit"]) == (1, "job")
    assert manifest["billing_basis"] == "zhipu: one job recorded per finished task"
    assert (manifest["prompt_sha256"], manifest["submitted_at"]) == (
        PROMPT_SHA256,
        "2024-05-01T00:00:00+00:00",
    )
    # What AigcManifestLink reads.
    assert task_context["ti"].pushed == {"manifest_uri": f"s3://{bucket}/{directory}/manifest.json"}


def test_logs_what_was_archived_and_billed(
    origin: Origin, bucket: str, connection_policy: ConnectionPolicy, capsys: pytest.CaptureFixture[str]
) -> None:
    url = origin.route("/0.png", Route(head=PNG_HEAD, size=500))
    rendered(archive(bucket, job_status(image(0, url)))).execute(context())
    # The task logger writes through Airflow's structlog handler to stdout.
    line = next(text for text in capsys.readouterr().out.splitlines() if "job task-42:" in text)
    assert f"zhipu cogview job task-42: 1 object(s), {len(PNG_HEAD) + 500} bytes, billed 1 job(s)" in line
    assert "one job recorded per finished task" in line
    assert f"s3://{bucket}/cogview/2024-05-01/zhipu/cogview/task-42/manifest.json" in line


def test_openlineage_names_the_vendor_job_in_and_the_s3_objects_out(
    origin: Origin, bucket: str, connection_policy: ConnectionPolicy
) -> None:
    url = origin.route("/0.png", Route(head=PNG_HEAD, size=700))
    operator = rendered(
        archive(bucket, job_status(image(0, url), Output(index=1, kind="text", text=ARTICLE)))
    )
    assert operator.get_openlineage_facets_on_complete(None) is None  # nothing archived yet
    operator.execute(context())

    lineage = operator.get_openlineage_facets_on_complete(None)

    assert lineage is not None
    directory = "cogview/2024-05-01/zhipu/cogview/task-42"
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("aigc://zhipu", "cogview/task-42")]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [
        (f"s3://{bucket}", f"{directory}/0.png"),
        (f"s3://{bucket}", f"{directory}/1.txt"),
        (f"s3://{bucket}", f"{directory}/manifest.json"),
    ]
    assert lineage.outputs[0].outputFacets["outputStatistics"].size == len(PNG_HEAD) + 700
    facet = lineage.run_facets["aigcJob"]
    assert (facet.vendor, facet.app, facet.jobId, facet.billedUnits, facet.billedUnit) == (
        "zhipu",
        "cogview",
        "task-42",
        1,
        "job",
    )
    assert facet.submittedAt == "2024-05-01T00:00:00+00:00"
    assert facet.archiveStartedAt is not None
    assert facet.archivedAt is not None
    assert (facet.objectCount, facet.totalBytes, facet.promptSha256) == (
        2,
        len(PNG_HEAD) + 700 + len(ARTICLE.encode()),
        PROMPT_SHA256,
    )


def test_a_job_status_from_an_older_version_archives_with_unknown_billing(
    origin: Origin, bucket: str, connection_policy: ConnectionPolicy
) -> None:
    older = {
        k: v
        for k, v in job_status(image(0, origin.route("/0.png", Route(body=PNG_HEAD)))).items()
        if k not in ("billed_units", "billed_unit", "billing_basis", "submitted_at")
    }
    task_context = context()
    rendered(archive(bucket, older)).execute(task_context)
    extra = task_context["outlet_events"][Asset(f"s3://{bucket}/cogview")].extra
    assert (extra["billed_units"], extra["billed_unit"], extra["object_count"]) == (None, None, 1)


def test_rerun_returns_the_same_objects_without_downloading(
    origin: Origin, s3: Any, bucket: str, connection_policy: ConnectionPolicy
) -> None:
    job = job_status(image(0, origin.route("/0.png", Route(body=PNG_HEAD))))
    first = rendered(archive(bucket, job)).execute(context())
    assert rendered(archive(bucket, job)).execute(context()) == first
    assert origin.total_hits == 1


@pytest.mark.parametrize("state", [JobState.RUNNING, JobState.FAILED, JobState.QUEUED])
def test_refuses_unfinished_or_failed_jobs(state: JobState, connection_policy: ConnectionPolicy) -> None:
    with pytest.raises(AirflowFailException, match=f"is {state.value}, not SUCCEEDED") as info:
        rendered(archive("aigc-archive", job_status(state=state))).execute(context())
    assert isinstance(info.value.__cause__, AigcInvalidRequestError)


@pytest.mark.parametrize("job", [["not", "a", "dict"], {"vendor": "zhipu"}])
def test_refuses_what_is_not_a_job_status(job: Any, connection_policy: ConnectionPolicy) -> None:
    with pytest.raises(AirflowFailException, match="JobStatus dict"):
        rendered(archive("aigc-archive", job)).execute(context())


def test_private_outputs_follow_the_connection_unless_the_operator_overrides(
    origin: Origin, s3: Any, bucket: str, connection_policy: ConnectionPolicy
) -> None:
    connection_policy.policy = OutputPolicy(allow_private_output_hosts=False)
    job = job_status(image(0, origin.route("/0.png", Route(body=PNG_HEAD))))

    with pytest.raises(AirflowFailException, match="loopback") as info:
        rendered(archive(bucket, job)).execute(context())
    assert isinstance(info.value.__cause__, AigcInvalidRequestError)
    assert origin.total_hits == 0

    result = rendered(archive(bucket, job, allow_private_output_hosts=True)).execute(context())
    assert [item["index"] for item in result] == [0]


def test_allowed_hosts_follow_the_connection_unless_the_operator_overrides(
    origin: Origin, s3: Any, bucket: str, connection_policy: ConnectionPolicy
) -> None:
    connection_policy.policy = OutputPolicy(("*.bcebos.com",), allow_private_output_hosts=True)
    job = job_status(image(0, origin.route("/0.png", Route(body=PNG_HEAD))))

    with pytest.raises(AirflowFailException, match="not in allowed_output_hosts"):
        rendered(archive(bucket, job)).execute(context())

    result = rendered(archive(bucket, job, allowed_output_hosts=["127.0.0.1"])).execute(context())
    assert [item["index"] for item in result] == [0]


def test_expired_outputs_fail_without_retries_or_downloads(
    origin: Origin, s3: Any, bucket: str, connection_policy: ConnectionPolicy
) -> None:
    url = origin.route("/0.png", Route(body=PNG_HEAD))
    job = job_status(image(0, url, expires_at="2024-01-01T00:00:00+00:00"))
    with pytest.raises(AirflowFailException, match="expired at 2024-01-01T00:00:00") as info:
        rendered(archive(bucket, job)).execute(context())
    assert isinstance(info.value.__cause__, AigcOutputExpiredError)
    assert origin.total_hits == 0


def test_transient_origin_errors_use_the_task_retries(
    origin: Origin, s3: Any, bucket: str, connection_policy: ConnectionPolicy
) -> None:
    job = job_status(image(0, origin.route("/0.png", Route(status=503))))
    with pytest.raises(AigcServerError, match="HTTP 503"):
        rendered(archive(bucket, job)).execute(context())


def test_connection_policy_comes_from_the_vendor_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = {
        "allowed_output_hosts": "cdn.example, *.bcebos.com",
        "allow_private_output_hosts": True,
        "output_ttl_seconds": 600,
    }
    monkeypatch.setenv(
        "AIRFLOW_CONN_AIGC_ZHIPU_ARCHIVE_TEST", json.dumps({"conn_type": "aigc_zhipu", "extra": extra})
    )
    assert connection_output_policy("zhipu", "aigc_zhipu_archive_test") == OutputPolicy(
        ("cdn.example", "*.bcebos.com"), True, 600.0
    )
    assert connection_output_policy("zhipu", None) == OutputPolicy()
