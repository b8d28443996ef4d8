"""Benchmark 2: archiving outputs into S3 (moto on loopback), ours against the usual ways.

Variants, each in its own worker process (``benchmarks.archive_worker``), repetitions interleaved:

- ``aigc``: the provider's ``ArchiveCopier`` (what ``AigcArchiveToS3Operator`` runs).
- ``http_to_s3``: the Amazon provider's ``HttpToS3Operator`` (an http connection to the simulator).
- ``stream``: the streaming reference, ``requests`` stream into boto3 ``upload_fileobj``.
- ``memory``: the whole body downloaded, then ``upload_fileobj`` from memory.

Outputs of 1, 20 and 200 MiB are real PNGs padded by the simulator (its ``image_bytes`` knob).
Then a 200 MB video (``video/mp4`` from ``benchmarks.video_origin``), ours against the streaming
reference only, with the CPU each copy used (user + system time of its worker, all threads).
Then a fixed, seeded mix of realistic jobs (1-8 images of 0.2-5 MiB each) is archived job by
job, ``ArchiveCopier`` with the operator's defaults (manifest read, objects, manifest write)
against the streaming reference copying the same job's outputs one after the other: the per-job
cost a small job pays shows up here. Each job's outputs come from single-image simulator jobs of
the drawn sizes, put together in one ``JobStatus``.

Last, a 6-image job is archived with ``max_concurrency`` 6 and 1: once with each download
answering after 0.5 s (the simulator's ``slow`` fault, standing in for a vendor CDN's time to
first byte across the internet) and once straight from loopback.
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Any

from benchmarks.common import s3_server, simulator, submit_cogview, video_origin, workers
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
VIDEO_VS_STREAM = 0.95
VIDEO_BYTES = 200 * 1000 * 1000
QUICK_VIDEO_BYTES = 20 * 1000 * 1000
RSS_BUDGET_MIB = 64.0
RSS_BUDGET_SIZE_MIB = 200
CONCURRENT_IMAGES = 6
CONCURRENT_IMAGE_MIB = 4
FIRST_BYTE_DELAY = 0.5
SPEED_UP = 2.5
MIX_SEED = 11
MIX_JOBS = 8
MIX_IMAGES = (1, 8)
MIX_IMAGE_MIB = (0.2, 5.0)
MIX_CASE = "jobs of 1-8 x 0.2-5 MiB"


def job_mix(seed: int = MIX_SEED, jobs: int = MIX_JOBS) -> list[list[int]]:
    """The realistic mix: per job, the byte sizes of its images (fixed by the seed)."""
    rng = random.Random(seed)
    low, high = MIX_IMAGE_MIB
    return [[int(rng.uniform(low, high) * MIB) for _ in range(rng.randint(*MIX_IMAGES))] for _ in range(jobs)]


def finished_job(sim: Simulator, worker: Worker, images: int, image_mib: int) -> dict[str, Any]:
    """A SUCCEEDED CogView job with ``images`` outputs of ``image_mib`` MiB, as the sensor returns it."""
    sim.config({"image_bytes": image_mib * MIB, "cogview_images": {"count": images}})
    (job_id,) = submit_cogview(sim.url, 1)
    return wait_succeeded(worker, job_id)


def mixed_job(sim: Simulator, worker: Worker, number: int, sizes: list[int]) -> dict[str, Any]:
    """A SUCCEEDED job whose outputs have the given sizes (one single-image simulator job each)."""
    job_ids = []
    for size in sizes:
        sim.config({"image_bytes": size, "cogview_images": {"count": 1}})
        job_ids += submit_cogview(sim.url, 1)
    outputs = []
    for index, job_id in enumerate(job_ids):
        status = wait_succeeded(worker, job_id)
        outputs.append({**status["outputs"][0], "index": index})
    return {**status, "job_id": f"mix-{number}", "outputs": outputs}


def wait_succeeded(worker: Worker, job_id: str) -> dict[str, Any]:
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
        "urls": [output["url"] for output in job["outputs"]],
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
    rows.append(
        Row(
            NAME,
            case,
            "CPU per MiB (worker user + system)",
            ours["cpu_ms_per_mib"],
            "ms",
            VARIANTS["stream"],
            figures["stream"]["cpu_ms_per_mib"],
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
        "cpu_ms_per_mib": median(cpu_ms_per_mib(s) for s in samples),
    }


def cpu_ms_per_mib(sample: dict[str, Any]) -> float:
    """User + system CPU of the copying worker (all its threads) per MiB copied."""
    cpu_seconds = float(sample["cpu_user"]) + float(sample["cpu_sys"])
    return 1000 * cpu_seconds / (int(sample["bytes"]) / MIB)


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
            result.rows += video_rows(settings, sim, s3, env, result.details)
            result.rows += mix_rows(settings, sim, s3, pool, result.details)
            result.rows += concurrency_rows(settings, sim, s3, pool, result.details)
    return result


def video_rows(
    settings: Settings, sim: Simulator, s3: S3, env: dict[str, str], details: dict[str, Any]
) -> list[Row]:
    """A 200 MB video, ours against the streaming reference: throughput, memory, CPU per MiB.

    Fresh workers: the heap earlier copies left behind would hide this one's RSS growth.
    Repetitions alternate which goes first. The ratio is the median of the per-repetition
    ratios (each pair ran side by side, under the same load), not a ratio of medians.
    """
    size = settings.pick(VIDEO_BYTES, QUICK_VIDEO_BYTES)
    names = ("aigc", "stream")
    modules = dict.fromkeys(names, "benchmarks.archive_worker")
    with video_origin() as origin, workers(modules, env) as pool:
        for worker in pool.values():
            worker.call({"op": "ping"}, timeout=120)
        job = finished_job(sim, pool["aigc"], 1, 1)
        url = f"{origin}/video.mp4?bytes={size}"
        job = {**job, "outputs": [{**job["outputs"][0], "url": url}]}
        samples: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        for rep in range(settings.reps):
            for variant in names if rep % 2 == 0 else names[::-1]:
                samples[variant].append(copy_once(pool, s3, sim, variant, job, sizes=[size]))
    figures = {name: summarize(samples[name]) for name in names}
    pair_ratios = [
        ratio(ours["mib_per_s"], theirs["mib_per_s"])
        for ours, theirs in zip(samples["aigc"], samples["stream"], strict=True)
    ]
    details["runs"]["video"] = {
        "bytes": size,
        "content_type": "video/mp4",
        "figures": figures,
        "pair_ratios": pair_ratios,
        "samples": samples,
    }
    case = f"{size / 1e6:.0f} MB video/mp4"
    ours, theirs = figures["aigc"], figures["stream"]
    return [
        Row(NAME, case, "throughput", ours["mib_per_s"], "MiB/s", VARIANTS["stream"], theirs["mib_per_s"]),
        Row(
            NAME,
            case,
            "throughput ratio, median of side-by-side pairs",
            median(pair_ratios),
            "",
            target=f">= {VIDEO_VS_STREAM}x",
            met=at_least(median(pair_ratios), VIDEO_VS_STREAM),
        ),
        Row(
            NAME,
            case,
            "CPU per MiB (worker user + system)",
            ours["cpu_ms_per_mib"],
            "ms",
            VARIANTS["stream"],
            theirs["cpu_ms_per_mib"],
        ),
        Row(
            NAME,
            case,
            "peak RSS growth",
            ours["rss_growth_mib"],
            "MiB",
            VARIANTS["stream"],
            theirs["rss_growth_mib"],
            f"<= {RSS_BUDGET_MIB:.0f} MiB",
            at_most(ours["rss_growth_mib"], RSS_BUDGET_MIB),
        ),
    ]


def mix_rows(
    settings: Settings, sim: Simulator, s3: S3, pool: dict[str, Worker], details: dict[str, Any]
) -> list[Row]:
    """The realistic mix, job by job: ours (operator defaults) against the streaming reference.

    Per repetition every job is copied by both (which goes first alternates); the figure of a
    repetition is the mix's bytes over the sum of its job times, i.e. throughput per job weighted
    by bytes. Reported: the median over repetitions, and the median job's own ratio.
    """
    mix = job_mix()
    jobs = [mixed_job(sim, pool["aigc"], number, sizes) for number, sizes in enumerate(mix)]
    total = sum(map(sum, mix))
    names = ("aigc", "stream")
    samples: dict[str, list[list[dict[str, Any]]]] = {name: [] for name in names}
    for rep in range(settings.reps):
        per_rep: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        for number, (job, sizes) in enumerate(zip(jobs, mix, strict=True)):
            order = names if (rep + number) % 2 == 0 else names[::-1]
            for variant in order:
                per_rep[variant].append(copy_once(pool, s3, sim, variant, job, sizes=sizes))
        for name in names:
            samples[name].append(per_rep[name])
    throughput = {
        name: median(total / MIB / sum(s["seconds"] for s in rep) for rep in samples[name]) for name in names
    }
    job_ratios = [
        ratio(
            median(rep[n]["seconds"] for rep in samples["stream"]),
            median(rep[n]["seconds"] for rep in samples["aigc"]),
        )
        for n in range(len(jobs))
    ]
    requests = [{name: samples[name][0][n]["s3_requests"] for name in names} for n in range(len(jobs))]
    details["runs"]["mix"] = {
        "seed": MIX_SEED,
        "jobs": [{"images": len(sizes), "sizes": sizes} for sizes in mix],
        "throughput_mib_per_s": throughput,
        "job_ratios": job_ratios,
        "s3_requests_per_job": requests,
        "samples": samples,
    }
    images = sum(map(len, mix))
    case = f"{len(mix)} {MIX_CASE} ({images} images)"
    return [
        Row(
            NAME,
            case,
            "throughput per job, manifest included",
            throughput["aigc"],
            "MiB/s",
            VARIANTS["stream"],
            throughput["stream"],
            f">= {THROUGHPUT_VS_STREAM}x",
            at_least(ratio(throughput["aigc"], throughput["stream"]), THROUGHPUT_VS_STREAM),
        ),
        Row(NAME, case, "median job's throughput ratio", median(job_ratios), ""),
        Row(
            NAME,
            case,
            "1-image jobs' throughput ratio",
            median(r for r, sizes in zip(job_ratios, mix, strict=True) if len(sizes) == 1),
            "",
        ),
        Row(
            NAME,
            case,
            "S3 requests per job",
            sum(map(sum, (r["aigc"].values() for r in requests))) / len(jobs),
            "",
            VARIANTS["stream"],
            sum(map(sum, (r["stream"].values() for r in requests))) / len(jobs),
        ),
    ]


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
