"""Worker for benchmark 2: copy one job's outputs from the simulator into S3, one way per worker.

Clients are created before the clock starts, for every variant alike (a warm task reuses them
too); the clock covers the download and the upload to the last byte; the peak RSS is reset first,
so ``peak - rss_before`` is what this copy held in memory. Every S3 request the copy sends is
counted by operation (a botocore ``before-send`` hook on the shared client).
"""

from __future__ import annotations

import resource
import time
from collections import Counter
from collections.abc import Callable
from functools import cache
from typing import Any

from benchmarks.common import serve
from benchmarks.memory import current_rss, peak_rss, reset_peak

AWS_CONN_ID = "aws_default"  # AIRFLOW_CONN_AWS_DEFAULT, set by the parent
HTTP_CONN_ID = "aigc_bench_http"  # AIRFLOW_CONN_AIGC_BENCH_HTTP: the simulator's base URL
MIB = 1024 * 1024
Copy = Callable[[], object]  # one copy, ready to run: everything but the transfer is set up
S3_REQUESTS: Counter[str] = Counter()  # S3 requests sent, by operation name


def _count_request(event_name: str, **kwargs: Any) -> None:
    S3_REQUESTS[event_name.rsplit(".", 1)[-1]] += 1


@cache
def s3_client() -> Any:
    """The S3 client every variant uses: the Amazon provider's hook, as the operators do."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    client = S3Hook(aws_conn_id=AWS_CONN_ID).get_conn()
    client.meta.events.register("before-send.s3", _count_request)
    return client


def copier_copy(command: dict[str, Any]) -> Copy:
    """Ours: ``ArchiveCopier`` (streaming, tuned ``TransferConfig``, outputs copied concurrently)."""
    from airflow_provider_aigc.archive.copier import ArchiveCopier
    from airflow_provider_aigc.archive.url_policy import UrlPolicy
    from airflow_provider_aigc.models import JobStatus

    copier = ArchiveCopier(
        s3_client(),
        bucket=command["bucket"],
        prefix=command["key"],
        policy=UrlPolicy(allow_private=True),
        max_concurrency=command.get("max_concurrency", 4),
        max_object_bytes=command["max_object_bytes"],
    )
    job = JobStatus.from_dict(command["job"])
    return lambda: copier.archive(job)


def http_to_s3_copy(command: dict[str, Any]) -> Copy:
    """The Amazon provider's ``HttpToS3Operator``: ``response.content`` then ``load_bytes``."""
    from airflow.providers.amazon.aws.transfers.http_to_s3 import HttpToS3Operator

    operator = HttpToS3Operator(
        task_id="http_to_s3",
        http_conn_id=HTTP_CONN_ID,
        endpoint=command["url"].removeprefix(command["sim_url"] + "/"),
        method="GET",
        s3_bucket=command["bucket"],
        s3_key=command["key"],
        aws_conn_id=AWS_CONN_ID,
        replace=True,
    )
    operator.s3_hook.get_conn()  # client created before the clock, as for the others
    return lambda: operator.execute(context={})


def streaming_copy(command: dict[str, Any]) -> Copy:
    """The streaming reference: ``requests`` stream straight into ``upload_fileobj``.

    A job of several outputs is copied one output after the other, each to ``{key}/{n}``.
    """
    import requests

    client = s3_client()
    urls = command["urls"]
    keys = [f"{command['key']}/{n}" for n in range(len(urls))]

    def copy() -> None:
        for url, key in zip(urls, keys, strict=True):
            with requests.get(url, stream=True, timeout=60) as response:
                response.raise_for_status()
                response.raw.decode_content = True
                client.upload_fileobj(response.raw, command["bucket"], key)

    return copy


def in_memory_copy(command: dict[str, Any]) -> Copy:
    """The in-memory reference: download the whole body, then ``upload_fileobj`` from a buffer."""
    import io

    import requests

    client = s3_client()

    def copy() -> None:
        response = requests.get(command["url"], timeout=60)
        response.raise_for_status()
        client.upload_fileobj(io.BytesIO(response.content), command["bucket"], command["key"])

    return copy


VARIANTS = {
    "aigc": copier_copy,
    "http_to_s3": http_to_s3_copy,
    "stream": streaming_copy,
    "memory": in_memory_copy,
}


def job_status(command: dict[str, Any]) -> dict[str, Any]:
    """The finished job as ``AigcJobSensor`` would hand it over (read with the sync hook)."""
    from airflow_provider_aigc.hooks import hook_class_for

    hook = hook_class_for("zhipu")(conn_id="aigc_zhipu_default")
    return hook.get_status(command["job_id"], "cogview").to_dict()


def handle(command: dict[str, Any]) -> dict[str, Any]:
    if command["op"] == "ping":
        s3_client()
        return {"ok": True}
    if command["op"] == "status":
        return job_status(command)
    copy = VARIANTS[command["variant"]](command)
    S3_REQUESTS.clear()
    reset_peak()
    rss_before = current_rss()
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)  # microseconds; os.times() has 10 ms ticks
    start = time.perf_counter()
    copy()
    seconds = time.perf_counter() - start
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "seconds": seconds,
        "cpu_user": cpu_after.ru_utime - cpu_before.ru_utime,
        "cpu_sys": cpu_after.ru_stime - cpu_before.ru_stime,
        "peak_rss": peak_rss(),
        "rss_before": rss_before,
        "s3_requests": dict(S3_REQUESTS),
    }


if __name__ == "__main__":
    serve(handle)
