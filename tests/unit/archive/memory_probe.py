"""Archive one large output in a fresh process and report how much its peak RSS grew.

Usage: python memory_probe.py ENDPOINT_URL BUCKET WARM_UP_URL URL. Prints a JSON object. Run by
``test_copier.test_bounded_memory_for_a_large_object``; a separate process keeps the test's
servers and earlier tests out of the measurement.
"""

from __future__ import annotations

import json
import resource
import sys

import boto3

from airflow_provider_aigc.archive.copier import ArchiveCopier
from airflow_provider_aigc.archive.url_policy import UrlPolicy
from airflow_provider_aigc.models import JobState, JobStatus, Output


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def main(endpoint_url: str, bucket: str, warm_up_url: str, url: str) -> None:
    client = boto3.client("s3", endpoint_url=endpoint_url, region_name="us-east-1")
    copier = ArchiveCopier(
        client, bucket=bucket, prefix="memory", policy=UrlPolicy(allow_private=True), max_object_bytes=1 << 30
    )

    def job(job_id: str, output_url: str) -> JobStatus:
        output = Output(index=0, kind="image", url=output_url)
        return JobStatus(
            vendor="baidu", app="txt2imgv2", job_id=job_id, state=JobState.SUCCEEDED, outputs=(output,)
        )

    copier.archive(job("warm-up", warm_up_url))  # imports and lazily built machinery are not growth
    before = peak_rss_bytes()
    (archived,) = copier.archive(job("large", url)).objects
    print(
        json.dumps(
            {"size": archived.size, "sha256": archived.sha256, "rss_growth_bytes": peak_rss_bytes() - before}
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:5])
