"""When an output can no longer be fetched, and what each vendor says about how long URLs live."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_aigc.exceptions import AigcOutputExpiredError
from airflow_provider_aigc.models import JobStatus, Output, parse_iso
from airflow_provider_aigc.vendors.registry import VENDORS

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

_RERUN_HINT = "Submit the job again for fresh URLs, and archive soon after it finishes."


def validity_note(vendor: str, output_ttl_seconds: float | None) -> str:
    """One sentence on how long ``vendor``'s output URLs stay valid, for expiry errors."""
    spec = VENDORS.get(vendor)
    if spec is not None and spec.output_validity is not None:
        return spec.output_validity
    undocumented = f"{vendor} does not document how long its output URLs stay valid"
    if output_ttl_seconds is None:
        return f"{undocumented}; set output_ttl_seconds on the connection to have it checked before download."
    return f"{undocumented}; the connection assumes output_ttl_seconds={output_ttl_seconds:g}."


def describe(job: JobStatus, output: Output) -> str:
    """How errors and logs name one output, e.g. "baidu txt2imgv2 output 2 of job 123"."""
    return f"{job.vendor} {job.app} output {output.index} of job {job.job_id}"


def check_not_expired(
    job: JobStatus, outputs: Iterable[Output], now: datetime, output_ttl_seconds: float | None
) -> None:
    """Refuse, before any download, to fetch outputs whose ``expires_at`` has passed.

    :raises AigcOutputExpiredError: naming the first expired output and its expiry time.
    """
    checked_at = now.isoformat(timespec="seconds")
    for output in outputs:
        expires_at = parse_iso(output.expires_at)
        if expires_at is not None and expires_at <= now:
            raise AigcOutputExpiredError(
                f"{describe(job, output)} expired at {output.expires_at} (checked at {checked_at}); "
                f"nothing was downloaded. {validity_note(job.vendor, output_ttl_seconds)} {_RERUN_HINT}",
                vendor=job.vendor,
            )


def gone_hint(vendor: str, output_ttl_seconds: float | None) -> str:
    """What to tell the user when an output URL answers 403/404/410 at download."""
    return f"The URL has probably expired. {validity_note(vendor, output_ttl_seconds)} {_RERUN_HINT}"
