"""A real api-server with the provider installed, a finished DAG run in it, and headless Chromium.

The browser is Debian's ``chromium`` driven by Playwright's Python package (its own browser
downloads are never used). ``make test-browser`` installs both; without them these tests skip,
unless ``AIGC_REQUIRE_BROWSER=1`` (set by ``make test-browser``) turns the skip into a failure.
Screenshots go to ``AIGC_SCREENSHOT_DIR`` (``make screenshots`` copies them into docs/screenshots/),
else to a temporary directory: the tests never write into the work tree.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import aws_connection_json
from tests.integration.conftest import airflow as airflow
from tests.integration.conftest import airflow_home  # noqa: F401 (needed by ``airflow``)
from tests.integration.live_airflow import LiveAirflow, live_airflow

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import BrowserContext, Page

    from tests.conftest import S3Server, SimulatorServer
    from tests.integration.conftest import AirflowHarness

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
ARCHIVE_BUCKET = "ui-archive"
# A DAG with its own archive task (submit >> wait >> archive), then a review that the fixture approves.
DAG_ID = "example_human_review"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    missing = [] if Path(CHROMIUM).exists() else [f"{CHROMIUM} (apt-get install -y chromium)"]
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install playwright)")
    if not missing:
        return
    reason = f"browser tests need {' and '.join(missing)}; `make test-browser` installs them"
    if os.environ.get("AIGC_REQUIRE_BROWSER") == "1":
        raise pytest.UsageError(reason)
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.skip(reason=reason))


@dataclass(frozen=True)
class FinishedRun:
    """A finished ``example_human_review`` run: LocalExecutor, triggerer, approved over REST."""

    live: LiveAirflow
    run_id: str
    manifest_uri: str
    console_template: str


@pytest.fixture(scope="session")
def finished_run(
    airflow: AirflowHarness,
    simulator: SimulatorServer,
    s3: S3Server,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[FinishedRun]:
    s3.make_bucket(ARCHIVE_BUCKET)
    # The link opens the manifest on the local S3 endpoint itself: a console template of our own.
    template = f"{s3.endpoint_url}/{{bucket}}/{{key}}"
    aws = json.loads(aws_connection_json(s3.endpoint_url))
    aws["extra"]["s3_console_url"] = template
    env = {
        **airflow.connections,
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(aws),
        "AIGC_ARCHIVE_BUCKET": ARCHIVE_BUCKET,
    }
    home = tmp_path_factory.mktemp("live-ui")
    with live_airflow(airflow.template_db, home, DAGS_FOLDER, env, executor=True) as live:
        run = live.reviewed_run(
            DAG_ID, {"text": "雪山脚下的小木屋", "num": 2}, home / "dags-test.log", "Approve"
        )
        run_id = run.run_id
        manifest_uri = live.xcom(DAG_ID, run_id, "archive", key="manifest_uri")
        yield FinishedRun(live, run_id, manifest_uri, template)


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("AIGC_SCREENSHOT_DIR")
    if not configured:
        return tmp_path_factory.mktemp("screenshots")
    path = Path(configured)
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh --user-data-dir
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1400, "height": 1000},
        )
        context.set_default_timeout(30_000)
        try:
            yield context
        finally:
            context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser: BrowserContext) -> Iterator[Page]:
    page = browser.new_page()
    try:
        yield page
    finally:
        page.close()


def simulator_credentials(simulator_url: str) -> dict[str, dict[str, Any]]:
    """Login/password the simulator accepts, per connection type."""
    from airflow_provider_aigc.simulator import connection_env

    connections = {
        vendor: json.loads(value)
        for name, value in connection_env(simulator_url).items()
        for vendor in ("zhipu", "baidu", "jumdata")
        if name == f"AIRFLOW_CONN_AIGC_{vendor.upper()}_DEFAULT"
    }
    # Zhipu's default connection derives its keys from extras; the form test types the console pair.
    connections["zhipu"] |= {"login": "demo-zhipu-console-apikey", "password": "demo-zhipu-console-apisecret"}
    return connections
