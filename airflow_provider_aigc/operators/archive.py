"""``AigcArchiveToS3Operator``: stream a finished job's outputs into S3 and leave a manifest.

Import-light on purpose: boto3, requests and the Amazon provider are imported when the task
runs, not when a DAG file is parsed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import Asset, BaseOperator

from airflow_provider_aigc.archive.keys import DEFAULT_KEY_TEMPLATE, normalise_prefix, validate_key_template
from airflow_provider_aigc.archive.outcome import ArchiveOutcome
from airflow_provider_aigc.exceptions import AigcInvalidRequestError
from airflow_provider_aigc.failures import fail_fast_on_permanent_errors
from airflow_provider_aigc.models import JobState, JobStatus
from airflow_provider_aigc.operators.links import MANIFEST_URI_XCOM_KEY, AigcManifestLink

if TYPE_CHECKING:
    from airflow.providers.common.compat.openlineage.facet import Dataset, RunFacet
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context, XComArg

    from airflow_provider_aigc.archive.copier import ArchiveResult
    from airflow_provider_aigc.hooks.connection import OutputPolicy

# Also in archive/copier.py, which DAG parsing must not import (it loads boto3).
DEFAULT_MAX_OBJECT_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_VIDEO_BYTES = 4 * 1024 * 1024 * 1024
# Where a Jinja expression, statement or comment starts in a templated field.
_JINJA_START = re.compile(r"\{[{%#]")


def connection_output_policy(vendor: str, conn_id: str | None) -> OutputPolicy:
    """The output policy of the vendor connection the job ran on (defaults when it is unknown)."""
    from airflow_provider_aigc.hooks.connection import OutputPolicy

    if conn_id is None:
        return OutputPolicy()
    from airflow_provider_aigc.hooks import hook_class_for

    return hook_class_for(vendor)(conn_id).output_policy()


def archive_asset(s3_bucket: str, s3_key_prefix: str) -> Asset | None:
    """The asset a DAG can schedule on: the bucket and the static part of the (templated) prefix.

    None when the bucket itself is templated, since the asset must be known when the DAG is parsed.
    """
    if _JINJA_START.search(s3_bucket) or not s3_bucket:
        return None
    static_prefix = _JINJA_START.split(s3_key_prefix, maxsplit=1)[0]
    return Asset(uri=f"s3://{s3_bucket}/{normalise_prefix(static_prefix)}")


def _as_list(outlets: Any) -> list[Any]:
    if outlets is None:
        return []
    return list(outlets) if isinstance(outlets, (list, tuple)) else [outlets]


class AigcArchiveToS3Operator(BaseOperator):
    """Stream every output of a finished AIGC job into S3, then write ``manifest.json``.

    Images, videos and their covers are streamed from the vendor's URLs into S3 (never held whole
    in memory: a large video goes up as a multipart upload a few parts at a time), with sha256,
    size and the content type read from the bytes (``.mp4`` for an MP4 video); text outputs
    (news) become ``.txt`` objects. The manifest lists each object's ``kind`` (``image``,
    ``video``, ``cover``, ``text``).
    Objects land at ``{prefix}/{vendor}/{app}/{job_id}/{index}.{ext}`` (see ``key_template``), and
    ``manifest.json`` is written beside them last, so its presence means the archive is complete.
    Re-running the task is idempotent: a complete archive whose objects still hold their recorded
    sha256 is found again and nothing is downloaded. A re-archive is transactional: it stores
    under a run-unique directory, commits by writing the manifest, then deletes the old objects,
    so a failed re-archive leaves the previous archive intact (docs/archive.md). The task returns
    the archived objects (``ArchivedObject`` dicts) and updates the
    asset ``s3://{s3_bucket}/{static part of s3_key_prefix}``, with the rendered prefix and the
    manifest key in the asset event's extra.

    Output URLs are fetched only over http(s) and never from private, loopback, link-local,
    multicast, reserved or cloud-metadata addresses (checked on the resolved addresses, on every
    redirect and on the connected socket) unless ``allow_private_output_hosts`` is set; the
    vendor connection's ``allowed_output_hosts`` and ``allow_private_output_hosts`` extras apply
    unless the arguments below override them.

    Failures: an expired output (past its ``expires_at``, or a URL answering 403/404/410), a
    refused URL or a body over ``max_object_bytes`` fail the task without using its retries;
    5xx answers, timeouts and broken streams use the retries, and the retry completes the archive.

    :param job: The ``JobStatus`` dict of a SUCCEEDED job, usually ``wait.output`` of an
        ``AigcJobSensor`` (templated).
    :param s3_bucket: The bucket to archive into (templated).
    :param s3_key_prefix: Key prefix of the archive, e.g. ``"cogview/{{ ds }}"`` (templated).
    :param aws_conn_id: The Airflow AWS connection used through ``S3Hook``.
    :param key_template: ``str.format`` template of object keys with the fields ``prefix``,
        ``vendor``, ``app``, ``job_id``, ``index`` and ``ext``; it must start with ``{prefix}/``,
        have ``{job_id}`` in its directory part and ``{index}`` in its file name. The manifest
        goes in the same directory. Default ``{prefix}/{vendor}/{app}/{job_id}/{index}.{ext}``.
    :param max_concurrency: How many outputs of the job are copied at the same time.
    :param max_object_bytes: The largest image, cover or text accepted (default 50 MiB); a
        larger body aborts its upload, leaving no partial object.
    :param max_video_bytes: The largest video accepted (default 4 GiB); a larger body aborts its
        upload, leaving no partial object.
    :param replace: Copy again even when a complete archive (manifest) already exists; the old
        archive stays valid until the new manifest is written.
    :param skip_blocked: Skip outputs the vendor's moderation marked ``block`` (they are listed
        in the manifest's ``skipped``); False archives them too.
    :param allow_private_output_hosts: Allow output URLs on private and loopback addresses (the
        simulator needs it); None takes the vendor connection's setting.
    :param allowed_output_hosts: Host names output URLs may use (exact, or ``*.suffix``); None
        takes the vendor connection's setting, an empty list allows any public host.
    :param download_timeout: Seconds to wait for a connection to an output URL, and between its bytes.
    """

    template_fields: Sequence[str] = ("job", "s3_bucket", "s3_key_prefix")
    template_fields_renderers: ClassVar[dict[str, str]] = {"job": "json"}
    ui_color = "#e4f0ff"
    operator_extra_links = (AigcManifestLink(),)

    def __init__(
        self,
        *,
        job: Mapping[str, Any] | XComArg,
        s3_bucket: str,
        s3_key_prefix: str = "",
        aws_conn_id: str | None = "aws_default",
        key_template: str | None = None,
        max_concurrency: int = 4,
        max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES,
        max_video_bytes: int = DEFAULT_MAX_VIDEO_BYTES,
        replace: bool = False,
        skip_blocked: bool = True,
        allow_private_output_hosts: bool | None = None,
        allowed_output_hosts: Sequence[str] | None = None,
        download_timeout: float = 60.0,
        **kwargs: Any,
    ) -> None:
        if max_concurrency < 1:
            raise AigcInvalidRequestError(f"max_concurrency must be at least 1, got {max_concurrency}")
        for name, cap in (("max_object_bytes", max_object_bytes), ("max_video_bytes", max_video_bytes)):
            if cap < 1:
                raise AigcInvalidRequestError(f"{name} must be at least 1, got {cap}")
        if isinstance(allowed_output_hosts, str):
            raise AigcInvalidRequestError("allowed_output_hosts must be a list of host names, not a string")
        template = key_template or DEFAULT_KEY_TEMPLATE
        validate_key_template(template)
        outlet_asset = archive_asset(s3_bucket, s3_key_prefix)
        outlets = _as_list(kwargs.get("outlets"))
        if outlet_asset is not None and outlet_asset not in outlets:
            kwargs["outlets"] = [*outlets, outlet_asset]
        super().__init__(**kwargs)
        self.outlet_asset = outlet_asset
        self.job = job
        self.key_template = template
        self.s3_bucket = s3_bucket
        self.s3_key_prefix = s3_key_prefix
        self.aws_conn_id = aws_conn_id
        self.max_concurrency = max_concurrency
        self.max_object_bytes = max_object_bytes
        self.max_video_bytes = max_video_bytes
        self.replace = replace
        self.skip_blocked = skip_blocked
        self.allow_private_output_hosts = allow_private_output_hosts
        self.allowed_output_hosts = None if allowed_output_hosts is None else tuple(allowed_output_hosts)
        self.download_timeout = download_timeout
        # Set by execute for get_openlineage_facets_on_complete, which runs after it in the same process.
        self.outcome: ArchiveOutcome | None = None

    def execute(self, context: Context) -> list[dict[str, Any]]:
        with fail_fast_on_permanent_errors():
            status = self._succeeded_job()
            result = self._archive(status)
        outcome = ArchiveOutcome.of(
            status, result, bucket=self.s3_bucket, prefix=normalise_prefix(self.s3_key_prefix)
        )
        self.outcome = outcome
        self.log.info("%s", outcome.describe())
        if self.outlet_asset is not None:
            context["outlet_events"][self.outlet_asset].extra.update(outcome.asset_extra())
        context["ti"].xcom_push(key=MANIFEST_URI_XCOM_KEY, value=outcome.manifest_uri)  # for AigcManifestLink
        return [item.to_dict() for item in result.objects]

    def get_openlineage_facets_on_complete(
        self, task_instance: Any
    ) -> OperatorLineage[Dataset, RunFacet] | None:
        """Lineage of the archived job (docs/lineage.md): the vendor job in, the S3 objects out,
        and the ``aigcJob`` run facet; called by the OpenLineage provider when it is installed."""
        if self.outcome is None:
            return None
        from airflow_provider_aigc.lineage import operator_lineage

        return operator_lineage(self.outcome)

    def _succeeded_job(self) -> JobStatus:
        if not isinstance(self.job, Mapping):
            raise AigcInvalidRequestError(
                f"job must be a JobStatus dict (an AigcJobSensor's output), got {type(self.job).__name__}"
            )
        try:
            status = JobStatus.from_dict(dict(self.job))
        except (KeyError, TypeError, ValueError) as exc:
            raise AigcInvalidRequestError(
                f"job is not a JobStatus dict (an AigcJobSensor's output): {exc!r}"
            ) from None
        if status.state is not JobState.SUCCEEDED:
            error = f" ({status.error.type}: {status.error.message})" if status.error else ""
            raise AigcInvalidRequestError(
                f"{status.vendor} job {status.job_id} is {status.state.value}{error}, not SUCCEEDED: "
                "only finished jobs can be archived. Pass the AigcJobSensor's output as job."
            )
        return status

    def _archive(self, status: JobStatus) -> ArchiveResult:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        from airflow_provider_aigc.archive.copier import ArchiveCopier
        from airflow_provider_aigc.archive.url_policy import UrlPolicy  # loads urllib3: not at parse

        connection = connection_output_policy(status.vendor, status.conn_id)
        hosts, private = self.allowed_output_hosts, self.allow_private_output_hosts
        policy = UrlPolicy(
            allowed_hosts=connection.allowed_output_hosts if hosts is None else hosts,
            allow_private=connection.allow_private_output_hosts if private is None else private,
        )
        copier = ArchiveCopier(
            S3Hook(aws_conn_id=self.aws_conn_id).get_conn(),
            bucket=self.s3_bucket,
            prefix=self.s3_key_prefix,
            policy=policy,
            key_template=self.key_template,
            max_concurrency=self.max_concurrency,
            max_object_bytes=self.max_object_bytes,
            max_video_bytes=self.max_video_bytes,
            skip_blocked=self.skip_blocked,
            replace=self.replace,
            timeout=self.download_timeout,
            output_ttl_seconds=connection.output_ttl_seconds,
        )
        return copier.archive(status)
