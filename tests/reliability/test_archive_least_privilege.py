"""The archive step under the least-privilege IAM policy of docs/archive.md, on an S3 endpoint that
enforces IAM: a moto server of its own whose auth is switched on (``/moto-api/reset-auth``) after
an IAM user with only that inline policy and its access keys were made.

moto checks every request against the user's policy (a ListObjects from this user is refused), but
it answers a missing key with 404 even to a caller without ``s3:ListBucket``, where AWS S3 answers
403. ``as_aws_answers_without_list`` rewrites those 404s into AWS's 403 ``AccessDenied`` before
botocore parses them, so the copier sees what it would see on AWS.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import urllib.request
import uuid
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError

from airflow_provider_aigc.archive.copier import ArchiveCopier
from airflow_provider_aigc.archive.url_policy import UrlPolicy
from airflow_provider_aigc.simulator.process import LOOPBACK, free_port
from tests.conftest import running_server
from tests.reliability.helpers import BAIDU, JUMDATA, submissions
from tests.reliability.test_archive_faults import MiB, finished

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.conftest import SimulatorServer

BUCKET = "aigc-least-privilege"
PREFIX = "archive"
ACCOUNT = "123456789012"  # moto's default account


def archive_policy(bucket: str, prefix: str) -> dict[str, Any]:
    """The minimal policy docs/archive.md publishes (keep the two in step)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AigcArchiveObjects",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                "Resource": f"arn:aws:s3:::{bucket}/{prefix}/*",
            }
        ],
    }


def s3_client(endpoint: str, key_id: str, secret: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )


def user_with_policy(endpoint: str, name: str, policy: dict[str, Any]) -> tuple[str, str]:
    iam = boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return str(key["AccessKeyId"]), str(key["SecretAccessKey"])


class Endpoint:
    def __init__(self, url: str, archiver: tuple[str, str], admin: tuple[str, str]) -> None:
        self.url = url
        self.archiver = archiver
        self.admin = admin

    def archiver_client(self) -> Any:
        return as_aws_answers_without_list(s3_client(self.url, *self.archiver))

    def admin_client(self) -> Any:
        return s3_client(self.url, *self.admin)


@pytest.fixture(scope="module")
def enforcing_s3() -> Iterator[Endpoint]:
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    argv = [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(port)]
    with running_server(argv, url, "/moto-api/", quiet=True):
        s3_client(url, "testing", "testing").create_bucket(Bucket=BUCKET)
        archiver = user_with_policy(url, "aigc-archiver", archive_policy(BUCKET, PREFIX))
        admin = user_with_policy(
            url,
            "aigc-auditor",
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]},
        )
        request = urllib.request.Request(
            f"{url}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}
        )
        with urllib.request.urlopen(request, timeout=10):  # from now on every request is authorised
            pass
        yield Endpoint(url, archiver, admin)


def as_aws_answers_without_list(client: Any) -> Any:
    """Answer a missing key with 403 AccessDenied, as AWS does to a caller without s3:ListBucket."""

    def rewrite(response_dict: dict[str, Any], **kwargs: Any) -> None:
        if response_dict["status_code"] == 404:
            response_dict["status_code"] = 403
            response_dict["body"] = (
                b"<?xml version='1.0' encoding='UTF-8'?>"
                b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
            )

    for operation in ("GetObject", "HeadObject"):
        client.meta.events.register(f"before-parse.s3.{operation}", rewrite)
    return client


def copier(client: Any, prefix: str, **kwargs: Any) -> ArchiveCopier:
    options: dict[str, Any] = {"policy": UrlPolicy(allow_private=True), "timeout": 10.0, **kwargs}
    return ArchiveCopier(client, bucket=BUCKET, prefix=prefix, **options)


def stored_keys(admin: Any, prefix: str) -> list[str]:
    listing = admin.list_objects_v2(Bucket=BUCKET, Prefix=prefix + "/")
    return sorted(item["Key"] for item in listing.get("Contents", []))


def new_prefix() -> str:
    return f"{PREFIX}/{uuid.uuid4().hex[:12]}"


@pytest.mark.scenario("archive.least-privilege")
def test_the_endpoint_enforces_the_policy(enforcing_s3: Endpoint) -> None:
    archiver = enforcing_s3.archiver_client()
    with pytest.raises(ClientError) as listing:
        archiver.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX + "/")
    assert listing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as outside:
        archiver.put_object(Bucket=BUCKET, Key="elsewhere/x.txt", Body=b"x")
    assert outside.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as missing:
        archiver.get_object(Bucket=BUCKET, Key=f"{PREFIX}/no-such/manifest.json")
    assert missing.value.response["Error"]["Code"] == "AccessDenied"


@pytest.mark.scenario("archive.least-privilege")
def test_head_object_with_checksums_needs_only_get_object(enforcing_s3: Endpoint) -> None:
    """AWS authorises HeadObject (``ChecksumMode=ENABLED`` included) with ``s3:GetObject``; only a
    KMS-encrypted object's checksum also needs ``kms:Decrypt``. moto 5.2.6 asks for an IAM action
    ``s3:HeadObject`` that does not exist, which is why pyproject.toml excludes that release."""
    key = f"{new_prefix()}/0.png"
    enforcing_s3.admin_client().put_object(Bucket=BUCKET, Key=key, Body=b"png", ChecksumAlgorithm="SHA256")
    head = enforcing_s3.archiver_client().head_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
    assert head["ContentLength"] == 3
    assert head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(b"png").digest()).decode()


@pytest.mark.scenario("archive.least-privilege")
def test_first_archive_rerun_and_rearchive_work_without_list_bucket(
    sim: SimulatorServer, enforcing_s3: Endpoint
) -> None:
    job = finished(BAIDU, image_num=3)
    prefix = new_prefix()
    archiver = enforcing_s3.archiver_client()
    first = copier(archiver, prefix).archive(job)  # the manifest read answers 403
    directory = f"{prefix}/baidu/txt2imgv2/{job.job_id}"
    assert [item.key for item in first.objects] == [
        f"{directory}/{i}.png" for i in range(3)
    ]  # default layout
    admin = enforcing_s3.admin_client()
    assert stored_keys(admin, prefix) == sorted([*(item.key for item in first.objects), first.manifest_key])

    downloads = sim.stats()["vendors"]["baidu"]["downloads"]["count"]
    assert copier(archiver, prefix).archive(job) == first  # found again, verified, nothing fetched
    assert sim.stats()["vendors"]["baidu"]["downloads"]["count"] == downloads

    replaced = copier(archiver, prefix, replace=True).archive(job)  # DeleteObject collects the old
    assert stored_keys(admin, prefix) == sorted(
        [*(item.key for item in replaced.objects), first.manifest_key]
    )
    assert len(submissions(sim, "baidu")) == 1


@pytest.mark.scenario("archive.least-privilege")
@pytest.mark.parametrize("image_bytes", [None, 9 * MiB], ids=["single-part", "multipart"])
def test_an_unreadable_manifest_never_lets_an_existing_object_be_overwritten(
    sim: SimulatorServer, enforcing_s3: Endpoint, image_bytes: int | None
) -> None:
    """Manifest answers 403: no proof that no archive exists, so an object already at a default
    key (here: left by a killed run) is kept, and that output goes to a run directory instead."""
    if image_bytes is not None:
        sim.config({"image_bytes": image_bytes})
    job = finished(JUMDATA, num=2)
    prefix = new_prefix()
    directory = f"{prefix}/jumdata/ai_draw/{job.job_id}"
    admin = enforcing_s3.admin_client()
    admin.put_object(Bucket=BUCKET, Key=f"{directory}/0.png", Body=b"someone else's bytes")
    result = copier(enforcing_s3.archiver_client(), prefix).archive(job)
    assert admin.get_object(Bucket=BUCKET, Key=f"{directory}/0.png")["Body"].read() == b"someone else's bytes"
    first, second = result.objects
    assert first.key.startswith(f"{directory}/run-")
    assert second.key == f"{directory}/1.png"
    assert admin.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix).get("Uploads", []) == []
    manifest = json.loads(admin.get_object(Bucket=BUCKET, Key=result.manifest_key)["Body"].read())
    assert [item["key"] for item in manifest["objects"]] == [first.key, second.key]
