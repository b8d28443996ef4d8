"""Benchmark 2: archiving outputs into S3 (moto on loopback), ours against the usual ways.

Variants, each in its own worker process (``benchmarks.archive_worker``), repetitions interleaved:

- ``aigc``: the provider's ``ArchiveCopier`` (what ``AigcArchiveToS3Operator`` runs).
- ``http_to_s3``: the Amazon provider's ``HttpToS3Operator`` (an http connection to the simulator).
- ``stream``: the streaming reference, ``requests`` stream into boto3 ``upload_fileobj``.
- ``memory``: the whole body downloaded, then ``upload_fileobj`` from memory.

Outputs of 1, 20 and 200 MiB are real PNGs padded by the simulator (its ``image_bytes`` knob).
Then a 6-image job is archived with ``max_concurrency`` 6 and 1: once with each download
answering after 0.5 s (the simulator's ``slow`` fault, standing in for a vendor CDN's time to
first byte across the internet) and once straight from loopback.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from benchmarks.common import s3_server, simulator, submit_cogview, workers
from benchmarks.report import BenchResult, Row, at_least, at_most, median, ratio

if TYPE_CHECKING:
    from benchmarks.common import S3, Settings, Simulator, Worker

NAME = "archive"
MIB = 1024 * 1024
VARIANTS = {
    "aigc": "ArchiveCopier",
    "http_to_s3": "HttpToS3Operator",
    "stream": "requests stream -> upload_fileobj",
    "memory": "download, then upload_fileobj",
}
THROUGHPUT_VS_STREAM = 0.9
RSS_BUDGET_MIB = 64.0
RSS_BUDGET_SIZE_MIB = 200
CONCURRENT_IMAGES = 6
CONCURRENT_IMAGE_MIB = 4
FIRST_BYTE_DELAY = 0.5
SPEED_UP = 2.5


def finished_job(sim: Simulator, worker: Worker, images: int, image_mib: int) -> dict[str, Any]:
    """A SUCCEEDED CogView job with ``images`` outputs of ``image_mib`` MiB, as the sensor returns it."""
    sim.config({"image_bytes": image_mib * MIB, "cogview_images": {"count": images}})
    (job_id,) = submit_cogview(sim.url, 1)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = worker.call({"op": "status", "job_id": job_id})
        if status["state"] == "SUCCEEDED":
            return status
        time.sleep(0.2)
    raise RuntimeError(f"simulated job {job_id} did not finish")


def stored_bytes(s3: S3, bucket: str, prefix: str) -> int:
    """Bytes stored under ``prefix``, manifests left out: proves each variant copied everything."""
    client = s3.client()
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sum(
        item["Size"]
        for page in pages
        for item in page.get("Contents", [])
        if not item["Key"].endswith(".json")
    )


def copy_once(
    pool: dict[str, Worker], s3: S3, sim: Simulator, variant: str, job: dict[str, Any], **options: Any
) -> dict[str, Any]:
    bucket = "aigc-bench"
    key = f"bench/{variant}/{time.monotonic_ns()}"
    size = sum(options.pop("sizes"))
    command = {
        "op": "copy",
        "variant": variant,
        "job": job,
        "url": job["outputs"][0]["url"],
        "sim_url": sim.url,
        "bucket": bucket,
        "key": key,
        "max_object_bytes": max(size, MIB) + MIB,
        **options,
    }
    sample = pool[variant].call(command, timeout=600)
    stored = stored_bytes(s3, bucket, key)
    s3.empty_bucket(bucket)
    if stored != size:
        raise RuntimeError(f"{variant} stored {stored} bytes, expected {size}")
    return {**sample, "bytes": size, "mib_per_s": size / MIB / sample["seconds"]}


def size_rows(size_mib: int, figures: dict[str, dict[str, float | None]]) -> list[Row]:
    ours = figures["aigc"]
    case = f"{size_mib} MiB output"
    rows = []
    for name in ("stream", "http_to_s3", "memory"):
        is_target = name == "stream"
        rows.append(
            Row(
                NAME,
                case,
                "throughput",
                ours["mib_per_s"],
                "MiB/s",
                VARIANTS[name],
                figures[name]["mib_per_s"],
                f">= {THROUGHPUT_VS_STREAM}x" if is_target else "",
                at_least(ratio(ours["mib_per_s"], figures[name]["mib_per_s"]), THROUGHPUT_VS_STREAM)
                if is_target
                else None,
            )
        )
    budget = size_mib == RSS_BUDGET_SIZE_MIB
    for name in ("stream", "http_to_s3"):
        rows.append(
            Row(
                NAME,
                case,
                "peak RSS growth",
                ours["rss_growth_mib"],
                "MiB",
                VARIANTS[name],
                figures[name]["rss_growth_mib"],
                f"<= {RSS_BUDGET_MIB:.0f} MiB" if budget and name == "stream" else "",
                at_most(ours["rss_growth_mib"], RSS_BUDGET_MIB) if budget and name == "stream" else None,
            )
        )
    return rows


def summarize(samples: list[dict[str, Any]]) -> dict[str, float | None]:
    return {
        "seconds": median(s["seconds"] for s in samples),
        "mib_per_s": median(s["mib_per_s"] for s in samples),
        "rss_growth_mib": median((s["peak_rss"] - s["rss_before"]) / MIB for s in samples),
    }


def run(settings: Settings) -> BenchResult:
    sizes = settings.pick((1, 20, 200), (1, 20))
    result = BenchResult(NAME)
    result.details = {"reps": settings.reps, "sizes_mib": list(sizes), "runs": {}}
    with simulator("--seed", "1", "--latency", "cogview=0.2") as sim, s3_server() as s3:
        s3.make_bucket("aigc-bench")
        env = {
            **sim.connection_env(),
            "AIRFLOW_CONN_AIGC_BENCH_HTTP": sim.url,
            "AIRFLOW_CONN_AWS_DEFAULT": s3.connection_json(),
        }
        with workers(dict.fromkeys(VARIANTS, "benchmarks.archive_worker"), env) as pool:
            for worker in pool.values():
                worker.call({"op": "ping"}, timeout=120)
            names = list(VARIANTS)
            for size in sizes:
                job = finished_job(sim, pool["aigc"], 1, size)
                samples: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
                for rep in range(settings.reps):
                    for variant in names[rep % len(names) :] + names[: rep % len(names)]:
                        samples[variant].append(copy_once(pool, s3, sim, variant, job, sizes=[size * MIB]))
                figures = {name: summarize(s) for name, s in samples.items()}
                result.details["runs"][f"{size}MiB"] = {"figures": figures, "samples": samples}
                result.rows += size_rows(size, figures)
            result.rows += concurrency_rows(settings, sim, s3, pool, result.details)
    return result


def concurrency_rows(
    settings: Settings, sim: Simulator, s3: S3, pool: dict[str, Worker], details: dict[str, Any]
) -> list[Row]:
    job = finished_job(sim, pool["aigc"], CONCURRENT_IMAGES, CONCURRENT_IMAGE_MIB)
    sizes = [CONCURRENT_IMAGE_MIB * MIB] * CONCURRENT_IMAGES
    rows = []
    for delay in (FIRST_BYTE_DELAY, 0.0):
        slow = {"probability": 1.0, "delay": delay} if delay else None
        sim.config({"faults": {"zhipu": {"download": {"slow": slow}}}})
        samples: dict[int, list[dict[str, Any]]] = {CONCURRENT_IMAGES: [], 1: []}
        for _ in range(settings.reps):
            for concurrency in samples:
                samples[concurrency].append(
                    copy_once(pool, s3, sim, "aigc", job, sizes=sizes, max_concurrency=concurrency)
                )
        parallel = median(s["seconds"] for s in samples[CONCURRENT_IMAGES])
        serial = median(s["seconds"] for s in samples[1])
        details["runs"][f"6x{CONCURRENT_IMAGE_MIB}MiB_delay{delay}"] = samples
        is_target = delay > 0
        rows.append(
            Row(
                NAME,
                f"6 x {CONCURRENT_IMAGE_MIB} MiB job, {delay:g} s to first byte",
                f"job archive time, max_concurrency={CONCURRENT_IMAGES}",
                parallel,
                "s",
                "max_concurrency=1",
                serial,
                f"<= {1 / SPEED_UP:.1f}x ({SPEED_UP}x faster)" if is_target else "",
                at_most(ratio(parallel, serial), 1 / SPEED_UP) if is_target else None,
            )
        )
    sim.config({"faults": None})
    return rows
