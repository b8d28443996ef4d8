"""Copy a finished job's outputs into S3, streaming, then write the manifest.

Each image is streamed from its URL into ``upload_fileobj`` through a ``CappedBody``, with a
``TransferConfig`` that holds at most a few 8 MiB parts in memory (boto3's defaults buffer up
to ~80 MiB per upload from a stream). The first bytes are peeked before the upload starts, so the
object gets its real ``Content-Type`` and extension. The outputs of a job are copied on up to
``max_concurrency`` threads; if one fails the others are stopped, boto3 aborts their multipart
uploads, and no manifest is written.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from boto3.s3.transfer import TransferConfig

from airflow_provider_aigc.archive.body import CappedBody
from airflow_provider_aigc.archive.expiry import check_not_expired, describe, gone_hint
from airflow_provider_aigc.archive.fetch import OutputFetcher
from airflow_provider_aigc.archive.keys import DEFAULT_KEY_TEMPLATE, KeyLayout
from airflow_provider_aigc.archive.manifest import (
    SkippedOutput,
    build_manifest,
    complete_objects,
    read_manifest,
    write_manifest,
)
from airflow_provider_aigc.archive.redact import public_url
from airflow_provider_aigc.archive.sniff import SNIFF_BYTES, TEXT, MediaType, sniff
from airflow_provider_aigc.exceptions import AigcInvalidRequestError, AigcServerError
from airflow_provider_aigc.models import ArchivedObject, JobStatus, Output, utc_now_iso

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from airflow_provider_aigc.archive.url_policy import UrlPolicy

log = logging.getLogger(__name__)

MiB = 1024 * 1024
PART_BYTES = 8 * MiB
# Parts queued or in flight per upload, besides the one being read from the origin.
IN_MEMORY_PARTS = 2
UPLOAD_THREADS = 2
BLOCKED = "block"
METADATA_VALUE_CHARS = 256


def transfer_config() -> TransferConfig:
    """boto3 transfer settings that keep one streamed upload to about three parts in memory."""
    config = TransferConfig(
        multipart_threshold=PART_BYTES,
        multipart_chunksize=PART_BYTES,
        max_concurrency=UPLOAD_THREADS,
        preferred_transfer_client="classic",
    )
    # Not a constructor argument, but honoured by s3transfer (its default of 10 is ~80 MiB).
    config.max_in_memory_upload_chunks = IN_MEMORY_PARTS
    return config


def object_metadata(job: JobStatus, output: Output) -> dict[str, str]:
    """S3 user metadata naming where an object came from (ASCII, as S3 requires)."""
    values = {"vendor": job.vendor, "app": job.app, "job-id": job.job_id, "output-index": str(output.index)}
    return {f"aigc-{name}": quote(value, safe="")[:METADATA_VALUE_CHARS] for name, value in values.items()}


@dataclass(frozen=True)
class ArchiveResult:
    """The archived objects (by output index) and the key of their manifest."""

    objects: list[ArchivedObject]
    manifest_key: str


class ArchiveCopier:
    """Archives jobs into one bucket under one prefix.

    :param client: a boto3 S3 client (e.g. ``S3Hook(aws_conn_id).get_conn()``).
    :param bucket: the target bucket.
    :param prefix: the key prefix (normalised: no leading, trailing or doubled slashes).
    :param policy: which output URLs may be fetched.
    :param key_template: the key layout (validated by ``keys.validate_key_template``).
    :param max_concurrency: outputs of one job copied at the same time.
    :param max_object_bytes: the largest object accepted; larger bodies abort the upload.
    :param skip_blocked: skip outputs the vendor's moderation marked "block".
    :param replace: copy again even when a complete manifest exists.
    :param timeout: seconds to wait for a connection, and between bytes of an answer.
    :param output_ttl_seconds: the connection's assumed URL validity (named in expiry errors).
    """

    def __init__(
        self,
        client: Any,
        *,
        bucket: str,
        prefix: str,
        policy: UrlPolicy,
        key_template: str = DEFAULT_KEY_TEMPLATE,
        max_concurrency: int = 4,
        max_object_bytes: int = 50 * MiB,
        skip_blocked: bool = True,
        replace: bool = False,
        timeout: float = 60.0,
        output_ttl_seconds: float | None = None,
    ) -> None:
        self._client = client
        self._bucket = bucket
        self._prefix = prefix
        self._policy = policy
        self._key_template = key_template
        self._max_concurrency = max_concurrency
        self._max_object_bytes = max_object_bytes
        self._skip_blocked = skip_blocked
        self._replace = replace
        self._timeout = timeout
        self._output_ttl_seconds = output_ttl_seconds
        self._transfer_config = transfer_config()

    def archive(self, job: JobStatus) -> ArchiveResult:
        """Archive every output of a SUCCEEDED job (or find its complete archive) and return it.

        :raises AigcOutputExpiredError: an output is past its ``expires_at`` (before any download)
            or its URL answers 403/404/410.
        :raises AigcInvalidRequestError: a URL is refused by the policy, or a body is over the cap.
        :raises AigcServerError: the origin failed transiently (a task retry completes the archive).
        """
        layout = KeyLayout(self._prefix, job.vendor, job.app, job.job_id, self._key_template)
        manifest_key = layout.manifest_key()
        to_copy, skipped = self._plan(job)
        old_manifest = None if self._replace else read_manifest(self._client, self._bucket, manifest_key)
        if old_manifest is not None:
            existing = self._complete_archive(job, manifest_key, old_manifest, [o.index for o in to_copy])
            if existing is not None:
                return ArchiveResult(existing, manifest_key)
        now = datetime.now(timezone.utc)
        check_not_expired(job, to_copy, now, self._output_ttl_seconds)
        created_at = now.isoformat(timespec="seconds")
        if self._replace or old_manifest is not None:
            # A manifest means a complete archive: an outdated one must not outlive a failed re-copy.
            self._client.delete_object(Bucket=self._bucket, Key=manifest_key)
        objects = self._copy_all(job, layout, to_copy)
        manifest = build_manifest(
            job,
            bucket=self._bucket,
            objects=objects,
            skipped=skipped,
            created_at=created_at,
            archived_at=utc_now_iso(),
        )
        write_manifest(self._client, self._bucket, manifest_key, manifest)
        log.info(
            "Wrote s3://%s/%s: %d object(s), %d skipped",
            self._bucket,
            manifest_key,
            len(objects),
            len(skipped),
        )
        return ArchiveResult(objects, manifest_key)

    def _plan(self, job: JobStatus) -> tuple[list[Output], list[SkippedOutput]]:
        """The outputs to copy, and those skipped with the reason."""
        indices = [output.index for output in job.outputs]
        if len(set(indices)) != len(indices):
            raise AigcInvalidRequestError(
                f"job {job.job_id} lists an output index twice ({indices}); keys would clash"
            )
        to_copy: list[Output] = []
        skipped: list[SkippedOutput] = []
        for output in job.outputs:
            if self._skip_blocked and output.moderation == BLOCKED:
                reason = "blocked by the vendor's moderation (moderation='block'); skip_blocked=True"
                log.info("Skipping %s: %s", describe(job, output), reason)
                skipped.append(SkippedOutput(output.index, output.kind, reason))
            elif (output.url if output.kind == "image" else output.text) is None:
                field = "url" if output.kind == "image" else "text"
                raise AigcInvalidRequestError(f"{describe(job, output)} has no {field}; nothing to archive")
            else:
                to_copy.append(output)
        return to_copy, skipped

    def _complete_archive(
        self, job: JobStatus, manifest_key: str, manifest: dict[str, Any], indices: list[int]
    ) -> list[ArchivedObject] | None:
        objects = complete_objects(self._client, manifest, job, self._bucket, indices)
        if objects is not None:
            log.info(
                "s3://%s/%s already archives job %s completely; not downloading again (see replace)",
                self._bucket,
                manifest_key,
                job.job_id,
            )
        return objects

    def _copy_all(self, job: JobStatus, layout: KeyLayout, outputs: Sequence[Output]) -> list[ArchivedObject]:
        """Copy outputs concurrently; on the first failure stop the others and raise it."""
        if not outputs:
            return []
        stop = threading.Event()
        errors: dict[int, BaseException] = {}
        fetcher = OutputFetcher(self._policy, timeout=self._timeout, pool_size=self._max_concurrency)
        try:
            with ThreadPoolExecutor(
                max_workers=min(self._max_concurrency, len(outputs)), thread_name_prefix="aigc-archive"
            ) as pool:
                futures: dict[Future[ArchivedObject], Output] = {
                    pool.submit(self._copy_one, job, output, layout, fetcher, stop): output
                    for output in outputs
                }
                done, _ = wait(futures, return_when=FIRST_EXCEPTION)
                errors = {futures[f].index: exc for f in done if (exc := f.exception()) is not None}
                if errors:
                    stop.set()
                    for future in futures:
                        future.cancel()
        finally:
            fetcher.close()
        if errors:
            self._remove_stored(futures)
            raise errors[min(errors)]
        return [future.result() for future in futures]

    def _remove_stored(self, futures: Iterable[Future[ArchivedObject]]) -> None:
        """Delete what this run stored before it failed: no object may outlive its missing manifest."""
        for future in futures:
            if future.done() and not future.cancelled() and future.exception() is None:
                key = future.result().key
                self._client.delete_object(Bucket=self._bucket, Key=key)
                log.info(
                    "Removed s3://%s/%s: its archive run failed and wrote no manifest", self._bucket, key
                )

    def _copy_one(
        self, job: JobStatus, output: Output, layout: KeyLayout, fetcher: OutputFetcher, stop: threading.Event
    ) -> ArchivedObject:
        what = describe(job, output)
        if output.kind == "text":
            text = (output.text or "").encode("utf-8")
            body = CappedBody(iter([text]), limit=self._max_object_bytes, what=what, cancelled=stop)
            return self._store(body, TEXT, job, output, layout, source_url=None)
        url = output.url or ""
        hint = gone_hint(job.vendor, self._output_ttl_seconds)
        with fetcher.open(url, what=what, max_bytes=self._max_object_bytes, gone_hint=hint) as response:
            chunks = fetcher.iter_body(response, what)
            body = CappedBody(chunks, limit=self._max_object_bytes, what=what, cancelled=stop)
            head = body.peek(SNIFF_BYTES)
            if not head:
                # A 200 with no bytes is not the image: storing it would list a lost output as archived.
                raise AigcServerError(
                    f"{what}: {public_url(url)} answered with an empty body; a task retry may succeed"
                )
            media = sniff(head)
            return self._store(body, media, job, output, layout, source_url=public_url(url))

    def _store(
        self,
        body: CappedBody,
        media: MediaType,
        job: JobStatus,
        output: Output,
        layout: KeyLayout,
        *,
        source_url: str | None,
    ) -> ArchivedObject:
        key = layout.object_key(output.index, media.extension)
        self._client.upload_fileobj(
            body,
            self._bucket,
            key,
            ExtraArgs={"ContentType": media.content_type, "Metadata": object_metadata(job, output)},
            Config=self._transfer_config,
        )
        archived = ArchivedObject(
            bucket=self._bucket,
            key=key,
            size=body.size,
            sha256=body.sha256,
            content_type=media.content_type,
            index=output.index,
            kind=output.kind,
            source_url=source_url,
        )
        log.info(
            "Archived %s to %s (%s, %d bytes)",
            describe(job, output),
            archived.uri,
            media.content_type,
            body.size,
        )
        return archived
