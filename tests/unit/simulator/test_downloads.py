from __future__ import annotations

import logging
import subprocess
import sys
from typing import TYPE_CHECKING

import psutil
import pytest
import requests

from airflow_provider_aigc.simulator import SystemClock
from tests.conftest import free_port
from tests.unit.simulator.helpers import Sim, parse_png

if TYPE_CHECKING:
    from collections.abc import Callable

MiB = 2**20


def zhipu_url(sim: Sim) -> str:
    task_id = sim.zhipu_submit("cogview")["result"]["task_id"]
    sim.clock.advance(240)
    return str(sim.zhipu_status(task_id)["result"]["output"][0])


def baidu_url(sim: Sim) -> str:
    token = sim.baidu_token()
    task_id = sim.baidu_submit(token, width=640, height=360)["data"]["task_id"]
    sim.clock.advance(30)
    return str(
        sim.baidu_status(token, task_id)["data"]["sub_task_result_list"][0]["final_image_list"][0]["img_url"]
    )


def jumdata_url(sim: Sim) -> str:
    task_id = sim.jumdata_submit()["data"]["taskId"]
    sim.clock.advance(30)
    return str(sim.jumdata_query(task_id)["data"]["img"])


URLS: dict[str, Callable[[Sim], str]] = {"zhipu": zhipu_url, "baidu": baidu_url, "jumdata": jumdata_url}


@pytest.mark.parametrize("vendor", URLS)
def test_image_urls_serve_valid_pngs_with_content_length(sim: Sim, vendor: str) -> None:
    response = sim.http.get(URLS[vendor](sim))

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    assert int(response.headers["Content-Length"]) == len(response.content)
    png = parse_png(response.content)
    assert (png.width, png.height) == {"zhipu": (1024, 1024), "baidu": (640, 360), "jumdata": (1024, 1024)}[
        vendor
    ]
    assert sim.stats(vendor)["downloads"] == {"count": 1, "bytes": len(response.content)}


@pytest.mark.parametrize("vendor", URLS)
def test_urls_answer_403_once_their_ttl_has_passed(sim: Sim, vendor: str) -> None:
    # zhipu and baidu count from completion; jumdata from createTime, 30 s before completion here
    sim.configure({"url_ttl": {vendor: 5 + (30 if vendor == "jumdata" else 0)}})
    url = URLS[vendor](sim)
    sim.clock.advance(4)
    assert sim.http.get(url).status_code == 200

    sim.clock.advance(2)
    expired = sim.http.get(url)

    assert expired.status_code == 403
    assert "expired" in expired.text


@pytest.mark.parametrize("vendor", URLS)
def test_tampered_urls_answer_403(sim: Sim, vendor: str) -> None:
    url = URLS[vendor](sim)
    tampered = url.replace("e=", "e=9") if vendor != "baidu" else url.replace("%2F3600%2F", "%2F9999%2F")

    assert sim.http.get(tampered).status_code == 403


def test_download_5xx_fault_then_the_image(sim: Sim) -> None:
    sim.configure({"faults": {"baidu": {"download": {"http_5xx": {"next": 1, "status": 500}}}}})
    url = baidu_url(sim)

    assert sim.http.get(url).status_code == 500
    assert sim.http.get(url).status_code == 200
    assert sim.stats("baidu")["downloads"]["count"] == 1


def test_urls_use_the_host_the_client_used(sim: Sim) -> None:
    task_id = sim.zhipu_submit("cogview")["result"]["task_id"]
    sim.clock.advance(240)

    body = sim.get(
        "/v1/status", params={"task_id": task_id}, headers={"Host": f"localhost:{sim.port}"}
    ).json()

    assert body["result"]["output"][0].startswith(f"http://localhost:{sim.port}/api/cogview/get-image/")


def test_urls_of_jobs_forgotten_by_a_reset_answer_404(sim: Sim) -> None:
    url = zhipu_url(sim)
    sim.post("/_sim/reset")

    assert sim.http.get(url).status_code == 404


def test_image_bytes_pads_every_download(sim: Sim) -> None:
    sim.configure({"image_bytes": 3 * MiB + 7})
    response = sim.http.get(baidu_url(sim))

    assert len(response.content) == 3 * MiB + 7
    assert parse_png(response.content).width == 640


def test_head_requests_get_the_length_without_the_body(sim: Sim) -> None:
    sim.configure({"image_bytes": MiB})
    response = sim.http.head(zhipu_url(sim))

    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(MiB)
    assert response.content == b""
    assert sim.stats("zhipu")["downloads"]["count"] == 0


def test_truncate_fault_closes_the_connection_half_way(sim: Sim) -> None:
    sim.configure({"image_bytes": 4 * MiB, "faults": {"jumdata": {"download": {"truncate": {"next": 1}}}}})
    url = jumdata_url(sim)

    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(url, timeout=30)
    assert len(requests.get(url, timeout=30).content) == 4 * MiB  # next: 1, so the retry is whole
    assert sim.stats("jumdata")["errors_injected"] == {"total": 1, "download.truncate": 1}


def test_endless_fault_streams_until_the_client_stops_reading(
    sim: Sim, caplog: pytest.LogCaptureFixture
) -> None:
    sim.configure({"faults": {"zhipu": {"download": {"endless": {"next": 1}}}}})
    url = zhipu_url(sim)

    with requests.get(url, stream=True, timeout=30) as response:
        assert "Content-Length" not in response.headers
        received = 0
        for piece in response.iter_content(MiB):
            received += len(piece)
            if received > 20 * MiB:
                break

    assert received > 20 * MiB
    assert parse_png(sim.http.get(url).content).width == 1024  # the fault fired once
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]  # a quiet hang-up


def test_a_64_mib_image_streams_with_bounded_server_memory() -> None:
    """The CLI server in a subprocess: its RSS must not grow by anything like the image size."""
    port = free_port()
    command = [sys.executable, "-m", "airflow_provider_aigc.simulator", "--port", str(port)]
    process = subprocess.Popen([*command, "--image-bytes", str(64 * MiB)], stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None
        assert b"listening on" in process.stdout.readline()
        sim = Sim(url=f"http://127.0.0.1:{port}", clock=SystemClock())
        sim.configure({"latency": {"ai_draw": 0}})
        url = sim.jumdata_query(sim.jumdata_submit()["data"]["taskId"])["data"]["img"]
        server = psutil.Process(process.pid)
        baseline = peak = server.memory_info().rss
        received = 0
        with requests.get(url, stream=True, timeout=60) as response:
            assert response.headers["Content-Length"] == str(64 * MiB)
            for piece in response.iter_content(MiB):
                received += len(piece)
                peak = max(peak, server.memory_info().rss)

        assert received == 64 * MiB
        assert peak - baseline < 16 * MiB
    finally:
        process.terminate()
        process.wait(timeout=10)
