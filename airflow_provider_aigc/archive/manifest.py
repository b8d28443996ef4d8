"""``manifest.json``: what a complete archive of one job records, and whether one already exists.

The manifest is written after every object, so its presence means the archive is complete; it
only ever lists objects that were stored whole, with the sha256 computed while streaming them. A
re-run reuses an object of an existing manifest only when the manifest describes the same job and
the object still holds the recorded bytes (``integrity.is_intact``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from airflow_provider_aigc.archive.integrity import error_code
from airflow_provider_aigc.archive.redact import public_url
from airflow_provider_aigc.models import ArchivedObject, JobStatus, OutputKind
from airflow_provider_aigc.vendors.registry import VENDORS

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class SkippedOutput:
    """An output deliberately not archived, and why."""

    index: int
    kind: OutputKind
    reason: str


def prompt_of(job: JobStatus) -> str | None:
    """The prompt of the job's request, in the field its vendor's spec names for the app."""
    spec = VENDORS.get(job.vendor)
    value = job.request.get(spec.prompt_fields.get(job.app, "")) if spec is not None else None
    return value if isinstance(value, str) else None


def prompt_sha256(job: JobStatus) -> str | None:
    """The hex sha256 of the prompt's UTF-8 bytes: names the prompt in lineage and asset events
    without repeating it (the request never holds credentials, and none are hashed)."""
    prompt = prompt_of(job)
    return None if prompt is None else hashlib.sha256(prompt.encode("utf-8", "surrogatepass")).hexdigest()


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
        "prompt": prompt_of(job),
        "prompt_sha256": prompt_sha256(job),
        "request": job.request,
        "submitted_at": job.submitted_at,
        "billed_units": job.billed_units,
        "billed_unit": job.billed_unit,
        "billing_basis": job.billing_basis,
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


class ManifestState(Enum):
    """What reading a job's manifest key found."""

    ABSENT = "absent"
    FOUND = "found"
    UNREADABLE = "unreadable"


@dataclass(frozen=True)
class StoredManifest:
    """The outcome of reading a manifest key: its state and, when FOUND, the manifest."""

    state: ManifestState
    manifest: dict[str, Any] | None = None


def read_manifest(client: Any, bucket: str, key: str) -> StoredManifest:
    """Read the manifest at ``key``: FOUND (a JSON object), ABSENT, or UNREADABLE.

    A 403 is UNREADABLE, not ABSENT. S3 answers a missing key with 403 instead of 404 to a
    role without ``s3:ListBucket`` (the least-privilege policy in docs/archive.md), but the same
    403 also comes for a manifest that exists and this role may not read (a KMS key it cannot
    use, an object owned by another account, an explicit deny). So a 403 never proves that no
    archive exists: the copier then archives without reusing anything and without overwriting
    any existing key (create-only writes), which is safe in both cases. The same holds for a key
    that holds no valid manifest JSON.
    """
    try:
        raw = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        code = error_code(exc)
        if code in ("NoSuchKey", "404", "NotFound"):
            return StoredManifest(ManifestState.ABSENT)
        if code in ("AccessDenied", "403", "Forbidden"):
            log.info("s3://%s/%s: access denied (missing, or not readable by this role)", bucket, key)
            return StoredManifest(ManifestState.UNREADABLE)
        raise
    try:
        manifest = json.loads(raw)
    except ValueError:
        manifest = None
    if not isinstance(manifest, dict):
        log.warning("s3://%s/%s is not a manifest (not a JSON object); archiving again", bucket, key)
        return StoredManifest(ManifestState.UNREADABLE)
    return StoredManifest(ManifestState.FOUND, manifest)


def listed_objects(manifest: Mapping[str, Any], job: JobStatus, bucket: str) -> list[ArchivedObject] | None:
    """The objects a manifest of this same job lists, or None (another job, or malformed)."""
    if (manifest.get("vendor"), manifest.get("app"), manifest.get("job_id")) != (
        job.vendor,
        job.app,
        job.job_id,
    ):
        log.info("The existing manifest describes another job; archiving again")
        return None
    try:
        return [ArchivedObject.from_dict({**item, "bucket": bucket}) for item in manifest.get("objects", [])]
    except (KeyError, TypeError, ValueError, AttributeError):
        log.warning("The existing manifest lists malformed objects; archiving again")
        return None
