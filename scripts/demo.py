"""`make demo`: every example DAG, end to end in real Airflow, against the simulator and a local S3.

Starts the vendor simulator and a moto S3 server, prepares throwaway Airflow homes under `.demo/`,
runs every DAG in `dags/` with `airflow dags test` (side by side), then reads the archive back from
S3, verifies every object against its manifest, prints what was archived and writes an HTML
gallery. Everything it starts is stopped on the way out, Ctrl-C included.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
import urllib.request
from contextlib import ExitStack, closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from demo_archive import GALLERY_NAME, ArchivedJob, ArchiveMismatchError, read_archive
from demo_gallery import data_uri_source, relative_source, render_gallery
from demo_services import (
    DATABASE_FILE,
    Command,
    CommandResult,
    Service,
    airflow_env,
    aws_connection,
    run_commands,
    running_s3,
    running_simulator,
)

from airflow_provider_aigc.simulator import connection_env

if TYPE_CHECKING:
    from collections.abc import Sequence

REPO = Path(__file__).resolve().parents[1]
DAGS_FOLDER = REPO / "dags"
DEMO_DIR = REPO / ".demo"
BUCKET = "aigc-archive"
# CogView's documented latency is minutes; at this speed the simulator finishes it in seconds.
SIMULATOR_SPEED = 40.0
MIGRATE_TIMEOUT_SECONDS = 180.0
DAG_TIMEOUT_SECONDS = 240.0
AIRFLOW = (sys.executable, "-m", "airflow")


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def example_dag_ids() -> list[str]:
    """Each file in dags/ defines one DAG named after the file (tests/unit/test_dag_imports.py checks)."""
    return sorted(path.stem for path in DAGS_FOLDER.glob("*.py"))


def s3_client(endpoint_url: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="demo",
        aws_secret_access_key="demo",
    )


def report_failure(result: CommandResult) -> bool:
    log = result.command.log_path
    print(f"\n{result.command.name} failed (exit {result.returncode}); last lines of {log}:\n", flush=True)
    print(result.tail(), flush=True)
    return False


def format_table(jobs: Sequence[ArchivedJob]) -> str:
    """One row per archived object; the full sha256 is in each manifest."""
    rows = [("S3 URI", "content type", "bytes", "sha256")]
    rows += [
        (f"s3://{job.bucket}/{item.key}", item.content_type, f"{item.size:,}", item.sha256[:16] + "…")
        for job in jobs
        for item in job.files
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.rjust(width) if column == 2 else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def publish_galleries(client: Any, jobs: Sequence[ArchivedJob]) -> Path:
    """An `index.html` beside each manifest in S3, and one self-contained page for all jobs locally."""
    for job in jobs:
        page = render_gallery(job.title, [job], relative_source)
        client.put_object(
            Bucket=job.bucket,
            Key=f"{job.directory}/{GALLERY_NAME}",
            Body=page.encode("utf-8"),
            ContentType="text/html; charset=utf-8",
        )
    local = DEMO_DIR / "gallery" / GALLERY_NAME
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_text(render_gallery("airflow-provider-aigc demo", jobs, data_uri_source), encoding="utf-8")
    return local


def submissions_per_vendor(simulator: Service) -> dict[str, int]:
    with urllib.request.urlopen(simulator.url + "/_sim/stats", timeout=10) as response:
        stats = json.load(response)
    return {vendor: int(data["submissions"]["count"]) for vendor, data in sorted(stats["vendors"].items())}


def run_example_dags(env: dict[str, str], logs: Path) -> bool:
    """`airflow dags test` for every example DAG, side by side, each in its own Airflow home.

    sqlite takes one writer at a time, so each run gets a copy of the migrated database; running
    them together overlaps one DAG's waiting on the simulator with another's work.
    """
    airflow_root = DEMO_DIR / "airflow"
    migrated = airflow_root / "migrated"
    migrated.mkdir(parents=True)
    step(f"preparing Airflow under {airflow_root.relative_to(REPO)} (airflow db migrate, sqlite)")
    migrate = Command(
        "db migrate",
        [*AIRFLOW, "db", "migrate"],
        airflow_env(migrated, DAGS_FOLDER, env),
        logs / "db-migrate.log",
    )
    (result,) = run_commands([migrate], MIGRATE_TIMEOUT_SECONDS)
    if not result.ok:
        return report_failure(result)

    commands = []
    for dag_id in example_dag_ids():
        home = airflow_root / dag_id
        home.mkdir()
        shutil.copy2(migrated / DATABASE_FILE, home / DATABASE_FILE)
        argv = [*AIRFLOW, "dags", "test", dag_id]
        commands.append(Command(dag_id, argv, airflow_env(home, DAGS_FOLDER, env), logs / f"{dag_id}.log"))
    step(f"running {len(commands)} DAGs with `airflow dags test`: " + ", ".join(c.name for c in commands))
    with closing(run_commands(commands, DAG_TIMEOUT_SECONDS)) as results:
        for result in results:
            if not result.ok:
                return report_failure(result)
            log = result.command.log_path.relative_to(REPO)
            print(f"    {result.command.name}: success after {result.seconds:.0f} s (log: {log})", flush=True)
    return True


def run_demo(stack: ExitStack) -> int:
    started = time.monotonic()
    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    logs = DEMO_DIR / "logs"
    logs.mkdir(parents=True)

    step(f"starting the vendor simulator (speed x{SIMULATOR_SPEED:g})")
    simulator = stack.enter_context(running_simulator(logs, SIMULATOR_SPEED))
    print(f"    {simulator.url}")
    step("starting a local S3 endpoint (moto server)")
    s3 = stack.enter_context(running_s3(logs))
    client = s3_client(s3.url)
    client.create_bucket(Bucket=BUCKET)
    print(f"    {s3.url}, bucket s3://{BUCKET}")

    env = {
        **connection_env(simulator.url),
        "AIRFLOW_CONN_AWS_DEFAULT": aws_connection(s3.url),
        "AIGC_ARCHIVE_BUCKET": BUCKET,
    }
    if not run_example_dags(env, logs):
        return 1

    step(f"reading the archive back from s3://{BUCKET} and verifying it against its manifests")
    try:
        jobs = read_archive(client, BUCKET)
    except ArchiveMismatchError as error:
        print(f"\n{error}", flush=True)
        return 1
    objects = sum(len(job.files) for job in jobs)
    print(f"\n{format_table(jobs)}\n")
    print(f"{objects} objects in {len(jobs)} manifests: size, sha256 and content type all match.")
    submitted = submissions_per_vendor(simulator)
    print(
        f"Jobs submitted to the simulator: {sum(submitted.values())} ("
        + ", ".join(f"{vendor} {count}" for vendor, count in submitted.items())
        + f"); jobs archived: {len(jobs)}."
    )
    if sum(submitted.values()) != len(jobs):
        print("Every job bought must be archived exactly once; these numbers should be equal.", flush=True)
        return 1

    step("writing the gallery")
    local = publish_galleries(client, jobs)
    print(f"    S3: {GALLERY_NAME} beside each of the {len(jobs)} manifests")
    print(f"    local copy: {local}")
    step(f"done in {time.monotonic() - started:.0f} s; stopping the simulator and S3")
    return 0


def main() -> int:
    with ExitStack() as stack:
        try:
            return run_demo(stack)
        except KeyboardInterrupt:
            print("\ninterrupted; stopping everything the demo started", flush=True)
            return 130


if __name__ == "__main__":
    sys.exit(main())
