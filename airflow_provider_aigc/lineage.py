"""OpenLineage for archived AIGC jobs: the vendor job in, the S3 objects out, a run facet.

Imported only when the OpenLineage provider asks an operator for its lineage (the
``apache-airflow-providers-openlineage`` extra ``openlineage``); the operator modules import it
inside ``get_openlineage_facets_on_complete``, so Airflow without OpenLineage never loads it.

Naming (docs/lineage.md):

* input, the vendor job: namespace ``aigc://{vendor}``, name ``{app}/{job_id}``, e.g.
  ``aigc://zhipu`` / ``cogview/8f3c2a``, ``aigc://baidu`` / ``txt2imgv2/1713340800123``,
  ``aigc://jumdata`` / ``ai_draw/<taskId>``;
* outputs, OpenLineage's S3 naming: namespace ``s3://{bucket}``, name the object key, one
  dataset per archived object plus ``manifest.json``;
* run facet ``aigcJob`` (``AigcJobRunFacet``): vendor, app, job id, billed units and timings.

Any operator that archives a job builds its lineage with ``operator_lineage(outcome)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from airflow.providers.common.compat.openlineage.facet import (
    Dataset,
    OutputDataset,
    OutputStatisticsOutputDatasetFacet,
    RunFacet,
)
from attrs import define

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

    from airflow_provider_aigc.archive.outcome import ArchiveOutcome

RUN_FACET_NAME = "aigcJob"
NAMESPACE_SCHEME = "aigc"
# The package's public page; docs/lineage.md (shipped in the sdist) describes every field.
FACET_SCHEMA_URL = "https://pypi.org/project/airflow-provider-aigc/#aigcjob-run-facet"


def job_namespace(vendor: str) -> str:
    """The OpenLineage namespace of a vendor's jobs: ``aigc://{vendor}``."""
    return f"{NAMESPACE_SCHEME}://{vendor}"


def job_dataset_name(app: str, job_id: str) -> str:
    """The OpenLineage name of one job within its vendor's namespace: ``{app}/{job_id}``."""
    return f"{app}/{job_id}"


@define
class AigcJobRunFacet(RunFacet):  # type: ignore[misc]
    """What the vendor job was and cost, and when it ran (times ISO 8601 UTC, null when unknown)."""

    vendor: str
    app: str
    jobId: str  # OpenLineage facets use camelCase
    billedUnits: int | None
    billedUnit: str | None
    billingBasis: str | None
    promptSha256: str | None
    submittedAt: str | None
    archiveStartedAt: str | None
    archivedAt: str | None
    manifestUri: str
    objectCount: int
    totalBytes: int
    reused: bool

    _additional_skip_redact: ClassVar[list[str]] = ["billedUnits", "objectCount", "totalBytes"]

    @staticmethod
    def _get_schema() -> str:
        return FACET_SCHEMA_URL


def run_facet(outcome: ArchiveOutcome) -> AigcJobRunFacet:
    return AigcJobRunFacet(
        vendor=outcome.vendor,
        app=outcome.app,
        jobId=outcome.job_id,
        billedUnits=outcome.billed_units,
        billedUnit=outcome.billed_unit,
        billingBasis=outcome.billing_basis,
        promptSha256=outcome.prompt_sha256,
        submittedAt=outcome.submitted_at,
        archiveStartedAt=outcome.archive_started_at,
        archivedAt=outcome.archived_at,
        manifestUri=outcome.manifest_uri,
        objectCount=len(outcome.objects),
        totalBytes=outcome.total_bytes,
        reused=outcome.reused,
    )


def operator_lineage(outcome: ArchiveOutcome) -> OperatorLineage[Dataset, RunFacet]:
    """The lineage of one archived job: its vendor job in, its S3 objects and manifest out."""
    from airflow.providers.openlineage.extractors import OperatorLineage

    namespace = f"s3://{outcome.bucket}"
    outputs: list[Dataset] = [
        OutputDataset(
            namespace=namespace,
            name=item.key,
            outputFacets={
                "outputStatistics": OutputStatisticsOutputDatasetFacet(size=item.size, fileCount=1)
            },
        )
        for item in outcome.objects
    ]
    outputs.append(OutputDataset(namespace=namespace, name=outcome.manifest_key))
    return OperatorLineage(
        inputs=[
            Dataset(
                namespace=job_namespace(outcome.vendor), name=job_dataset_name(outcome.app, outcome.job_id)
            )
        ],
        outputs=outputs,
        run_facets={RUN_FACET_NAME: run_facet(outcome)},
    )
