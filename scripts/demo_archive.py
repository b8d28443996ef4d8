"""Read an archive back from S3 and prove it matches its manifests.

The archive operator writes `manifest.json` last, so a manifest is the archive's own claim of what is
complete; this module downloads every object a manifest lists, recomputes size and sha256 from the
bytes, compares the stored content type, and flags objects beside a manifest that it does not list.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

MANIFEST_NAME = "manifest.json"
GALLERY_NAME = "index.html"
# Where the example DAGs publish (server-side copies of an archive, manifest included).
PUBLISHED_PREFIX = "published/"


class ArchiveMismatchError(Exception):
    """An object in S3 differs from what its manifest says, or a manifest misses an object."""


@dataclass(frozen=True)
class ArchivedFile:
    """One object as its manifest describes it, with what S3 holds (bytes and content type)."""

    key: str
    size: int
    sha256: str
    content_type: str
    kind: str
    index: int
    stored_content_type: str | None
    body: bytes = field(repr=False)

    @property
    def name(self) -> str:
        return posixpath.basename(self.key)


@dataclass(frozen=True)
class ArchivedJob:
    """One job's archive: its manifest and the verified objects it lists, in index order."""

    bucket: str
    manifest_key: str
    manifest: Mapping[str, Any]
    files: tuple[ArchivedFile, ...]
    # Copies of `files` published under PUBLISHED_PREFIX (after a human review, say), verified.
    published: tuple[ArchivedFile, ...] = ()

    @property
    def directory(self) -> str:
        return posixpath.dirname(self.manifest_key)

    @property
    def title(self) -> str:
        return " / ".join(str(self.manifest.get(name, "?")) for name in ("vendor", "app", "job_id"))

    @property
    def prompt(self) -> str:
        return str(self.manifest.get("prompt") or "")


def list_keys(client: Any, bucket: str, prefix: str = "") -> list[str]:
    """Every key in the bucket under `prefix`, across pages."""
    paginator = client.get_paginator("list_objects_v2")
    return [
        item["Key"]
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", ())
    ]


def read_archive(client: Any, bucket: str, prefix: str = "") -> list[ArchivedJob]:
    """Every manifest under `prefix`, each verified against the objects in S3, with the copies
    published from it (each must hold its original's bytes).

    Raises `ArchiveMismatchError` naming every difference found, not just the first.
    """
    keys = list_keys(client, bucket, prefix)
    originals = [key for key in keys if not key.startswith(PUBLISHED_PREFIX)]
    manifests = sorted(key for key in originals if posixpath.basename(key) == MANIFEST_NAME)
    jobs = [_read_job(client, bucket, key) for key in manifests]
    problems = [problem for job in jobs for problem in _check_job(job, originals)]
    copies = {key.removeprefix(PUBLISHED_PREFIX): key for key in keys if key.startswith(PUBLISHED_PREFIX)}
    jobs = [_with_published(client, job, copies, problems) for job in jobs]
    if problems:
        raise ArchiveMismatchError("archive does not match its manifests:\n  " + "\n  ".join(problems))
    return jobs


def _with_published(
    client: Any, job: ArchivedJob, copies: Mapping[str, str], problems: list[str]
) -> ArchivedJob:
    """`job` with the verified copies of its objects found under PUBLISHED_PREFIX."""
    published = []
    for item in job.files:
        key = copies.get(item.key)
        if key is None:
            continue
        response = client.get_object(Bucket=job.bucket, Key=key)
        copy = replace(
            item, key=key, stored_content_type=response.get("ContentType"), body=response["Body"].read()
        )
        if copy.body != item.body:
            problems.append(f"s3://{job.bucket}/{key}: a published copy that differs from {item.key}")
        published.append(copy)
    return replace(job, published=tuple(published))


def _read_job(client: Any, bucket: str, manifest_key: str) -> ArchivedJob:
    manifest = json.loads(client.get_object(Bucket=bucket, Key=manifest_key)["Body"].read())
    files = []
    for entry in manifest["objects"]:
        response = client.get_object(Bucket=bucket, Key=entry["key"])
        files.append(
            ArchivedFile(
                key=entry["key"],
                size=int(entry["size"]),
                sha256=str(entry["sha256"]),
                content_type=str(entry["content_type"]),
                kind=str(entry["kind"]),
                index=int(entry["index"]),
                stored_content_type=response.get("ContentType"),
                body=response["Body"].read(),
            )
        )
    files.sort(key=lambda item: item.index)
    return ArchivedJob(bucket=bucket, manifest_key=manifest_key, manifest=manifest, files=tuple(files))


def _check_job(job: ArchivedJob, keys: Iterable[str]) -> Sequence[str]:
    problems = []
    for item in job.files:
        uri = f"s3://{job.bucket}/{item.key}"
        if len(item.body) != item.size:
            problems.append(f"{uri}: {len(item.body)} bytes, manifest says {item.size}")
        digest = hashlib.sha256(item.body).hexdigest()
        if digest != item.sha256:
            problems.append(f"{uri}: sha256 {digest}, manifest says {item.sha256}")
        if item.stored_content_type != item.content_type:
            problems.append(
                f"{uri}: stored as {item.stored_content_type!r}, manifest says {item.content_type!r}"
            )
    listed = {item.key for item in job.files}
    expected_extras = {job.manifest_key, posixpath.join(job.directory, GALLERY_NAME)}
    for key in keys:
        if posixpath.dirname(key) == job.directory and key not in listed | expected_extras:
            problems.append(f"s3://{job.bucket}/{key}: beside {MANIFEST_NAME} but not listed in it")
    return problems
