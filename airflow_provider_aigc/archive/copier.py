"""Copy a finished job's outputs into S3, streaming, then write the manifest.

Each image, video or cover is streamed from its URL through a ``CappedBody``: a body of up to one 8
MiB part goes up in one ``PutObject`` with its sha256 as S3's checksum; a larger one (a video)
through ``upload_fileobj`` with a ``TransferConfig`` that holds at most a few parts in memory
(boto3's defaults buffer up to ~80 MiB per upload from a stream). The first bytes are peeked before
the upload starts, so the object gets its real ``Content-Type`` and extension. The outputs of a job
are copied on up to ``max_concurrency`` threads; if one fails the others are stopped, boto3 aborts
their multipart uploads, what this run stored is deleted, and no manifest is written.

Re-archiving is transactional: while a readable manifest exists, a run writes only under its own
``{job directory}/run-.../`` keys, commits by writing the manifest, then deletes the old objects
the new manifest no longer lists. A failure at any point leaves the previous archive as it was.
A first archive uses the documented default keys.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from airflow_provider_aigc.archive.body import CappedBody
from airflow_provider_aigc.archive.expiry import check_not_expired, describe, gone_hint
from airflow_provider_aigc.archive.fetch import OutputFetcher
from airflow_provider_aigc.archive.integrity import error_code, is_intact, s3_checksum
from airflow_provider_aigc.archive.keys import DEFAULT_KEY_TEMPLATE, KeyLayout, new_run_id
from airflow_provider_aigc.archive.manifest import (
    ManifestState,
    SkippedOutput,
    build_manifest,
    listed_objects,
    read_manifest,
    write_manifest,
)
from airflow_provider_aigc.archive.output_url import parse_output_url
from airflow_provider_aigc.archive.sniff import SNIFF_BYTES, TEXT, MediaType, sniff
from airflow_provider_aigc.exceptions import AigcInvalidRequestError, AigcServerError
from airflow_provider_aigc.models import URL_KINDS, ArchivedObject, JobStatus, Output, utc_now_iso

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from airflow_provider_aigc.archive.url_policy import UrlPolicy

log = logging.getLogger(__name__)

MiB = 1024 * 1024
PART_BYTES = 8 * MiB
# Parts queued or in flight per upload, besides the one being read from the origin.
IN_MEMORY_PARTS = 2
UPLOAD_THREADS = 2
BLOCKED = "block"
METADATA_VALUE_CHARS = 256
DEFAULT_MAX_OBJECT_BYTES = 50 * MiB
# A 10 s 4K clip is hundreds of MiB; streamed in parts, its size costs no memory.
DEFAULT_MAX_VIDEO_BYTES = 4 * 1024 * MiB


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


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


# What S3 answers a conditional write (If-None-Match: *) whose key already exists.
_TAKEN_CODES = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})


class _KeyTaken(Exception):
    """A create-only write found its key already taken."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass
class _Run:
    """Where one archive run may write.

    :param staged: a readable manifest exists: every object goes under ``{directory}/{run_id}/``.
    :param create_only: the manifest could not be read (403): default keys, but never over an
        existing object.
    """

    layout: KeyLayout
    run_id: str
    staged: bool
    create_only: bool
    create_only_keys: set[str] = field(default_factory=set)

    def key(self, index: int, extension: str, *, staged: bool) -> str:
        if staged:
            return self.layout.staged_key(index, extension, self.run_id)
        return self.layout.object_key(index, extension)


@dataclass(frozen=True)
class ArchiveResult:
    """The archived objects (by output index), the key of their manifest and its times.

    ``created_at``/``archived_at`` are the manifest's (null for one written without them);
    ``reused`` says a complete archive was found and nothing was copied (it describes the run, not
    the archive, so it takes no part in equality).
    """

    objects: list[ArchivedObject]
    manifest_key: str
    created_at: str | None = None
    archived_at: str | None = None
    reused: bool = field(default=False, compare=False)


class ArchiveCopier:
    """Archives jobs into one bucket under one prefix.

    :param client: a boto3 S3 client (e.g. ``S3Hook(aws_conn_id).get_conn()``).
    :param bucket: the target bucket.
    :param prefix: the key prefix (normalised: no leading, trailing or doubled slashes).
    :param policy: which output URLs may be fetched.
    :param key_template: the key layout (validated by ``keys.validate_key_template``).
    :param max_concurrency: outputs of one job copied at the same time.
    :param max_object_bytes: the largest image, cover or text accepted; larger bodies abort the upload.
    :param max_video_bytes: the largest video accepted.
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
        max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES,
        max_video_bytes: int = DEFAULT_MAX_VIDEO_BYTES,
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
        self._max_video_bytes = max_video_bytes
        self._skip_blocked = skip_blocked
        self._replace = replace
        self._timeout = timeout
        self._output_ttl_seconds = output_ttl_seconds
        self._transfer_config = transfer_config()

    def archive(self, job: JobStatus) -> ArchiveResult:
        """Archive every output of a SUCCEEDED job (or find its complete archive) and return it.

        An existing complete archive stays valid until the new manifest replaces it: a re-archive
        stores under a run-unique directory, writes the manifest, and only then deletes the old
        objects the new manifest no longer lists.

        :raises AigcOutputExpiredError: an output is past its ``expires_at`` (before any download)
            or its URL answers 403/404/410.
        :raises AigcInvalidRequestError: a URL is refused by the policy, or a body is over the cap.
        :raises AigcServerError: the origin failed transiently (a task retry completes the archive).
        """
        layout = KeyLayout(self._prefix, job.vendor, job.app, job.job_id, self._key_template)
        manifest_key = layout.manifest_key()
        to_copy, skipped = self._plan(job)
        stored = read_manifest(self._client, self._bucket, manifest_key)
        previous = None
        if stored.state is ManifestState.FOUND and stored.manifest is not None:
            previous = listed_objects(stored.manifest, job, self._bucket)
        reused = self._reusable(previous or [], [o.index for o in to_copy])
        if previous is not None and len(reused) == len(previous) == len(to_copy):
            log.info(
                "s3://%s/%s already archives job %s completely; not downloading again (see replace)",
                self._bucket,
                manifest_key,
                job.job_id,
            )
            found = stored.manifest or {}
            return ArchiveResult(
                sorted(reused.values(), key=lambda item: item.index),
                manifest_key,
                created_at=_text_or_none(found.get("created_at")),
                archived_at=_text_or_none(found.get("archived_at")),
                reused=True,
            )
        now = datetime.now(timezone.utc)
        missing = [output for output in to_copy if output.index not in reused]
        check_not_expired(job, missing, now, self._output_ttl_seconds)
        run = _Run(
            layout=layout,
            run_id=new_run_id(now),
            staged=stored.state is ManifestState.FOUND,
            create_only=stored.state is ManifestState.UNREADABLE,
        )
        with self._create_only_multipart(run):
            copied = self._copy_all(job, run, missing)
        objects = sorted([*reused.values(), *copied], key=lambda item: item.index)
        manifest = build_manifest(
            job,
            bucket=self._bucket,
            objects=objects,
            skipped=skipped,
            created_at=now.isoformat(timespec="seconds"),
            archived_at=utc_now_iso(),
        )
        try:
            write_manifest(self._client, self._bucket, manifest_key, manifest)
        except BaseException:
            self._remove(item.key for item in copied)
            raise
        log.info(
            "Wrote s3://%s/%s: %d object(s) (%d reused), %d skipped",
            self._bucket,
            manifest_key,
            len(objects),
            len(reused),
            len(skipped),
        )
        if previous is not None:
            self._collect(layout, previous, objects)
        return ArchiveResult(
            objects, manifest_key, created_at=manifest["created_at"], archived_at=manifest["archived_at"]
        )

    def _reusable(
        self, previous: Sequence[ArchivedObject], indices: Sequence[int]
    ) -> dict[int, ArchivedObject]:
        """The objects of the previous archive that hold their recorded bytes, by output index.

        None with ``replace=True``; otherwise only indices this run archives, each listed once.
        """
        if self._replace:
            return {}
        wanted = set(indices)
        counts = Counter(item.index for item in previous)
        return {
            item.index: item
            for item in previous
            if item.index in wanted and counts[item.index] == 1 and is_intact(self._client, item)
        }

    def _collect(
        self, layout: KeyLayout, previous: Sequence[ArchivedObject], kept: Sequence[ArchivedObject]
    ) -> None:
        """After the new manifest is written: delete the old objects it no longer lists.

        Only keys in the job's own directory, so a tampered manifest cannot make this delete
        anything else. A failure here leaves an unreferenced object behind, never a broken archive.
        """
        directory = layout.directory() + "/"
        kept_keys = {item.key for item in kept} | {layout.manifest_key()}
        stale = {item.key for item in previous if item.key.startswith(directory)} - kept_keys
        for key in sorted(stale):
            try:
                self._client.delete_object(Bucket=self._bucket, Key=key)
            except ClientError as exc:
                log.warning(
                    "Could not delete s3://%s/%s, no longer in the manifest: %s", self._bucket, key, exc
                )
            else:
                log.info("Deleted s3://%s/%s: the new manifest no longer lists it", self._bucket, key)

    @contextmanager
    def _create_only_multipart(self, run: _Run) -> Iterator[None]:
        """While ``run`` is create-only, make CompleteMultipartUpload refuse an existing key.

        s3transfer does not pass ``IfNoneMatch`` through, so it is added to the request here.
        """
        if not run.create_only:
            yield
            return

        def add_condition(params: dict[str, Any], **kwargs: Any) -> None:
            if params.get("Key") in run.create_only_keys:
                params["IfNoneMatch"] = "*"

        event = "before-parameter-build.s3.CompleteMultipartUpload"
        self._client.meta.events.register(event, add_condition)
        try:
            yield
        finally:
            self._client.meta.events.unregister(event, add_condition)

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
            if output.failure is not None:
                reason = f"the vendor produced no file for it ({output.failure})"
                log.info("Skipping %s: %s", describe(job, output), reason)
                skipped.append(SkippedOutput(output.index, output.kind, reason))
            elif self._skip_blocked and output.moderation == BLOCKED:
                reason = "blocked by the vendor's moderation (moderation='block'); skip_blocked=True"
                log.info("Skipping %s: %s", describe(job, output), reason)
                skipped.append(SkippedOutput(output.index, output.kind, reason))
            elif (output.url if output.kind in URL_KINDS else output.text) is None:
                field = "url" if output.kind in URL_KINDS else "text"
                raise AigcInvalidRequestError(f"{describe(job, output)} has no {field}; nothing to archive")
            else:
                to_copy.append(output)
        return to_copy, skipped

    def _copy_all(self, job: JobStatus, run: _Run, outputs: Sequence[Output]) -> list[ArchivedObject]:
        """Copy outputs concurrently; on the first failure stop the others and raise it.

        One output, or ``max_concurrency=1``, is copied on the calling thread: a pool thread per
        job would only add its start-up to every small job.
        """
        if not outputs:
            return []
        stop = threading.Event()
        errors: dict[int, BaseException] = {}
        fetcher = OutputFetcher(self._policy, timeout=self._timeout, pool_size=self._max_concurrency)
        if len(outputs) == 1 or self._max_concurrency == 1:
            copied: list[ArchivedObject] = []
            try:
                for output in outputs:
                    copied.append(self._copy_one(job, output, run, fetcher, stop))
            except BaseException:
                self._remove(item.key for item in copied)
                raise
            finally:
                fetcher.close()
            return copied
        try:
            with ThreadPoolExecutor(
                max_workers=min(self._max_concurrency, len(outputs)), thread_name_prefix="aigc-archive"
            ) as pool:
                futures: dict[Future[ArchivedObject], Output] = {
                    pool.submit(self._copy_one, job, output, run, fetcher, stop): output for output in outputs
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
            # Only keys this run created: a first archive's, a create-only run's, or a run directory.
            self._remove(
                future.result().key
                for future in futures
                if future.done() and not future.cancelled() and future.exception() is None
            )
            raise errors[min(errors)]
        return [future.result() for future in futures]

    def _remove(self, keys: Iterable[str]) -> None:
        """Delete what this run stored before it failed: no object may outlive its missing manifest."""
        for key in keys:
            self._client.delete_object(Bucket=self._bucket, Key=key)
            log.info("Removed s3://%s/%s: its archive run failed and wrote no manifest", self._bucket, key)

    def _copy_one(
        self, job: JobStatus, output: Output, run: _Run, fetcher: OutputFetcher, stop: threading.Event
    ) -> ArchivedObject:
        try:
            return self._fetch_and_store(job, output, run, fetcher, stop, staged=run.staged)
        except _KeyTaken as taken:
            # Create-only run: something already exists at the default key and this role cannot
            # tell whether an unreadable manifest lists it, so it is left alone.
            log.info(
                "s3://%s/%s exists; storing %s under %s/ instead",
                self._bucket,
                taken.key,
                describe(job, output),
                run.run_id,
            )
            return self._fetch_and_store(job, output, run, fetcher, stop, staged=True)

    def _fetch_and_store(
        self,
        job: JobStatus,
        output: Output,
        run: _Run,
        fetcher: OutputFetcher,
        stop: threading.Event,
        *,
        staged: bool,
    ) -> ArchivedObject:
        what = describe(job, output)
        create_only = run.create_only and not staged
        limit = self._max_video_bytes if output.kind == "video" else self._max_object_bytes
        if output.kind == "text":
            text = (output.text or "").encode("utf-8")
            body = CappedBody(iter([text]), limit=limit, what=what, cancelled=stop)
            key = run.key(output.index, TEXT.extension, staged=staged)
            return self._store(body, TEXT, job, output, key, run, None, create_only=create_only)
        url = parse_output_url(output.url or "")
        hint = gone_hint(job.vendor, self._output_ttl_seconds)
        with fetcher.open(url, what=what, max_bytes=limit, gone_hint=hint) as response:
            chunks = fetcher.iter_body(response, what, chunk_bytes=PART_BYTES)
            body = CappedBody(chunks, limit=limit, what=what, cancelled=stop)
            head = body.peek(SNIFF_BYTES)
            if not head:
                # A 200 with no bytes is not the output: storing it would list a lost output as archived.
                raise AigcServerError(
                    f"{what}: {url.public} answered with an empty body; a task retry may succeed"
                )
            media = sniff(head)
            key = run.key(output.index, media.extension, staged=staged)
            return self._store(body, media, job, output, key, run, url.public, create_only=create_only)

    def _store(
        self,
        body: CappedBody,
        media: MediaType,
        job: JobStatus,
        output: Output,
        key: str,
        run: _Run,
        source_url: str | None,
        *,
        create_only: bool,
    ) -> ArchivedObject:
        """Upload ``body`` to ``key``: one PutObject carrying its sha256 when it fits one part.

        The single-part path hands S3 the sha256 computed while reading, so S3 verifies the
        upload and keeps it as ``ChecksumSHA256`` (checked again when a re-run reuses the object).
        """
        extra: dict[str, Any] = {"ContentType": media.content_type, "Metadata": object_metadata(job, output)}
        try:
            if body.buffered(PART_BYTES + 1) <= PART_BYTES:
                data = body.read()
                condition = {"IfNoneMatch": "*"} if create_only else {}
                self._client.put_object(
                    Bucket=self._bucket,
                    Key=key,
                    Body=data,
                    ChecksumAlgorithm="SHA256",
                    ChecksumSHA256=s3_checksum(body.sha256),
                    **condition,
                    **extra,
                )
            else:
                if create_only:
                    run.create_only_keys.add(key)
                self._client.upload_fileobj(
                    body, self._bucket, key, ExtraArgs=extra, Config=self._transfer_config
                )
        except ClientError as exc:
            if create_only and error_code(exc) in _TAKEN_CODES:
                raise _KeyTaken(key) from None
            raise
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
