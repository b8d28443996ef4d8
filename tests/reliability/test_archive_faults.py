"""The archive step under faults: expired URLs, moderated images, S3 down or failing mid-upload,
broken and oversized downloads, re-runs. The invariant: an archive is either complete (every object
plus ``manifest.json``, written last) or absent; a partial object is never visible.

Driven through ``ArchiveCopier`` (what ``AigcArchiveToS3Operator`` runs) with a boto3 client on the
local S3 endpoint and real simulator jobs.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import BotoCoreError, ClientError

from airflow_provider_aigc.archive.copier import ArchiveCopier
from airflow_provider_aigc.archive.url_policy import UrlPolicy
from airflow_provider_aigc.exceptions import (
    AigcInvalidRequestError,
    AigcOutputExpiredError,
    AigcServerError,
)
from airflow_provider_aigc.models import JobStatus, parse_iso
from tests.conftest import free_port
from tests.reliability.conftest import connection_env
from tests.reliability.helpers import (
    BAIDU,
    JUMDATA,
    VENDORS,
    ZHIPU,
    ZHIPU_NEWS,
    LeakScanner,
    VendorCase,
    fault,
    make_hook,
    stats,
    submissions,
    wait_for_terminal,
    wait_until,
)

if TYPE_CHECKING:
    from collections.abc import Collection

    from tests.conftest import S3Server, SimulatorServer

BUCKET = "aigc-reliability"
MiB = 1024 * 1024


@pytest.fixture
def bucket(s3: S3Server) -> str:
    return s3.make_bucket(BUCKET)


def finished(case: VendorCase, **params: Any) -> JobStatus:
    hook = make_hook(case.vendor)
    ref = hook.submit(case.app, {**case.params(f"江南 {uuid.uuid4().hex[:8]}"), **params})
    status = wait_for_terminal(hook, ref.job_id, case.app)
    return dataclasses.replace(status, request=ref.request)


def copier(client: Any, prefix: str, **kwargs: Any) -> ArchiveCopier:
    options: dict[str, Any] = {"policy": UrlPolicy(allow_private=True), "timeout": 10.0, **kwargs}
    return ArchiveCopier(client, bucket=BUCKET, prefix=prefix, **options)


def keys(client: Any, prefix: str) -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix + "/")
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def size_of(client: Any, key: str) -> int:
    return int(client.head_object(Bucket=BUCKET, Key=key)["ContentLength"])


def open_uploads(client: Any, prefix: str) -> list[str]:
    return [
        item["Key"] for item in client.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix).get("Uploads", [])
    ]


def url_expiry(url: str) -> float:
    """The expiry the simulator signed into a zhipu/jumdata image URL (its ``e`` parameter)."""
    return float(parse_qs(urlsplit(url).query)["e"][0])


def new_prefix() -> str:
    return f"rel/{uuid.uuid4().hex[:12]}"


def assert_complete(client: Any, prefix: str, job: JobStatus, skipped: int = 0) -> dict[str, Any]:
    """Every output archived with the sha256 and size the manifest says, and nothing else."""
    stored = keys(client, prefix)
    manifest_keys = [key for key in stored if key.endswith("/manifest.json")]
    assert len(manifest_keys) == 1, stored
    manifest = json.loads(client.get_object(Bucket=BUCKET, Key=manifest_keys[0])["Body"].read())
    assert (manifest["vendor"], manifest["app"], manifest["job_id"]) == (job.vendor, job.app, job.job_id)
    assert len(manifest["objects"]) == len(job.outputs) - skipped
    assert len(manifest["skipped"]) == skipped
    assert sorted(item["key"] for item in manifest["objects"]) == sorted(set(stored) - set(manifest_keys))
    import hashlib

    for item in manifest["objects"]:
        body = client.get_object(Bucket=BUCKET, Key=item["key"])["Body"].read()
        assert (len(body), hashlib.sha256(body).hexdigest()) == (item["size"], item["sha256"])
    assert open_uploads(client, prefix) == []
    return dict(manifest)


def assert_absent(client: Any, prefix: str) -> None:
    assert keys(client, prefix) == []
    assert open_uploads(client, prefix) == []


# --- expiry --------------------------------------------------------------------------------------


@pytest.mark.scenario("archive.url-expiry")
@pytest.mark.parametrize("case", [ZHIPU, BAIDU], ids=str)
def test_output_past_its_expiry_is_refused_before_any_download(
    sim: SimulatorServer, s3: S3Server, bucket: str, case: VendorCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    # zhipu: the connection's output_ttl_seconds; baidu: the expiry signed into the URL itself
    for name, value in connection_env(sim.url, output_ttl_seconds=1).items():
        monkeypatch.setenv(name, value)
    sim.config({"url_ttl": {"baidu": 1.0}})
    job = finished(case)
    expiry = max(parse_iso(output.expires_at) or 0 for output in job.outputs)  # type: ignore[type-var]
    assert wait_until(lambda: time.time() > expiry.timestamp(), attempts=60)  # type: ignore[union-attr]
    prefix = new_prefix()
    requests_before = sim.stats()["requests_total"]
    with pytest.raises(AigcOutputExpiredError, match="expired at") as caught:
        copier(s3.client, prefix, output_ttl_seconds=1).archive(job)
    assert "Submit the job again" in caught.value.message
    assert sim.stats()["requests_total"] == requests_before + 1  # only this stats call: nothing fetched
    assert_absent(s3.client, prefix)


@pytest.mark.scenario("archive.url-expiry")
@pytest.mark.parametrize("case", [ZHIPU, JUMDATA], ids=str)
def test_url_expired_at_the_origin_is_an_expired_error_and_stores_nothing(
    sim: SimulatorServer, s3: S3Server, bucket: str, case: VendorCase
) -> None:
    """The vendor's URL died sooner than the provider could know (zhipu: undocumented lifetime;
    jumdata: earlier than its documented three months): 403 at download."""
    sim.config({"url_ttl": {case.vendor: 1.0}})
    job = finished(case)
    expiry = max(url_expiry(output.url or "") for output in job.outputs)
    assert wait_until(lambda: time.time() > expiry + 0.2, attempts=80)  # let the URLs expire
    prefix = new_prefix()
    with pytest.raises(AigcOutputExpiredError, match="403") as caught:
        copier(s3.client, prefix).archive(job)
    assert caught.value.fail_fast
    assert not LeakScanner(url_signatures=set()).leaks(str(caught.value))
    assert "?" not in str(caught.value), "the message must not quote the signed query string"
    assert_absent(s3.client, prefix)


# --- moderation ----------------------------------------------------------------------------------


@pytest.mark.scenario("archive.moderation-block")
def test_blocked_image_is_skipped_and_listed_in_the_manifest(
    sim: SimulatorServer, s3: S3Server, bucket: str
) -> None:
    # The simulator always answers "pass" for images; the verdict is set as Baidu would send it.
    job = finished(BAIDU, image_num=3)
    outputs = list(job.outputs)
    outputs[1] = dataclasses.replace(outputs[1], moderation="block")
    job = dataclasses.replace(job, outputs=tuple(outputs))
    prefix = new_prefix()
    result = copier(s3.client, prefix).archive(job)
    assert sorted(item.index for item in result.objects) == [0, 2]
    manifest = assert_complete(s3.client, prefix, job, skipped=1)
    assert manifest["skipped"][0]["index"] == 1
    assert "block" in manifest["skipped"][0]["reason"]
    assert not any(key.endswith("/1.png") for key in keys(s3.client, prefix))


# --- S3 faults -----------------------------------------------------------------------------------


@pytest.mark.scenario("archive.s3-down")
@pytest.mark.parametrize("case", [BAIDU, ZHIPU_NEWS], ids=str)
def test_s3_down_stores_nothing_and_a_retry_completes(
    sim: SimulatorServer, s3: S3Server, bucket: str, case: VendorCase
) -> None:
    job = finished(case)
    dead = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=boto3.session.Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    prefix = new_prefix()
    # Not an AigcError, but never a fail-fast one: Airflow's task retries apply.
    with pytest.raises((BotoCoreError, ClientError, AigcServerError)):
        copier(dead, prefix).archive(job)
    assert_absent(s3.client, prefix)
    copier(s3.client, prefix).archive(job)  # the task retry, S3 back
    assert_complete(s3.client, prefix, job)


class FailParts:
    """A botocore hook answering 500 to every UploadPart after the first ``healthy`` ones."""

    def __init__(self, healthy: int) -> None:
        self.healthy = healthy
        self.seen = 0
        self.failed = 0

    def __call__(self, request: Any, **kwargs: Any) -> AWSResponse | None:
        self.seen += 1
        if self.seen <= self.healthy:
            return None
        self.failed += 1
        return AWSResponse(request.url, 500, {}, _RawBody(b"<Error><Code>InternalError</Code></Error>"))


class _RawBody:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **kwargs: Any) -> Any:
        yield self._body

    def read(self, *args: Any) -> bytes:
        body, self._body = self._body, b""
        return body


@pytest.mark.scenario("archive.s3-mid-upload")
def test_s3_failing_mid_multipart_upload_leaves_no_partial_object(
    sim: SimulatorServer, s3: S3Server, bucket: str
) -> None:
    sim.config({"image_bytes": 20 * MiB})  # three 8 MiB parts per image
    job = finished(BAIDU, image_num=1)
    client = s3.client
    failing = FailParts(healthy=1)
    client.meta.events.register("before-send.s3.UploadPart", failing)
    prefix = new_prefix()
    with pytest.raises((BotoCoreError, ClientError, AigcServerError)):
        copier(client, prefix).archive(job)
    assert failing.failed >= 1
    assert_absent(s3.client, prefix)  # no object, no manifest, the multipart upload aborted
    client.meta.events.unregister("before-send.s3.UploadPart", failing)
    copier(client, prefix).archive(job)  # the task retry
    manifest = assert_complete(s3.client, prefix, job)
    assert manifest["objects"][0]["size"] == 20 * MiB


@pytest.mark.scenario("archive.s3-mid-upload")
def test_manifest_is_the_last_write(sim: SimulatorServer, s3: S3Server, bucket: str) -> None:
    job = finished(BAIDU, image_num=3)
    client = s3.client
    writes: list[str] = []

    def record(params: dict[str, Any], model: Any, **kwargs: Any) -> None:
        writes.append(f"{model.name}:{params.get('Key')}")

    for operation in ("PutObject", "CreateMultipartUpload", "CompleteMultipartUpload"):
        client.meta.events.register(f"before-parameter-build.s3.{operation}", record)
    prefix = new_prefix()
    copier(client, prefix).archive(job)
    assert writes[-1].startswith("PutObject:")
    assert writes[-1].endswith("/manifest.json")
    assert sum(write.endswith("/manifest.json") for write in writes) == 1
    assert_complete(s3.client, prefix, job)


# --- downloads -----------------------------------------------------------------------------------


@pytest.mark.scenario("archive.download-broken")
@pytest.mark.parametrize("case", VENDORS, ids=str)
@pytest.mark.parametrize("name", ["truncate", "http_5xx"])
def test_broken_download_stores_nothing_and_a_retry_completes(
    sim: SimulatorServer, s3: S3Server, bucket: str, case: VendorCase, name: str
) -> None:
    job = finished(case)
    sim.config(fault(case.vendor, "download", name, next=1))
    prefix = new_prefix()
    with pytest.raises(AigcServerError) as caught:
        copier(s3.client, prefix).archive(job)
    assert caught.value.retryable
    assert not caught.value.fail_fast
    assert "?" not in caught.value.message
    # Outputs that finished before the failure may already be stored (whole); the broken one is
    # not, no manifest exists and no multipart upload is left open, until the task retry.
    before = {key: size_of(s3.client, key) for key in keys(s3.client, prefix)}
    assert not any(key.endswith("/manifest.json") for key in before)
    assert len(before) < len(job.outputs)
    assert open_uploads(s3.client, prefix) == []
    copier(s3.client, prefix).archive(job)  # the task retry
    manifest = assert_complete(s3.client, prefix, job)
    sizes = {item["key"]: item["size"] for item in manifest["objects"]}
    assert all(sizes[key] == size for key, size in before.items()), "a partial object was visible"


@pytest.mark.scenario("archive.download-broken")
def test_permanent_failure_of_a_later_output_leaves_no_orphan_objects(
    sim: SimulatorServer, s3: S3Server, bucket: str
) -> None:
    """Outputs 0 and 1 copy fine, output 2's URL is refused (403): the task fails for good, so
    nothing of the job may stay behind without a manifest (no retry would ever complete it)."""
    job = finished(BAIDU, image_num=3)
    outputs = list(job.outputs)
    outputs[2] = dataclasses.replace(outputs[2], url=(outputs[2].url or "")[:-4] + "0000")  # bad signature
    job = dataclasses.replace(job, outputs=tuple(outputs))
    prefix = new_prefix()
    with pytest.raises(AigcOutputExpiredError):
        copier(s3.client, prefix, max_concurrency=1).archive(job)
    assert_absent(s3.client, prefix)


@pytest.mark.scenario("security.size-cap")
@pytest.mark.parametrize("case", VENDORS, ids=str)
def test_endless_body_is_cut_at_the_cap_leaving_nothing(
    sim: SimulatorServer, s3: S3Server, bucket: str, case: VendorCase
) -> None:
    job = finished(case)
    sim.config(fault(case.vendor, "download", "endless", probability=1.0))
    prefix = new_prefix()
    cap = 9 * MiB  # past the first 8 MiB part: the multipart upload has begun when the cap hits
    with pytest.raises(AigcInvalidRequestError, match=f"its cap of {cap} bytes") as caught:
        copier(s3.client, prefix, max_object_bytes=cap).archive(job)
    assert caught.value.fail_fast
    assert_absent(s3.client, prefix)
    sent = stats(sim, case.vendor)["downloads"]["bytes"]
    assert sent < 64 * MiB, f"the simulator sent {sent} bytes: the client did not stop at the cap"


@pytest.mark.scenario("security.size-cap")
def test_declared_oversize_body_is_refused_before_reading(
    sim: SimulatorServer, s3: S3Server, bucket: str
) -> None:
    sim.config({"image_bytes": 4 * MiB})
    job = finished(JUMDATA, num=1)
    prefix = new_prefix()
    with pytest.raises(AigcInvalidRequestError, match="declared"):
        copier(s3.client, prefix, max_object_bytes=MiB).archive(job)
    assert_absent(s3.client, prefix)


# --- re-runs and keys ----------------------------------------------------------------------------


@pytest.mark.scenario("archive.idempotent")
@pytest.mark.parametrize("case", [ZHIPU, ZHIPU_NEWS, BAIDU, JUMDATA], ids=str)
def test_rerun_finds_the_complete_archive_and_downloads_nothing(
    sim: SimulatorServer, s3: S3Server, bucket: str, case: VendorCase
) -> None:
    job = finished(case)
    prefix = new_prefix()
    first = copier(s3.client, prefix).archive(job)
    manifest = assert_complete(s3.client, prefix, job)
    downloads = stats(sim, case.vendor)["downloads"]["count"]
    second = copier(s3.client, prefix).archive(job)
    assert second == first
    assert stats(sim, case.vendor)["downloads"]["count"] == downloads
    assert assert_complete(s3.client, prefix, job) == manifest


HOSTILE_IDS = [
    "../../../etc/passwd",
    "..",
    "a/../../b",
    "/absolute/path",
    "back\\slash\\..\\..",
    "tab\there\nnewline\x00nul\x7fdel",
    "x" * 2000,
    "%2e%2e%2f%2e%2e",
    "\u202egnp.exe",
]


@pytest.mark.scenario("security.keys")
@pytest.mark.parametrize("job_id", HOSTILE_IDS, ids=range(len(HOSTILE_IDS)))
def test_hostile_job_ids_cannot_escape_the_prefix(
    sim: SimulatorServer, s3: S3Server, bucket: str, job_id: str
) -> None:
    job = dataclasses.replace(finished(JUMDATA, num=2), job_id=job_id)
    prefix = new_prefix()
    copier(s3.client, prefix).archive(job)
    stored = keys(s3.client, prefix)
    assert len(stored) == 3
    for key in stored:
        assert key.startswith(f"{prefix}/jumdata/ai_draw/")
        segments = key.split("/")
        assert len(segments) == len(prefix.split("/")) + 4
        assert not {"", ".", ".."} & set(segments)
        assert all(ch.isprintable() for ch in key)
        assert "\\" not in key
        assert len(key) <= 200
    manifest = assert_complete(s3.client, prefix, job)
    assert manifest["job_id"] == job_id  # the manifest keeps the vendor's id as it was


# --- re-archiving: the previous archive survives every failure ----------------------------------


def manifest_at(client: Any, prefix: str) -> tuple[str, bytes]:
    (key,) = [key for key in keys(client, prefix) if key.endswith("/manifest.json")]
    return key, bytes(client.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def assert_intact(client: Any, manifest: dict[str, Any], gone: Collection[str] = ()) -> None:
    """Every object the manifest lists holds the recorded size and sha256, read back from S3."""
    import hashlib

    for item in manifest["objects"]:
        if item["key"] in gone:
            continue
        body = client.get_object(Bucket=BUCKET, Key=item["key"])["Body"].read()
        assert (len(body), hashlib.sha256(body).hexdigest()) == (item["size"], item["sha256"]), item["key"]


def with_output(job: JobStatus, index: int, **changes: Any) -> JobStatus:
    outputs = list(job.outputs)
    outputs[index] = dataclasses.replace(outputs[index], **changes)
    return dataclasses.replace(job, outputs=tuple(outputs))


def bad_signature(url: str | None) -> str:
    """The URL with its signature broken: the simulator's origin answers 403, as for an expired URL."""
    return (url or "")[:-4] + "0000"


@pytest.mark.scenario("archive.rearchive-failure")
@pytest.mark.parametrize("how", ["replace", "skip_blocked-changed", "object-deleted"])
def test_failed_rearchive_keeps_the_previous_archive(
    sim: SimulatorServer, s3: S3Server, bucket: str, how: str
) -> None:
    """Archive A is complete; a re-run that must download again fails on its last output (403 at
    the origin, as for an expired URL) after storing the others: A's manifest and every object it
    lists are untouched, nothing of the failed run remains, and the job was bought once."""
    job = finished(BAIDU, image_num=3)
    prefix = new_prefix()
    first_job = with_output(job, 2, moderation="block") if how == "skip_blocked-changed" else job
    copier(s3.client, prefix).archive(first_job)
    manifest_key, manifest_raw = manifest_at(s3.client, prefix)
    manifest = json.loads(manifest_raw)
    gone: set[str] = set()
    options: dict[str, Any] = {"max_concurrency": 1}
    if how == "replace":
        options["replace"] = True
    elif how == "skip_blocked-changed":
        options["skip_blocked"] = False
    else:
        gone = {manifest["objects"][2]["key"]}
        s3.client.delete_object(Bucket=BUCKET, Key=manifest["objects"][2]["key"])
    broken = with_output(first_job, 2, url=bad_signature(job.outputs[2].url))
    with pytest.raises(AigcOutputExpiredError, match="403"):
        copier(s3.client, prefix, **options).archive(broken)
    assert manifest_at(s3.client, prefix) == (manifest_key, manifest_raw)
    assert_intact(s3.client, manifest, gone)
    listed = {item["key"] for item in manifest["objects"]} - gone
    assert set(keys(s3.client, prefix)) == listed | {manifest_key}, "the failed run left objects behind"
    assert open_uploads(s3.client, prefix) == []
    assert len(submissions(sim, "baidu")) == 1


@pytest.mark.scenario("archive.rearchive-failure")
def test_rearchive_after_the_urls_expired_keeps_the_previous_archive(
    sim: SimulatorServer, s3: S3Server, bucket: str
) -> None:
    """The realistic case: A archived while the URLs lived; replace=True after they expired."""
    sim.config({"url_ttl": {"zhipu": 3.0}})
    job = finished(ZHIPU)
    prefix = new_prefix()
    copier(s3.client, prefix).archive(job)
    manifest_key, manifest_raw = manifest_at(s3.client, prefix)
    expiry = max(url_expiry(output.url or "") for output in job.outputs)
    # The expiry is whole seconds, so it may lie up to ttl + 1 s ahead: sleep exactly past it.
    assert expiry - time.time() < 5.0
    time.sleep(max(0.0, expiry + 0.2 - time.time()))
    with pytest.raises(AigcOutputExpiredError, match="403"):
        copier(s3.client, prefix, replace=True).archive(job)
    assert manifest_at(s3.client, prefix) == (manifest_key, manifest_raw)
    assert_complete(s3.client, prefix, job)
    # Without replace the intact archive is simply found again: nothing to download.
    copier(s3.client, prefix).archive(job)
    assert manifest_at(s3.client, prefix) == (manifest_key, manifest_raw)
    assert len(submissions(sim, "zhipu")) == 1


@pytest.mark.scenario("archive.rearchive-commit")
@pytest.mark.parametrize("how", ["replace", "skip_blocked-changed", "object-deleted"])
def test_successful_rearchive_leaves_exactly_the_new_manifests_objects(
    sim: SimulatorServer, s3: S3Server, bucket: str, how: str
) -> None:
    job = finished(BAIDU, image_num=3)
    prefix = new_prefix()
    blocked = with_output(job, 1, moderation="block")
    first_job = blocked if how == "skip_blocked-changed" else job
    copier(s3.client, prefix).archive(first_job)
    old = json.loads(manifest_at(s3.client, prefix)[1])
    downloads = stats(sim, "baidu")["downloads"]["count"]
    options: dict[str, Any] = {}
    if how == "replace":
        options["replace"] = True
    elif how == "skip_blocked-changed":
        options["skip_blocked"] = False
    else:
        s3.client.delete_object(Bucket=BUCKET, Key=old["objects"][0]["key"])
    result = copier(s3.client, prefix, **options).archive(first_job)
    manifest = assert_complete(s3.client, prefix, first_job)  # only the new manifest's objects remain
    assert [item.to_dict() for item in result.objects] == manifest["objects"]
    fetched = stats(sim, "baidu")["downloads"]["count"] - downloads
    assert fetched == {"replace": 3, "skip_blocked-changed": 1, "object-deleted": 1}[how]
    reused = {item["key"] for item in old["objects"]} & {item["key"] for item in manifest["objects"]}
    assert len(reused) == {"replace": 0, "skip_blocked-changed": 2, "object-deleted": 2}[how]
    assert len(submissions(sim, "baidu")) == 1


@pytest.mark.scenario("archive.integrity")
@pytest.mark.parametrize("s3_checksum", [False, True], ids=["no-s3-checksum", "own-s3-checksum"])
def test_object_corrupted_in_place_is_detected_and_copied_again(
    sim: SimulatorServer, s3: S3Server, bucket: str, s3_checksum: bool
) -> None:
    """Same size, other bytes (bit rot, a careless overwrite): sizes alone would reuse it."""
    job = finished(JUMDATA)
    prefix = new_prefix()
    copier(s3.client, prefix).archive(job)
    old = json.loads(manifest_at(s3.client, prefix)[1])
    victim = old["objects"][1]
    original = s3.client.get_object(Bucket=BUCKET, Key=victim["key"])["Body"].read()
    corrupt = original[:-8] + bytes(b ^ 0xFF for b in original[-8:])
    extra = {"ChecksumAlgorithm": "SHA256"} if s3_checksum else {}
    s3.client.put_object(Bucket=BUCKET, Key=victim["key"], Body=corrupt, **extra)
    downloads = stats(sim, "jumdata")["downloads"]["count"]
    copier(s3.client, prefix).archive(job)
    manifest = assert_complete(s3.client, prefix, job)  # every listed object has its sha256 again
    assert stats(sim, "jumdata")["downloads"]["count"] == downloads + 1  # only the corrupted one
    (copy,) = [item for item in manifest["objects"] if item["index"] == victim["index"]]
    assert copy["sha256"] == victim["sha256"]
    assert copy["key"] != victim["key"]
