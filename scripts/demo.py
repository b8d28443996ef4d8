"""`make demo`: every example DAG, end to end in real Airflow, against the simulator and a local S3.

Starts the vendor simulator and a moto S3 server, prepares throwaway Airflow homes under `.demo/`,
runs every DAG in `dags/` with `airflow dags test` (side by side) while a reviewer approves the
human-review DAG through an api-server's REST API, then reads the archive back from S3, verifies
every object against its manifest (and every published copy against its original), prints per API
what was bought, billed and archived, and writes an HTML gallery. Everything it starts is stopped
on the way out, Ctrl-C included.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
import urllib.request
from collections import Counter
from contextlib import ExitStack, closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from airflow_rest import REQUEST_TIMEOUT_SECONDS
from demo_archive import GALLERY_NAME, MANIFEST_NAME, ArchivedJob, ArchiveMismatchError, read_archive
from demo_gallery import billed, data_uri_source, relative_source, render_gallery, total_billed
from demo_review import REVIEW_DAG, REVIEWER, Reviewer, running_api_server
from demo_services import (
    AIRFLOW,
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
    from collections.abc import Mapping, Sequence

REPO = Path(__file__).resolve().parents[1]
DAGS_FOLDER = REPO / "dags"
# Everything a run leaves for inspection (logs, Airflow homes, the gallery); tests point it elsewhere.
DEMO_DIR = Path(os.environ.get("AIGC_DEMO_DIR") or REPO / ".demo").resolve()
BUCKET = "aigc-archive"
# CogView's documented latency is minutes; at this speed the simulator finishes it in seconds.
SIMULATOR_SPEED = 40.0
MIGRATE_TIMEOUT_SECONDS = 180.0
DAG_TIMEOUT_SECONDS = 240.0
PROMPT_CHARS = 40


def shown(path: Path) -> str:
    """`path` as the user would type it from the checkout."""
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


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


def format_job(job: ArchivedJob) -> list[str]:
    """One job: its prompt and bill, where it lies, and each object (the full sha256 is in the manifest)."""
    prompt = job.prompt if len(job.prompt) <= PROMPT_CHARS else job.prompt[: PROMPT_CHARS - 1] + "…"
    lines = [
        f"  job {job.manifest.get('job_id')}  “{prompt}”  {billed(job).lower()}",
        f"    s3://{job.bucket}/{job.directory}/",
    ]
    names = [item.name for item in job.files]
    width = max((len(name) for name in names), default=0)
    for item in job.files:
        lines.append(
            f"      {item.name.ljust(width)}  {item.content_type:<26} {item.size:>9,} B"
            f"  sha256 {item.sha256[:12]}…"
        )
    lines.append(f"      {MANIFEST_NAME} (what was archived, written last) · {GALLERY_NAME} (gallery)")
    for item in job.published:
        lines.append(f"    published: s3://{job.bucket}/{item.key}")
    return lines


def format_archive(jobs: Sequence[ArchivedJob], bought: Mapping[tuple[str, str], int]) -> str:
    """Per API: jobs bought and archived, what they were billed, then each job's objects."""
    lines = []
    for api in sorted({job_api(job) for job in jobs} | set(bought)):
        api_jobs = [job for job in jobs if job_api(job) == api]
        lines.append(
            f"{' / '.join(api)}: {bought.get(api, 0)} job(s) bought, {len(api_jobs)} archived; "
            + "billed "
            + total_billed(api_jobs).split(": ", 1)[1]
        )
        for job in api_jobs:
            lines.extend(format_job(job))
        lines.append("")
    return "\n".join(lines)


def job_api(job: ArchivedJob) -> tuple[str, str]:
    return str(job.manifest.get("vendor")), str(job.manifest.get("app"))


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


def purchases(simulator: Service) -> list[tuple[str, str, str]]:
    """Every job the simulator accepted (what a vendor would bill): (vendor, app, job id)."""
    with urllib.request.urlopen(simulator.url + "/_sim/stats", timeout=10) as response:
        stats = json.load(response)
    return sorted(
        (vendor, str(job["app"]), str(job["job_id"]))
        for vendor, data in stats["vendors"].items()
        for job in data["submissions"]["jobs"]
    )


def run_example_dags(stack: ExitStack, env: dict[str, str], logs: Path) -> Reviewer | None:
    """`airflow dags test` for every example DAG, side by side, each in its own Airflow home, with a
    reviewer answering the human-review DAG's approval over the REST API; None when a run failed.

    sqlite takes one writer at a time, so each run gets a copy of the migrated database; running
    them together overlaps one DAG's waiting on the simulator with another's work.
    """
    airflow_root = DEMO_DIR / "airflow"
    migrated = airflow_root / "migrated"
    migrated.mkdir(parents=True)
    step(f"preparing Airflow under {shown(airflow_root)} (airflow db migrate, sqlite)")
    migrate = Command(
        "db migrate",
        [*AIRFLOW, "db", "migrate"],
        airflow_env(migrated, DAGS_FOLDER, env),
        logs / "db-migrate.log",
    )
    (result,) = run_commands([migrate], MIGRATE_TIMEOUT_SECONDS)
    if not result.ok:
        report_failure(result)
        return None

    commands = []
    for dag_id in example_dag_ids():
        home = airflow_root / dag_id
        home.mkdir()
        shutil.copy2(migrated / DATABASE_FILE, home / DATABASE_FILE)
        argv = [*AIRFLOW, "dags", "test", dag_id]
        commands.append(Command(dag_id, argv, airflow_env(home, DAGS_FOLDER, env), logs / f"{dag_id}.log"))
    review_home = airflow_root / REVIEW_DAG
    server, password = stack.enter_context(
        running_api_server(review_home, airflow_env(review_home, DAGS_FOLDER, env), logs)
    )
    reviewer = Reviewer(server, password)
    reviewer.start()
    step(f"running {len(commands)} DAGs with `airflow dags test`: " + ", ".join(c.name for c in commands))
    print(f"    {REVIEW_DAG}: `{REVIEWER}` answers its approval through the REST API of {server.url}")
    try:
        with closing(run_commands(commands, DAG_TIMEOUT_SECONDS)) as results:
            for result in results:
                if not result.ok:
                    report_failure(result)
                    if reviewer.error:
                        print(f"the reviewer failed: {reviewer.error} (see {server.log_path})", flush=True)
                    return None
                log = shown(result.command.log_path)
                print(
                    f"    {result.command.name}: success after {result.seconds:.0f} s (log: {log})",
                    flush=True,
                )
    finally:
        reviewer.stopped.set()
        reviewer.join(timeout=REQUEST_TIMEOUT_SECONDS)
    return reviewer


def report_review(reviewer: Reviewer) -> bool:
    """Who approved what, and what the approval published."""
    outcome = reviewer.outcome
    if outcome is None:
        print(f"\nThe review of {REVIEW_DAG} was never answered: {reviewer.error or 'no request seen'}")
        return False
    published = reviewer.published(outcome.run_id)
    print(f"{REVIEW_DAG} (human review, run {outcome.run_id}):")
    print(f"  asked:    {outcome.subject}")
    print(
        f"  answered: {', '.join(outcome.chosen_options)} by `{outcome.responded_by}`"
        f" at {outcome.responded_at}"
    )
    print(f"  published {len(published)} cop(ies) of the archived S3 objects (never the vendor's URLs):")
    for uri in published:
        print(f"    {uri}")
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
    reviewer = run_example_dags(stack, env, logs)
    if reviewer is None:
        return 1

    step("the human review")
    if not report_review(reviewer):
        return 1

    step(f"reading the archive back from s3://{BUCKET} and verifying it against its manifests")
    try:
        jobs = read_archive(client, BUCKET)
    except ArchiveMismatchError as error:
        print(f"\n{error}", flush=True)
        return 1
    bought = purchases(simulator)
    per_api = Counter((vendor, app) for vendor, app, _ in bought)
    print(f"\n{format_archive(jobs, per_api)}")
    objects = sum(len(job.files) for job in jobs)
    print(
        f"{objects} objects in {len(jobs)} manifests: size, sha256 and content type"
        " all match the bytes in S3."
    )
    archived = sorted((*job_api(job), str(job.manifest.get("job_id"))) for job in jobs)
    print(
        f"Jobs bought from the simulator: {len(bought)}; jobs archived: {len(archived)};"
        f" {total_billed(jobs)}."
    )
    if archived != bought:
        print("Every job bought must be archived exactly once: these lists differ.", flush=True)
        return 1

    step("writing the gallery")
    local = publish_galleries(client, jobs)
    print(f"    S3: {GALLERY_NAME} beside each of the {len(jobs)} manifests")
    print(f"    local copy (open it in a browser): {local}")
    step(f"done in {time.monotonic() - started:.0f} s; stopping the simulator, S3 and the api-server")
    return 0


def interrupt(signum: int, frame: object) -> None:
    """SIGTERM (a CI timeout, `kill`) unwinds like Ctrl-C, so everything started is stopped."""
    raise KeyboardInterrupt


def main() -> int:
    signal.signal(signal.SIGTERM, interrupt)
    with ExitStack() as stack:
        try:
            return run_demo(stack)
        except KeyboardInterrupt:
            print("\ninterrupted; stopping everything the demo started", flush=True)
            return 130


if __name__ == "__main__":
    sys.exit(main())
