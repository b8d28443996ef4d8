"""The demo's archive check: every manifest verified against S3, published copies against their
originals (moto in process: one layer, no Airflow)."""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from demo_archive import ArchiveMismatchError, read_archive

if TYPE_CHECKING:
    from collections.abc import Iterator

BUCKET = "aigc-archive"
DIRECTORY = "review/2026-12-05/jumdata/ai_draw/42"
IMAGES = {f"{DIRECTORY}/0.png": b"\x89PNG zero", f"{DIRECTORY}/1.png": b"\x89PNG one"}


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        objects = []
        for index, (key, body) in enumerate(IMAGES.items()):
            s3.put_object(Bucket=BUCKET, Key=key, Body=body, ContentType="image/png")
            digest = hashlib.sha256(body).hexdigest()
            objects.append(
                {"key": key, "size": len(body), "sha256": digest, "content_type": "image/png"}
                | {"kind": "image", "index": index}
            )
        manifest = json.dumps({"vendor": "jumdata", "app": "ai_draw", "job_id": "42", "objects": objects})
        s3.put_object(Bucket=BUCKET, Key=f"{DIRECTORY}/manifest.json", Body=manifest.encode())
        yield s3


def publish(client: Any, key: str, body: bytes | None = None) -> None:
    if body is None:
        client.copy_object(Bucket=BUCKET, Key=f"published/{key}", CopySource={"Bucket": BUCKET, "Key": key})
    else:
        client.put_object(Bucket=BUCKET, Key=f"published/{key}", Body=body, ContentType="image/png")


def test_published_copies_join_their_job_and_are_not_read_as_jobs(client: Any) -> None:
    for key in [*IMAGES, f"{DIRECTORY}/manifest.json"]:
        publish(client, key)
    (job,) = read_archive(client, BUCKET)
    assert job.manifest_key == f"{DIRECTORY}/manifest.json"
    assert [item.key for item in job.published] == [f"published/{key}" for key in IMAGES]
    assert [item.body for item in job.published] == list(IMAGES.values())


def test_a_published_copy_that_differs_from_its_original_is_a_mismatch(client: Any) -> None:
    first = next(iter(IMAGES))
    publish(client, first, b"\x89PNG tampered")
    with pytest.raises(
        ArchiveMismatchError, match=re.escape(f"published/{first}: a published copy that differs")
    ):
        read_archive(client, BUCKET)


def test_an_unlisted_object_beside_a_manifest_is_a_mismatch(client: Any) -> None:
    client.put_object(Bucket=BUCKET, Key=f"{DIRECTORY}/stray.png", Body=b"stray")
    with pytest.raises(ArchiveMismatchError, match=r"stray\.png: beside manifest\.json but not listed"):
        read_archive(client, BUCKET)
