from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_aigc.archive.url_policy import UrlPolicy
from airflow_provider_aigc.exceptions import (
    AigcInvalidRequestError,
    AigcOutputExpiredError,
    AigcServerError,
)
from airflow_provider_aigc.models import Output
from tests.unit.archive.jobs import image, succeeded
from tests.unit.archive.origin import (
    GIF_HEAD,
    JPEG_HEAD,
    MP4_HEAD,
    PNG_HEAD,
    WEBP_HEAD,
    Origin,
    Route,
    pattern_sha256,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_aigc.archive.copier import ArchiveCopier

    MakeCopier = Callable[..., ArchiveCopier]

MiB = 1024 * 1024
PREFIX = "runs/2024-01-01/baidu/txt2imgv2/job-1"


def keys_in(s3: Any, bucket: str) -> list[str]:
    return sorted(item["Key"] for item in s3.client.list_objects_v2(Bucket=bucket).get("Contents", []))


def read(s3: Any, bucket: str, key: str) -> bytes:
    return bytes(s3.client.get_object(Bucket=bucket, Key=key)["Body"].read())


def manifest_of(s3: Any, bucket: str, key: str = f"{PREFIX}/manifest.json") -> dict[str, Any]:
    return dict(json.loads(read(s3, bucket, key)))


def open_multipart_uploads(s3: Any, bucket: str) -> list[Any]:
    return list(s3.client.list_multipart_uploads(Bucket=bucket).get("Uploads", []))


def test_streams_images_with_type_from_their_bytes(
    origin: Origin, make_copier: MakeCopier, s3: Any, bucket: str
) -> None:
    heads = [PNG_HEAD, JPEG_HEAD, WEBP_HEAD, GIF_HEAD, b"<html>not an image</html>"]
    job = succeeded(
        *(
            image(i, origin.route(f"/{i}", Route(head=head, size=1000, content_type="image/png")))
            for i, head in enumerate(heads)
        )
    )
    result = make_copier().archive(job)

    expected = [
        ("0.png", "image/png"),
        ("1.jpg", "image/jpeg"),
        ("2.webp", "image/webp"),
        ("3.gif", "image/gif"),
        ("4.bin", "application/octet-stream"),
    ]
    assert [(o.key.rsplit("/", 1)[1], o.content_type) for o in result.objects] == expected
    assert keys_in(s3, bucket) == sorted(
        [f"{PREFIX}/{name}" for name, _ in expected] + [f"{PREFIX}/manifest.json"]
    )
    for archived, head in zip(result.objects, heads, strict=True):
        stored = read(s3, bucket, archived.key)
        assert len(stored) == archived.size == len(head) + 1000
        assert hashlib.sha256(stored).hexdigest() == archived.sha256
        described = s3.client.head_object(Bucket=bucket, Key=archived.key)
        assert described["ContentType"] == archived.content_type
        assert described["Metadata"] == {
            "aigc-vendor": "baidu",
            "aigc-app": "txt2imgv2",
            "aigc-job-id": "job-1",
            "aigc-output-index": str(archived.index),
        }


def test_manifest_describes_the_complete_archive(
    origin: Origin, make_copier: MakeCopier, s3: Any, bucket: str
) -> None:
    url = origin.route("/0.png", Route(head=PNG_HEAD, size=10))
    result = make_copier().archive(succeeded(image(0, url, width=1024, height=1024)))

    assert result.manifest_key == f"{PREFIX}/manifest.json"
    raw = read(s3, bucket, result.manifest_key)
    assert b"secret-signature" not in raw
    assert b"authorization" not in raw
    manifest = json.loads(raw)
    assert manifest["vendor"] == "baidu"
    assert manifest["app"] == "txt2imgv2"
    assert manifest["job_id"] == "job-1"
    assert manifest["prompt"] == "a red fox in snow"
    assert manifest["request"] == {"prompt": "a red fox in snow", "width": 1024, "height": 1024}
    assert manifest["objects"] == [o.to_dict() for o in result.objects]
    assert manifest["objects"][0]["source_url"] == origin.url("/0.png")
    assert manifest["skipped"] == []
    assert manifest["created_at"] <= manifest["archived_at"]
    assert s3.client.head_object(Bucket=bucket, Key=result.manifest_key)["ContentType"] == "application/json"


def test_text_outputs_become_utf8_text_objects(make_copier: MakeCopier, s3: Any, bucket: str) -> None:
    article = "人工智能新闻：今天的天气很好。\nSecond line."
    job = succeeded(
        Output(index=0, kind="text", text=article), vendor="zhipu", app="news_generate", job_id="n1"
    )
    result = make_copier().archive(job)

    (archived,) = result.objects
    assert archived.key == "runs/2024-01-01/zhipu/news_generate/n1/0.txt"
    assert archived.content_type == "text/plain; charset=utf-8"
    assert archived.kind == "text"
    assert archived.source_url is None
    assert read(s3, bucket, archived.key).decode("utf-8") == article
    assert archived.sha256 == hashlib.sha256(article.encode()).hexdigest()
    described = s3.client.head_object(Bucket=bucket, Key=archived.key)
    assert described["ContentType"] == "text/plain; charset=utf-8"
    manifest = manifest_of(s3, bucket, result.manifest_key)
    assert manifest["response"]["outputs"][0]["text"] == f"<{len(article)} characters>"
    assert manifest["request"]["prompt"] == "a red fox in snow"


def test_blocked_images_are_skipped_and_listed(
    origin: Origin, make_copier: MakeCopier, s3: Any, bucket: str
) -> None:
    ok = origin.route("/0.png", Route(body=PNG_HEAD))
    blocked = origin.route("/1.png", Route(body=PNG_HEAD))
    job = succeeded(image(0, ok, moderation="pass"), image(1, blocked, moderation="block"))
    result = make_copier().archive(job)

    assert [o.index for o in result.objects] == [0]
    assert origin.hits["/1.png"] == 0
    assert f"{PREFIX}/1.png" not in keys_in(s3, bucket)
    (skipped,) = manifest_of(s3, bucket)["skipped"]
    assert skipped["index"] == 1
    assert "moderation" in skipped["reason"]

    again = make_copier(skip_blocked=False).archive(job)
    assert [o.index for o in again.objects] == [0, 1]
    assert manifest_of(s3, bucket)["skipped"] == []


def test_expired_output_is_refused_before_any_request(
    origin: Origin, make_copier: MakeCopier, s3: Any, bucket: str
) -> None:
    fresh = origin.route("/0.png", Route(body=PNG_HEAD))
    stale = origin.route("/1.png", Route(body=PNG_HEAD))
    job = succeeded(image(0, fresh), image(1, stale, expires_at="2020-01-01T00:00:00+00:00"))
    with pytest.raises(AigcOutputExpiredError, match="output 1 of job job-1 expired at 2020-01-01T00:00:00"):
        make_copier().archive(job)
    assert origin.total_hits == 0
    assert keys_in(s3, bucket) == []


@pytest.mark.parametrize(
    ("vendor", "ttl", "documented"),
    [
        ("baidu", None, "valid for 1 hour"),
        ("jumdata", None, "valid for 3 months"),
        ("zhipu", 600.0, "output_ttl_seconds=600"),
    ],
)
def test_url_gone_at_download_is_reported_as_expired(
    origin: Origin,
    make_copier: MakeCopier,
    s3: Any,
    bucket: str,
    vendor: str,
    ttl: float | None,
    documented: str,
) -> None:
    url = origin.route("/0.png", Route(status=403, body=b"<Error>AccessDenied</Error>"))
    with pytest.raises(AigcOutputExpiredError, match="HTTP 403") as info:
        make_copier(output_ttl_seconds=ttl).archive(succeeded(image(0, url), vendor=vendor))
    assert documented in info.value.message
    assert "secret-signature" not in info.value.message
    assert keys_in(s3, bucket) == []


def test_rerun_is_idempotent_and_replace_downloads_again(
    origin: Origin, make_copier: MakeCopier, s3: Any, bucket: str
) -> None:
    job = succeeded(*(image(i, origin.route(f"/{i}.png", Route(head=PNG_HEAD, size=100))) for i in range(3)))
    first = make_copier().archive(job)
    manifest = read(s3, bucket, first.manifest_key)
    assert origin.total_hits == 3

    again = make_copier().archive(job)
    assert again == first
    assert origin.total_hits == 3
    assert read(s3, bucket, first.manifest_key) == manifest

    replaced = make_copier(replace=True).archive(job)
    assert origin.total_hits == 6
    # The re-archive lives in its own run directory; the old objects are collected after the commit.
    assert [dataclasses.replace(o, key="") for o in replaced.objects] == [
        dataclasses.replace(o, key="") for o in first.objects
    ]
    run_dirs = {o.key.rsplit("/", 2)[1] for o in replaced.objects}
    assert len(run_dirs) == 1
    assert run_dirs.pop().startswith("run-")
    assert keys_in(s3, bucket) == sorted([*(o.key for o in replaced.objects), first.manifest_key])
    assert manifest_of(s3, bucket)["objects"] == [o.to_dict() for o in replaced.objects]


def test_a_failed_recopy_keeps_the_previous_archive(
    origin: Origin, make_copier: MakeCopier, s3: Any, bucket: str
) -> None:
    route = Route(body=PNG_HEAD)
    job = succeeded(image(0, origin.route("/0.png", route)))
    first = make_copier().archive(job)
    manifest = read(s3, bucket, first.manifest_key)
    origin.route("/0.png", Route(status=503, body=b"busy"))

    with pytest.raises(AigcServerError):
        make_copier(replace=True).archive(job)
    assert read(s3, bucket, first.manifest_key) == manifest
    assert keys_in(s3, bucket) == sorted([first.objects[0].key, first.manifest_key])
    assert hashlib.sha256(read(s3, bucket, first.objects[0].key)).hexdigest() == first.objects[0].sha256


def test_rerun_with_a_missing_object_copies_only_that_one(
    origin: Origin, make_copier: MakeCopier, s3: Any, bucket: str
) -> None:
    job = succeeded(
        image(0, origin.route("/0.png", Route(body=PNG_HEAD))),
        image(1, origin.route("/1.png", Route(body=PNG_HEAD + b"one"))),
    )
    first = make_copier().archive(job)
    s3.client.delete_object(Bucket=bucket, Key=first.objects[1].key)

    again = make_copier().archive(job)
    assert origin.total_hits == 3  # the intact object 0 is reused
    assert again.objects[0] == first.objects[0]
    assert dataclasses.replace(again.objects[1], key="") == dataclasses.replace(first.objects[1], key="")
    assert "/run-" in again.objects[1].key
    assert keys_in(s3, bucket) == sorted([*(o.key for o in again.objects), first.manifest_key])


def test_an_object_corrupted_in_place_is_copied_again(
    origin: Origin, make_copier: MakeCopier, s3: Any, bucket: str
) -> None:
    body = PNG_HEAD + b"original bytes"
    job = succeeded(image(0, origin.route("/0.png", Route(body=body))))
    first = make_copier().archive(job)
    stored = first.objects[0]
    # Same size, other bytes; with and without an S3 checksum of its own.
    for checksum in ({}, {"ChecksumAlgorithm": "SHA256"}):
        s3.client.put_object(Bucket=bucket, Key=stored.key, Body=PNG_HEAD + b"tampered bytes", **checksum)
        hits = origin.total_hits
        again = make_copier().archive(job)
        assert origin.total_hits == hits + 1
        (copy,) = again.objects
        assert copy.sha256 == hashlib.sha256(body).hexdigest()
        assert read(s3, bucket, copy.key) == body
        stored = copy


def test_single_part_objects_carry_their_sha256_as_the_s3_checksum(
    origin: Origin, make_copier: MakeCopier, s3: Any, bucket: str
) -> None:
    job = succeeded(image(0, origin.route("/0.png", Route(head=PNG_HEAD, size=1000))))
    (stored,) = make_copier().archive(job).objects
    head = s3.client.head_object(Bucket=bucket, Key=stored.key, ChecksumMode="ENABLED")
    assert base64.b64decode(head["ChecksumSHA256"]).hex() == stored.sha256


def test_declared_size_over_the_cap_stores_nothing(
    origin: Origin, make_copier: MakeCopier, s3: Any, bucket: str
) -> None:
    url = origin.route("/big.png", Route(head=PNG_HEAD, size=3 * MiB))
    with pytest.raises(AigcInvalidRequestError, match=f"its cap of {2 * MiB} bytes"):
        make_copier(max_object_bytes=2 * MiB).archive(succeeded(image(0, url)))
    assert keys_in(s3, bucket) == []


def test_endless_body_is_cut_at_the_cap_and_its_multipart_upload_aborted(
    origin: Origin, make_copier: MakeCopier, s3: Any, bucket: str
) -> None:
    # The cap is above the 8 MiB multipart threshold, so parts were uploaded before the cap hit.
    url = origin.route("/endless", Route(endless=True))
    with pytest.raises(AigcInvalidRequestError, match=f"its cap of {20 * MiB} bytes"):
        make_copier(max_object_bytes=20 * MiB).archive(succeeded(image(0, url)))
    assert keys_in(s3, bucket) == []
    assert open_multipart_uploads(s3, bucket) == []


def test_a_failed_output_leaves_no_manifest_and_no_partial_object(
    origin: Origin, make_copier: MakeCopier, s3: Any, bucket: str
) -> None:
    good = origin.route("/0.png", Route(head=PNG_HEAD, size=100))
    broken = origin.route("/1.png", Route(head=PNG_HEAD, size=24 * MiB, cut_after=12 * MiB))
    job = succeeded(image(0, good), image(1, broken))
    with pytest.raises(AigcServerError, match=r"output 1 of job job-1.*broke off"):
        make_copier(max_concurrency=1).archive(job)
    assert keys_in(s3, bucket) == [], "the object stored before the failure is removed with it"
    assert open_multipart_uploads(s3, bucket) == []


def test_an_empty_image_body_is_not_archived(
    origin: Origin, make_copier: MakeCopier, s3: Any, bucket: str
) -> None:
    good = origin.route("/0.png", Route(head=PNG_HEAD, size=100))
    empty = origin.route("/1.png", Route(body=b""))
    with pytest.raises(AigcServerError, match=r"output 1 of job job-1.*empty body"):
        make_copier(max_concurrency=1).archive(succeeded(image(0, good), image(1, empty)))
    assert f"{PREFIX}/manifest.json" not in keys_in(s3, bucket)
    assert not any(key.startswith(f"{PREFIX}/1.") for key in keys_in(s3, bucket))


def test_a_refused_url_fails_the_archive(
    origin: Origin, make_copier: MakeCopier, s3: Any, bucket: str
) -> None:
    url = origin.route("/0.png", Route(body=PNG_HEAD))
    with pytest.raises(AigcInvalidRequestError, match="loopback"):
        make_copier(policy=UrlPolicy()).archive(succeeded(image(0, url)))
    with pytest.raises(AigcInvalidRequestError, match="only http and https"):
        make_copier().archive(succeeded(image(0, "file:///etc/passwd")))
    assert origin.total_hits == 0
    assert keys_in(s3, bucket) == []


def test_outputs_without_a_source_or_with_clashing_indices_are_refused(make_copier: MakeCopier) -> None:
    with pytest.raises(AigcInvalidRequestError, match="output 0 of job job-1 has no url"):
        make_copier().archive(succeeded(Output(index=0, kind="image")))
    with pytest.raises(AigcInvalidRequestError, match="index twice"):
        make_copier().archive(succeeded(image(0, "http://127.0.0.1/a"), image(0, "http://127.0.0.1/b")))


@pytest.mark.parametrize("limit", [1, 3])
def test_outputs_are_copied_concurrently_up_to_the_limit(
    origin: Origin, make_copier: MakeCopier, limit: int
) -> None:
    job = succeeded(*(image(i, origin.route(f"/{i}.png", Route(body=PNG_HEAD, delay=0.2))) for i in range(6)))
    result = make_copier(max_concurrency=limit).archive(job)
    assert [o.index for o in result.objects] == list(range(6))
    if limit == 1:
        assert origin.max_in_flight == 1
    else:
        assert 1 < origin.max_in_flight <= limit


def test_vendor_ids_cannot_escape_the_prefix(
    origin: Origin, make_copier: MakeCopier, s3: Any, bucket: str
) -> None:
    url = origin.route("/0.png", Route(body=PNG_HEAD))
    result = make_copier().archive(succeeded(image(0, url), job_id="../../../escape\n"))
    (key,) = (o.key for o in result.objects)
    assert key.startswith("runs/2024-01-01/baidu/txt2imgv2/")
    assert ".." not in key.split("/")
    assert all(k.startswith("runs/2024-01-01/baidu/txt2imgv2/") for k in keys_in(s3, bucket))
    assert manifest_of(s3, bucket, result.manifest_key)["job_id"] == "../../../escape\n"


def test_key_template(origin: Origin, make_copier: MakeCopier, s3: Any, bucket: str) -> None:
    url = origin.route("/0.png", Route(body=PNG_HEAD))
    copier = make_copier(prefix="/images/", key_template="{prefix}/{job_id}/{vendor}-{index:03d}.{ext}")
    result = copier.archive(succeeded(image(7, url)))
    assert keys_in(s3, bucket) == ["images/job-1/baidu-007.png", "images/job-1/manifest.json"]
    assert result.manifest_key == "images/job-1/manifest.json"


def test_bounded_memory_for_a_large_object(origin: Origin, s3: Any, bucket: str) -> None:
    """A 128 MiB object streams through in far less memory than its size (boto3's defaults: ~90 MiB).

    Measured in a fresh process (peak RSS before and after), so the servers do not count.
    """
    size = 128 * MiB
    url = origin.route("/huge", Route(size=size))
    warm_up = origin.route("/small.png", Route(body=PNG_HEAD))
    completed = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).with_name("memory_probe.py")),
            s3.endpoint_url,
            bucket,
            warm_up,
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=240,
    )
    report = json.loads(completed.stdout)
    assert report["size"] == size
    assert report["sha256"] == pattern_sha256(size)
    assert report["rss_growth_bytes"] < 64 * MiB


def test_a_video_and_its_cover_are_archived_with_their_kinds_and_types(
    origin: Origin, make_copier: MakeCopier, s3: Any, bucket: str
) -> None:
    """A video larger than one part goes up as a multipart upload; the manifest names its kind."""
    size = 9 * MiB  # above the 8 MiB part size
    video = origin.route("/clip", Route(head=MP4_HEAD, size=size, content_type="application/octet-stream"))
    cover = origin.route("/cover", Route(head=PNG_HEAD, size=100))
    job = succeeded(Output(index=0, kind="video", url=video), Output(index=1, kind="cover", url=cover))
    result = make_copier(max_object_bytes=1 * MiB).archive(job)

    assert [(o.key.rsplit("/", 1)[1], o.kind, o.content_type) for o in result.objects] == [
        ("0.mp4", "video", "video/mp4"),
        ("1.png", "cover", "image/png"),
    ]
    stored = read(s3, bucket, result.objects[0].key)
    assert len(stored) == result.objects[0].size == len(MP4_HEAD) + size
    assert hashlib.sha256(stored).hexdigest() == result.objects[0].sha256
    assert s3.client.head_object(Bucket=bucket, Key=result.objects[0].key)["ContentType"] == "video/mp4"
    assert [(o["kind"], o["sha256"]) for o in manifest_of(s3, bucket)["objects"]] == [
        ("video", result.objects[0].sha256),
        ("cover", result.objects[1].sha256),
    ]


def test_videos_have_their_own_cap(origin: Origin, make_copier: MakeCopier, s3: Any, bucket: str) -> None:
    video = origin.route("/clip", Route(head=MP4_HEAD, size=3 * MiB))
    with pytest.raises(AigcInvalidRequestError, match=f"its cap of {2 * MiB} bytes"):
        make_copier(max_video_bytes=2 * MiB).archive(succeeded(Output(index=0, kind="video", url=video)))
    assert keys_in(s3, bucket) == []
