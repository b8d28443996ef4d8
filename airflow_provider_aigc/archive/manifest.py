"""``manifest.json``: what a complete archive of one job records, and whether one already exists.

The manifest is written after every object, so its presence means the archive is complete. A
re-run trusts an existing manifest only when it describes the same job and the same outputs and
every object it lists is still there with the recorded size.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from airflow_provider_aigc.archive.redact import public_url
from airflow_provider_aigc.models import ArchivedObject, JobStatus, OutputKind

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
# Where each vendor's request keeps the prompt (cogview "query", news "content", jumdata "text").
PROMPT_FIELDS = ("prompt", "query", "text", "content")


@dataclass(frozen=True)
class SkippedOutput:
    """An output deliberately not archived, and why."""

    index: int
    kind: OutputKind
    reason: str


def prompt_of(request: Mapping[str, Any]) -> str | None:
    """The prompt of a submitted request, whatever the vendor calls the field."""
    for name in PROMPT_FIELDS:
        value = request.get(name)
        if isinstance(value, str):
            return value
    return None


def _response_context(job: JobStatus) -> dict[str, Any]:
    """The job as the vendor reported it, with URL signatures and text bodies left out."""
    outputs = []
    for output in job.outputs:
        entry = output.to_dict()
        entry["url"] = None if output.url is None else public_url(output.url)
        entry["text"] = None if output.text is None else f"<{len(output.text)} characters>"
        outputs.append(entry)
    return {"state": job.state.value, "progress": job.progress, "outputs": outputs}


def build_manifest(
    job: JobStatus,
    *,
    bucket: str,
    objects: Sequence[ArchivedObject],
    skipped: Sequence[SkippedOutput],
    created_at: str,
    archived_at: str,
) -> dict[str, Any]:
    """The manifest of a complete archive (a JSON-ready dict).

    :param created_at: when this archive run started copying.
    :param archived_at: when the last object was stored.
    """
    return {
        "schema_version": SCHEMA_VERSION,
        "vendor": job.vendor,
        "app": job.app,
        "job_id": job.job_id,
        "conn_id": job.conn_id,
        "prompt": prompt_of(job.request),
        "request": job.request,
        "response": _response_context(job),
        "bucket": bucket,
        "created_at": created_at,
        "archived_at": archived_at,
        "objects": [item.to_dict() for item in sorted(objects, key=lambda item: item.index)],
        "skipped": [asdict(item) for item in sorted(skipped, key=lambda item: item.index)],
    }


def write_manifest(client: Any, bucket: str, key: str, manifest: Mapping[str, Any]) -> None:
    """Store the manifest (the last write of an archive)."""
    body = json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True).encode("utf-8")
    client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")


def read_manifest(client: Any, bucket: str, key: str) -> dict[str, Any] | None:
    """The stored manifest, or None when there is none (or it is not a manifest we can read)."""
    try:
        raw = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except client.exceptions.NoSuchKey:
        return None
    try:
        manifest = json.loads(raw)
    except ValueError:
        log.warning("s3://%s/%s is not valid JSON; archiving again", bucket, key)
        return None
    return manifest if isinstance(manifest, dict) else None


def _object_size(client: Any, bucket: str, key: str) -> int | None:
    try:
        return int(client.head_object(Bucket=bucket, Key=key)["ContentLength"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def complete_objects(
    client: Any, manifest: Mapping[str, Any], job: JobStatus, bucket: str, indices: Iterable[int]
) -> list[ArchivedObject] | None:
    """The objects of an existing manifest when it is a complete archive of these outputs, else None.

    :param indices: the output indices this run would archive.
    """
    if (manifest.get("vendor"), manifest.get("app"), manifest.get("job_id")) != (
        job.vendor,
        job.app,
        job.job_id,
    ):
        log.info("The existing manifest describes another job; archiving again")
        return None
    try:
        objects = [
            ArchivedObject.from_dict({**item, "bucket": bucket}) for item in manifest.get("objects", [])
        ]
    except (KeyError, TypeError, ValueError):
        log.warning("The existing manifest lists malformed objects; archiving again")
        return None
    if sorted(item.index for item in objects) != sorted(indices):
        log.info("The existing manifest lists other outputs than this run would archive; archiving again")
        return None
    for item in objects:
        size = _object_size(client, bucket, item.key)
        if size != item.size:
            log.info("%s is missing or has another size than the manifest says; archiving again", item.uri)
            return None
    return objects
