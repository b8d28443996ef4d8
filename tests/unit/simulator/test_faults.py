from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_aigc.simulator import ManualClock, SimulatorConfig, run_in_background
from tests.unit.simulator.helpers import Sim, zhipu_keys


def submit_raw(sim: Sim, vendor: str) -> Any:
    """One submit per vendor, returning the raw response."""
    if vendor == "zhipu":
        return sim.post("/v1/cogview", json={"key": "queue1", "query": "x", **zhipu_keys("cogview")})
    if vendor == "baidu":
        return sim.post(
            "/rpc/2.0/ernievilg/v1/txt2imgv2",
            params={"access_token": sim.baidu_token()},
            json={"prompt": "荷花"},
        )
    return sim.post("/ai/draw/submit", data=sim.jumdata_form(text="x", resolution="1024*1024", style="古风"))


def vendor_code(vendor: str, body: dict[str, Any]) -> int:
    return int(body[{"zhipu": "status", "baidu": "error_code", "jumdata": "code"}[vendor]])


VENDORS = ("zhipu", "baidu", "jumdata")


@pytest.mark.parametrize("vendor", VENDORS)
def test_http_5xx_next_n_fails_exactly_n_submits_and_creates_no_job(sim: Sim, vendor: str) -> None:
    sim.configure(
        {
            "faults": {vendor: {"submit": {"http_5xx": {"next": 2, "status": 502}}}},
            "concurrency": {"baidu": 0},
        }
    )

    statuses = [submit_raw(sim, vendor).status_code for _ in range(3)]

    assert statuses == [502, 502, 200]
    stats = sim.stats(vendor)
    assert stats["submissions"]["count"] == 1
    assert stats["errors_injected"] == {"total": 2, "submit.http_5xx": 2}
    assert sim.configure({})["faults"][vendor]["submit"]["http_5xx"]["next"] == 0


def test_http_5xx_body_is_not_json(sim: Sim) -> None:
    sim.configure({"faults": {"zhipu": {"status": {"http_5xx": {"probability": 1.0}}}}})

    response = sim.get("/v1/status", params={"task_id": "x"})

    assert response.status_code == 503
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)


@pytest.mark.parametrize(
    ("vendor", "fault", "code"),
    [
        ("zhipu", "rate_limit", 10003),
        ("zhipu", "quota", 10004),
        ("baidu", "rate_limit", 18),
        ("baidu", "quota", 17),
        ("jumdata", "rate_limit", 609),
    ],
)
def test_rate_limit_and_quota_faults_answer_the_vendor_default_code(
    sim: Sim, vendor: str, fault: str, code: int
) -> None:
    sim.configure({"faults": {vendor: {"submit": {fault: {"next": 1}}}}})

    assert vendor_code(vendor, submit_raw(sim, vendor).json()) == code
    assert submit_raw(sim, vendor).status_code == 200
    assert sim.stats(vendor)["submissions"]["count"] == 1


@pytest.mark.parametrize(
    ("vendor", "code", "fault"),
    [
        ("baidu", 13, "rate_limit"),
        ("baidu", 18, "rate_limit"),
        ("baidu", 4, "quota"),
        ("jumdata", 606, "rate_limit"),
    ],
)
def test_rate_limit_and_quota_codes_are_selectable(sim: Sim, vendor: str, code: int, fault: str) -> None:
    sim.configure({"faults": {vendor: {"submit": {fault: {"next": 1, "code": code}}}}})

    assert vendor_code(vendor, submit_raw(sim, vendor).json()) == code


@pytest.mark.parametrize(("vendor", "code"), [("baidu", 216630), ("jumdata", 610), ("zhipu", 10999)])
def test_error_fault_answers_any_code_on_status(sim: Sim, vendor: str, code: int) -> None:
    sim.configure({"faults": {vendor: {"status": {"error": {"next": 1, "code": code}}}}})
    if vendor == "zhipu":
        body = sim.get("/v1/status", params={"task_id": "x"}).json()
    elif vendor == "baidu":
        body = sim.baidu_status(sim.baidu_token(), 1)
    else:
        body = sim.jumdata_query("x")

    assert vendor_code(vendor, body) == code
    assert sim.stats(vendor)["polls"] == 1


@pytest.mark.parametrize("vendor", VENDORS)
def test_malformed_submit_still_creates_the_job(sim: Sim, vendor: str) -> None:
    sim.configure({"faults": {vendor: {"submit": {"malformed": {"next": 1}}}}})

    response = submit_raw(sim, vendor)

    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)
    assert sim.stats(vendor)["submissions"]["count"] == 1


def test_malformed_token_response(sim: Sim) -> None:
    sim.configure({"faults": {"baidu": {"token": {"malformed": {"next": 1}}}}})
    params = {
        "grant_type": "client_credentials",
        "client_id": "demo-baidu-api-key",
        "client_secret": "demo-baidu-secret-key",
    }

    with pytest.raises(json.JSONDecodeError):
        sim.post("/oauth/2.0/token", params=params).json()
    assert sim.stats("baidu")["tokens_issued"] == 1


def test_token_5xx_fault(sim: Sim) -> None:
    sim.configure({"faults": {"baidu": {"token": {"http_5xx": {"next": 1, "status": 500}}}}})

    assert sim.post("/oauth/2.0/token").status_code == 500
    assert sim.baidu_token()


def test_slow_fault_delays_then_answers_normally(sim: Sim) -> None:
    sim.configure({"faults": {"zhipu": {"status": {"slow": {"next": 1, "delay": 0.05}}}}})

    response = sim.get("/v1/status", params={"task_id": "0" * 16})

    assert response.status_code == 404  # the normal answer, after the delay
    assert sim.stats("zhipu")["errors_injected"] == {"total": 1, "status.slow": 1}


def test_slow_download_then_full_body(sim: Sim) -> None:
    sim.configure(
        {"latency": {"ai_draw": 0}, "faults": {"jumdata": {"download": {"slow": {"next": 1, "delay": 0.01}}}}}
    )
    url = sim.jumdata_query(sim.jumdata_submit()["data"]["taskId"])["data"]["img"]

    assert sim.http.get(url).content.startswith(b"\x89PNG")
    assert sim.stats("jumdata")["errors_injected"]["download.slow"] == 1


def test_probability_draws_are_repeatable_with_a_seed() -> None:
    config = SimulatorConfig(seed=42)

    def outcomes() -> list[int]:
        with run_in_background(config=config, clock=ManualClock()) as handle:
            sim = Sim(url=handle.url, clock=ManualClock())
            sim.configure({"faults": {"zhipu": {"status": {"http_5xx": {"probability": 0.5}}}}})
            return [sim.get("/v1/status", params={"task_id": "x"}).status_code for _ in range(30)]

    first = outcomes()
    assert first == outcomes()
    assert {503, 404} == set(first)


def test_faults_null_clears_every_rule(sim: Sim) -> None:
    sim.configure({"faults": {"zhipu": {"status": {"http_5xx": {"probability": 1.0}}}}})

    assert sim.configure({"faults": None})["faults"] == {}
    assert sim.get("/v1/status", params={"task_id": "x"}).status_code == 404
