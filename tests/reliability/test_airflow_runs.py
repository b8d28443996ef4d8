"""Real Airflow runs (``airflow dags test``, the integration suite's harness): every example DAG and
a DAG failing in every way a user meets, then a scan of everything they left behind for secrets.

Scanned: the run's stdout/stderr and every file under AIRFLOW_HOME/logs, every row of every table
of the run's metadata database (XCom, trigger kwargs, task state, rendered fields, next_kwargs...)
and every manifest written to S3. Looked for: each demo credential and Zhipu derived key, anything
shaped like a Baidu access token, every Jumdata sign the account could have produced during the
run, and the signatures of the run's own output URLs.

Signed output URLs are allowed in exactly three places, all by contract (DESIGN.md: the sensor's
``JobStatus`` carries each output's ``url`` for the archive step): the sensors' ``xcom`` rows, the
``task_instance.next_kwargs`` event that resumes them, and the archive task's rendered ``job``
template field (``rendered_task_instance_fields``), which is that same XCom. Nowhere else.
"""

from __future__ import annotations

import json
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_aigc.simulator import DEMO_CREDENTIALS
from tests.reliability.helpers import LeakScanner, baidu_token, fault, jumdata_signs

if TYPE_CHECKING:
    from tests.conftest import S3Server, SimulatorServer
    from tests.integration.conftest import AirflowHarness, DagTestRun

pytestmark = pytest.mark.integration

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
RELIABILITY_DAGS = Path(__file__).resolve().parent / "dags"
EXAMPLES: dict[str, dict[str, Any]] = {
    "example_cogview": {"prompt": "黄山云海"},
    "example_news": {"topic": "人工智能助力春耕", "max_length": 120},
    "example_ernie_vilg": {"prompt": "睡莲", "image_num": 2},
    "example_jumdata": {"text": "雪山脚下的小木屋", "style": "油画", "num": 2},
    "daily_content_pipeline": {"topics": ["秋粮丰收"], "max_length": 100},
}
# Where signed output URLs are part of the contract (the sensor's result and the event resuming it).
URL_CARRIERS = {
    ("xcom", "value"),
    ("task_instance", "next_kwargs"),
    ("rendered_task_instance_fields", "rendered_fields"),
}
WRONG_BAIDU_SECRET = "wrong-baidu-secret-key-5d1e"


@pytest.fixture
def quick_jobs(sim: SimulatorServer) -> SimulatorServer:
    speed = float(sim.config({})["speed"])
    sim.config(
        {"latency": {app: 0.3 * speed for app in ("cogview", "news_generate", "txt2imgv2", "ai_draw")}}
    )
    return sim


def database_rows(run: DagTestRun) -> list[tuple[str, str, str]]:
    """``(table, column, text)`` for every non-null cell of the run's metadata database."""
    found = []
    with closing(sqlite3.connect(run.home / "airflow.db")) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            cursor = db.execute(f'SELECT * FROM "{table}"')
            columns = [item[0] for item in cursor.description]
            for row in cursor:
                for column, value in zip(columns, row, strict=False):
                    if value is not None:
                        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
                        found.append((table, column, text))
    return found


def output_urls(rows: list[tuple[str, str, str]]) -> list[str]:
    urls = []
    for table, column, text in rows:
        if (table, column) == ("xcom", "value") and '"outputs"' in text:
            for output in json.loads(text).get("outputs", []):
                if output.get("url"):
                    urls.append(output["url"])
    return urls


def scan(run: DagTestRun, s3: S3Server, bucket: str, since_ms: int) -> dict[str, list[str]]:
    """Every leak in what the run left behind, by place."""
    rows = database_rows(run)
    scanner = LeakScanner(signs=jumdata_signs(since_ms, int(time.time() * 1000)))
    scanner.add("a wrong Baidu secret", WRONG_BAIDU_SECRET)
    scanner.add("baidu api_key", DEMO_CREDENTIALS["baidu"]["api_key"])
    scanner.add("jumdata app_id", DEMO_CREDENTIALS["jumdata"]["app_id"])
    scanner.add_url_signatures(output_urls(rows))
    no_urls = LeakScanner(known=scanner.known, signs=scanner.signs)
    leaks: dict[str, list[str]] = {}

    def check(place: str, text: str, checker: LeakScanner = scanner) -> None:
        found = checker.leaks(text)
        if found:
            leaks.setdefault(place, []).extend(found)

    check("stdout", run.stdout)
    check("stderr", run.stderr)
    for path in sorted((run.home / "logs").rglob("*")):
        if path.is_file():
            check(f"log {path.relative_to(run.home)}", path.read_text("utf-8", "replace"))
    for table, column, text in rows:
        check(f"db {table}.{column}", text, no_urls if (table, column) in URL_CARRIERS else scanner)
    client = s3.client
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            if item["Key"].endswith("manifest.json"):
                check(
                    f"s3 {item['Key']}",
                    client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode(),
                )
    return leaks


@pytest.mark.scenario("security.secrets")
def test_the_scanner_recognises_what_it_looks_for(sim: SimulatorServer) -> None:
    """The scan is only as good as its patterns: a real token, sign and URL signature are found."""
    token = baidu_token(sim)
    scanner = LeakScanner(signs=jumdata_signs(1_700_000_000_000, 1_700_000_000_010))
    sign = sorted(scanner.signs)[3]
    url = "http://127.0.0.1/x/0.png?e=1&s=" + "ab" * 32
    scanner.add_url_signatures([url])
    text = f"token={token} sign={sign} url=http://127.0.0.1/x/0.png?e=1&s={'ab' * 32}"
    assert scanner.leaks(text) == [
        "a Baidu access token",
        "a Jumdata sign",
        f"an output URL signature ({'ab' * 3}...)",
    ]
    assert scanner.leaks(text.replace(token, "***").replace(sign, "***").replace("ab" * 32, "***")) == []


@pytest.mark.scenario("security.secrets")
def test_example_dags_archive_everything_and_leak_nothing(
    airflow: AirflowHarness, quick_jobs: SimulatorServer, s3: S3Server
) -> None:
    bucket = s3.make_bucket("rel-examples")
    since_ms = int(time.time() * 1000)

    def run(dag_id: str) -> DagTestRun:
        return airflow.run_dag(
            dag_id, EXAMPLES[dag_id], dags_folder=DAGS_FOLDER, env={"AIGC_ARCHIVE_BUCKET": bucket}
        )

    # CPU-bound Airflow processes on two cores: three at a time is as fast as five.
    with ThreadPoolExecutor(max_workers=3) as pool:
        runs = list(pool.map(run, EXAMPLES))
    for result in runs:
        assert result.returncode == 0, result.output_tail()
        assert set(result.task_states().values()) == {"success"}, result.task_states()
    leaks = {run.dag_id: scan(run, s3, bucket, since_ms) for run in runs}
    assert leaks == {key: {} for key in EXAMPLES}, leaks
    manifests = [
        item["Key"]
        for item in s3.client.list_objects_v2(Bucket=bucket).get("Contents", [])
        if item["Key"].endswith("manifest.json")
    ]
    assert len(manifests) == 4 + 2  # four single-job examples, one story of two jobs


@pytest.mark.scenario("pipeline.airflow-faults")
def test_failing_dag_fails_each_task_classified_buys_nothing_twice_and_leaks_nothing(
    airflow: AirflowHarness, quick_jobs: SimulatorServer, s3: S3Server
) -> None:
    bucket = s3.make_bucket("rel-failures")
    sim = quick_jobs
    sim.config({"token_max_calls": 2})
    sim.config(fault("zhipu", "submit", "job_failure", next=1))
    sim.config(fault("jumdata", "download", "http_5xx", probability=1.0))
    wrong = json.dumps(
        {
            "conn_type": "aigc_baidu",
            "host": sim.url,
            "login": DEMO_CREDENTIALS["baidu"]["api_key"],
            "password": WRONG_BAIDU_SECRET,
            "extra": {"allow_private_output_hosts": True},
        }
    )
    since_ms = int(time.time() * 1000)
    run = airflow.run_dag(
        "rel_failures",
        dags_folder=RELIABILITY_DAGS,
        env={"AIGC_ARCHIVE_BUCKET": bucket, "AIRFLOW_CONN_AIGC_BAIDU_WRONG": wrong},
    )
    states = {task: state for (task, _), state in run.task_states().items()}
    assert states == {
        "moderated_submit": "failed",
        "moderated_job": "success",
        "moderated_wait": "failed",
        "bad_template": "failed",
        "wrong_secret": "failed",
        "failing_job": "success",
        "failing_wait": "failed",
        "broken_submit": "success",
        "broken_wait": "success",
        "broken_archive": "failed",
        "refresh_submit": "success",
        "refresh_wait": "success",
        "refresh_archive": "success",
    }, run.output_tail()
    tries = {task: tries for (task, _), tries in run.try_numbers().items()}
    # what no retry can fix fails at once; the broken downloads used the archive's one retry
    assert tries["broken_archive"] == 2
    assert all(
        tries[task] == 1 for task in ("moderated_submit", "bad_template", "wrong_secret", "moderated_wait")
    )
    output = run.stdout + run.stderr
    for expected in (
        "AigcContentRejectedError",
        "num must be an integer 1-6 (Jumdata limit), got 7",
        "AigcAuthError",
        "AigcJobFailedError",
        "AigcServerError",
    ):
        assert expected in output, expected
    vendors = sim.stats()["vendors"]
    counts = {vendor: data["submissions"]["count"] for vendor, data in vendors.items()}
    # one job per accepted submit, none for bad input
    assert counts == {"zhipu": 1, "baidu": 2, "jumdata": 1, "bigmodel": 0, "dashscope": 0}
    assert vendors["baidu"]["tokens_issued"] >= 2  # the tokens really expired and were refreshed
    assert scan(run, s3, bucket, since_ms) == {}
    stored = [item["Key"] for item in s3.client.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert not [key for key in stored if key.startswith("rel/broken/")]
    assert sum(key.startswith("rel/refresh/") and key.endswith("manifest.json") for key in stored) == 1
