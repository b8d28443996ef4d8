"""The provider in Airflow's own UI, in headless Chromium: connection forms, Test connection, the
archive task's extra link and its log lines."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_aigc.operators.links import console_url, split_s3_uri
from airflow_provider_aigc.provider_info import provider_info
from tests.browser.conftest import DAG_ID, FinishedRun, simulator_credentials

if TYPE_CHECKING:
    from pathlib import Path

    from playwright.sync_api import Locator, Page, Route

    from tests.conftest import S3Server, SimulatorServer

pytestmark = pytest.mark.integration

VENDORS = ("zhipu", "baidu", "jumdata")
# Airflow's standard connection fields the forms hide (the host carries the whole base URL).
HIDDEN = ("Port", "Schema")


def declared(vendor: str) -> dict[str, Any]:
    (entry,) = [
        entry for entry in provider_info()["connection-types"] if entry["connection-type"] == f"aigc_{vendor}"
    ]
    return entry


def open_add_form(page: Page, live_url: str, hook_name: str) -> Locator:
    page.goto(f"{live_url}/connections")
    page.get_by_role("button", name="Add Connection").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("combobox").click()
    page.keyboard.type(hook_name)
    page.get_by_role("option", name=hook_name, exact=True).click()
    dialog.get_by_text("Standard Fields").wait_for()
    return dialog


@pytest.mark.parametrize("vendor", VENDORS)
def test_add_connection_form_shows_the_declared_fields(
    page: Page, finished_run: FinishedRun, screenshots: Path, vendor: str
) -> None:
    entry = declared(vendor)
    behaviour = entry["ui-field-behaviour"]
    dialog = open_add_form(page, finished_run.live.url, entry["hook-name"])

    for field, label in behaviour["relabeling"].items():
        placeholder = dialog.get_by_label(label, exact=True).get_attribute("placeholder")
        assert placeholder == behaviour["placeholders"][field], (field, label)
    assert dialog.get_by_label(behaviour["relabeling"]["password"], exact=True).get_attribute("type") == (
        "password"
    )
    for hidden in HIDDEN:
        assert dialog.get_by_text(hidden, exact=True).count() == 0, hidden

    dialog.get_by_text("Extra Fields", exact=True).click()
    for name, field in entry["conn-fields"].items():
        label = dialog.get_by_text(field["label"], exact=True)
        label.first.wait_for()
        inputs = dialog.locator(f"[name='{name}']")
        if inputs.count():  # secrets are masked in the form
            secret = field["schema"].get("format") == "password"
            assert (inputs.first.get_attribute("type") == "password") is secret, name
    assert dialog.locator("input[type='password']").count() == 1 + sum(
        field["schema"].get("format") == "password" for field in entry["conn-fields"].values()
    )
    page.screenshot(path=screenshots / f"connection-form-{vendor}.png", full_page=True)


def add_connection(page: Page, live_url: str, vendor: str, conn_id: str, fields: dict[str, Any]) -> None:
    """Fill the add-connection form the way a user does, and save it."""
    entry = declared(vendor)
    labels = entry["ui-field-behaviour"]["relabeling"]
    dialog = open_add_form(page, live_url, entry["hook-name"])
    dialog.get_by_label("Connection ID").fill(conn_id)
    for field in ("host", "login", "password"):
        dialog.get_by_label(labels[field], exact=True).fill(fields[field])
    dialog.get_by_role("button", name="Save").click()
    page.get_by_role("row").filter(has_text=conn_id).wait_for()


# Airflow 3.3's UI sends ``port: Number(connection.port)``, i.e. 0 for a connection without a port,
# and the API then refuses the stored credentials ("The host or port to test differs from the
# stored connection"): every portless connection, ours included (the forms hide the port). Fixed
# upstream in apache/airflow#73298; until then these tests apply that fix to the request.
PORT_BUG = "The host or port to test differs from the stored connection"


def _drop_zero_port(route: Route) -> None:
    body = json.loads(route.request.post_data or "{}")
    if body.get("port") == 0:
        del body["port"]
    route.continue_(post_data=json.dumps(body))


def press_test_connection(page: Page, conn_id: str, *, work_around_port_bug: bool = True) -> dict[str, Any]:
    """Press the row's Test Connection button: the API's answer and the toast's text."""
    if work_around_port_bug:
        page.route("**/api/v2/connections/test", _drop_zero_port)
    button = page.get_by_role("row").filter(has_text=conn_id).get_by_role("button", name="Test Connection")
    with page.expect_response(lambda response: response.url.endswith("/api/v2/connections/test")) as answer:
        button.click()
    toast = page.get_by_role("status").filter(has_text=re.compile("Test Connection (Successful|Failed)"))
    toast.first.wait_for()
    return {"status": answer.value.status, "body": answer.value.json(), "toast": toast.first.inner_text()}


@pytest.mark.parametrize("vendor", VENDORS)
def test_test_connection_against_the_simulator(
    page: Page, finished_run: FinishedRun, simulator: SimulatorServer, screenshots: Path, vendor: str
) -> None:
    fields = simulator_credentials(simulator.url)[vendor]
    conn_id = f"ui_{vendor}"
    add_connection(page, finished_run.live.url, vendor, conn_id, fields)

    result = press_test_connection(page, conn_id)

    assert result["body"]["status"] is True, result
    assert "Test Connection Successful" in result["toast"], result
    assert result["body"]["message"] in result["toast"]
    assert fields["password"] not in page.content()
    page.screenshot(path=screenshots / f"test-connection-{vendor}.png", full_page=True)


def test_test_connection_reports_rejected_keys(
    page: Page, finished_run: FinishedRun, simulator: SimulatorServer, screenshots: Path
) -> None:
    fields = {**simulator_credentials(simulator.url)["baidu"], "password": "not-the-secret-key"}
    add_connection(page, finished_run.live.url, "baidu", "ui_baidu_wrong", fields)

    result = press_test_connection(page, "ui_baidu_wrong")

    assert result["body"]["status"] is False, result
    assert "Test Connection Failed" in result["toast"], result
    assert "invalid_client" in result["body"]["message"]
    assert "not-the-secret-key" not in page.content()
    page.screenshot(path=screenshots / "test-connection-failed.png", full_page=True)


def test_airflow_ui_still_sends_port_zero(
    page: Page, finished_run: FinishedRun, simulator: SimulatorServer
) -> None:
    """Pins the Airflow bug worked around above: when this fails, Airflow has the fix
    (apache/airflow#73298) and ``work_around_port_bug`` can go."""
    add_connection(
        page, finished_run.live.url, "jumdata", "ui_port_bug", simulator_credentials(simulator.url)["jumdata"]
    )

    result = press_test_connection(page, "ui_port_bug", work_around_port_bug=False)

    assert result["status"] == 400
    assert PORT_BUG in result["body"]["detail"]


def test_archive_task_shows_its_progress_logs_and_manifest_link(
    page: Page, finished_run: FinishedRun, s3: S3Server, screenshots: Path
) -> None:
    task_page = f"{finished_run.live.url}/dags/{DAG_ID}/runs/{finished_run.run_id}/tasks/archive"
    page.goto(task_page)
    for index in (0, 1):
        page.get_by_text(re.compile(f"Archived jumdata ai_draw output {index} of job")).wait_for()
    page.get_by_text(re.compile(r"Wrote s3://ui-archive/.+/manifest\.json: 2 object\(s\)")).wait_for()
    page.screenshot(path=screenshots / "archive-task-logs.png", full_page=True)

    page.goto(f"{task_page}/details")
    link = page.get_by_role("link", name="Archive manifest")
    href = link.get_attribute("href")
    assert href == console_url(finished_run.manifest_uri, finished_run.console_template)
    bucket, key = split_s3_uri(finished_run.manifest_uri)
    manifest = json.loads(s3.client.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert len(manifest["objects"]) == 2
    link.scroll_into_view_if_needed()
    page.screenshot(path=screenshots / "archive-extra-link.png", full_page=True)
