"""What one archived job amounts to: the facts the asset event, the task log and lineage report.

Built once from the job and the archive result, so the outlet event's ``extra``, the log line and
the OpenLineage facet (``airflow_provider_aigc.lineage``) can never disagree. Pure data: no Airflow,
no OpenLineage, so any operator that archives (the archive step, a one-task generate-to-S3 mode)
builds the same value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_aigc.archive.copier import ArchiveResult
    from airflow_provider_aigc.models import ArchivedObject, JobStatus


@dataclass(frozen=True)
class ArchiveOutcome:
    """One job's complete archive in S3 and what the vendor billed for the job.

    :param prefix: the archive's rendered, normalised key prefix.
    :param submitted_at: when the submit operator's request was accepted (null when unknown).
    :param archive_started_at: when the archive run that wrote the manifest started copying.
    :param archived_at: when that run stored its last object.
    :param reused: this run found the archive complete and copied nothing.
    """

    vendor: str
    app: str
    job_id: str
    bucket: str
    prefix: str
    manifest_key: str
    objects: tuple[ArchivedObject, ...]
    billed_units: int | None
    billed_unit: str | None
    billing_basis: str | None
    prompt_sha256: str | None
    submitted_at: str | None
    archive_started_at: str | None
    archived_at: str | None
    reused: bool = False

    @classmethod
    def of(cls, job: JobStatus, result: ArchiveResult, *, bucket: str, prefix: str) -> ArchiveOutcome:
        # Here, not at module level: the manifest module imports botocore, and DAG files import this.
        from airflow_provider_aigc.archive.manifest import prompt_sha256

        return cls(
            vendor=job.vendor,
            app=job.app,
            job_id=job.job_id,
            bucket=bucket,
            prefix=prefix,
            manifest_key=result.manifest_key,
            objects=tuple(result.objects),
            billed_units=job.billed_units,
            billed_unit=job.billed_unit,
            billing_basis=job.billing_basis,
            prompt_sha256=prompt_sha256(job),
            submitted_at=job.submitted_at,
            archive_started_at=result.created_at,
            archived_at=result.archived_at,
            reused=result.reused,
        )

    @property
    def manifest_uri(self) -> str:
        return f"s3://{self.bucket}/{self.manifest_key}"

    @property
    def total_bytes(self) -> int:
        return sum(item.size for item in self.objects)

    def asset_extra(self) -> dict[str, Any]:
        """The outlet asset event's ``extra``: JSON values only, never a prompt or a credential."""
        return {
            "vendor": self.vendor,
            "app": self.app,
            "job_id": self.job_id,
            "bucket": self.bucket,
            "prefix": self.prefix,
            "manifest_key": self.manifest_key,
            "manifest_uri": self.manifest_uri,
            "object_count": len(self.objects),
            "total_bytes": self.total_bytes,
            "billed_units": self.billed_units,
            "billed_unit": self.billed_unit,
            "prompt_sha256": self.prompt_sha256,
        }

    def describe(self) -> str:
        """The task log's one line about the archive and its cost."""
        billed = (
            "billing unknown (a job status from before billing was recorded)"
            if self.billed_units is None
            else f"billed {self.billed_units} {self.billed_unit}(s) [{self.billing_basis}]"
        )
        found = " (already complete, nothing copied)" if self.reused else ""
        return (
            f"Archived {self.vendor} {self.app} job {self.job_id}{found}: {len(self.objects)} object(s), "
            f"{self.total_bytes} bytes, {billed}; manifest {self.manifest_uri}"
        )
