from __future__ import annotations

from typing import TYPE_CHECKING

import requests

from airflow_provider_aigc.simulator.config import (
    DEFAULT_CONCURRENCY,
    DEFAULT_LATENCY,
    DEFAULT_URL_TTL,
    VENDORS,
)

if TYPE_CHECKING:
    from tests.unit.simulator.helpers import Sim


def test_health(sim: Sim) -> None:
    response = sim.get("/_sim/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_stats_count_submissions_with_prompts_polls_and_requests(sim: Sim) -> None:
    task_id = sim.zhipu_submit("news_generate", content="春天来了")["result"]["task_id"]
    sim.zhipu_status(task_id)
    sim.zhipu_status(task_id)

    stats = sim.stats()

    zhipu = stats["vendors"]["zhipu"]
    assert zhipu["submissions"]["count"] == 1
    (job,) = zhipu["submissions"]["jobs"]
    assert (job["job_id"], job["app"], job["prompt"]) == (task_id, "news_generate", "春天来了")
    assert job["submitted_at"] == sim.clock.now()
    assert zhipu["polls"] == 2
    assert zhipu["active_jobs"] == 1
    assert zhipu["downloads"] == {"count": 0, "bytes": 0}
    assert zhipu["errors_injected"] == {"total": 0}
    assert set(stats["vendors"]) == set(VENDORS)
    assert stats["requests_total"] == 4  # submit, two polls, and this stats call


def test_connections_opened_counts_tcp_connections_at_the_server(sim: Sim) -> None:
    before = sim.stats()["connections_opened"]
    for _ in range(3):
        with requests.Session() as fresh:  # a new session, a new connection
            fresh.get(sim.url + "/_sim/health", timeout=10)
    for _ in range(3):
        sim.get("/_sim/health")  # keep-alive: the fixture's one connection

    assert sim.stats()["connections_opened"] == before + 3


def test_reset_forgets_jobs_and_stats_but_keeps_config(sim: Sim) -> None:
    sim.configure({"speed": 4})
    task_id = sim.zhipu_submit("cogview")["result"]["task_id"]

    assert sim.post("/_sim/reset").json() == {"status": "ok"}

    assert sim.get("/v1/status", params={"task_id": task_id}).status_code == 404
    assert sim.stats("zhipu")["submissions"] == {"count": 0, "jobs": []}
    assert sim.configure({})["speed"] == 4


def test_reset_with_config_restores_the_start_up_config(sim: Sim) -> None:
    sim.configure({"speed": 4, "faults": {"baidu": {"submit": {"quota": {"next": 3}}}}})

    sim.post("/_sim/reset", json={"config": True})

    config = sim.get("/_sim/config").json()
    assert (config["speed"], config["faults"], config["seed"]) == (1.0, {}, 7)


def test_reset_forgets_baidu_tokens(sim: Sim) -> None:
    token = sim.baidu_token()
    sim.post("/_sim/reset")

    assert sim.baidu_submit(token)["error_code"] == 110


def test_config_post_merges_and_returns_the_full_config(sim: Sim) -> None:
    config = sim.configure({"latency": {"cogview": 10}, "concurrency": {"baidu": 5}})

    assert config["latency"] == {**DEFAULT_LATENCY, "cogview": 10.0}
    assert config["concurrency"] == {**DEFAULT_CONCURRENCY, "baidu": 5}
    assert config["url_ttl"] == DEFAULT_URL_TTL


def test_invalid_config_is_400_and_changes_nothing(sim: Sim) -> None:
    before = sim.get("/_sim/config").json()

    for patch in ({"speed": 0}, {"bogus": 1}, {"faults": {"jumdata": {"submit": {"quota": {"next": 1}}}}}):
        response = sim.post("/_sim/config", json=patch)
        assert response.status_code == 400
        assert response.json()["error"]
    assert sim.post("/_sim/config", data="[1]").status_code == 400
    assert sim.get("/_sim/config").json() == before


def test_speed_divides_latency_for_new_jobs(sim: Sim) -> None:
    sim.configure({"speed": 20})
    task_id = sim.zhipu_submit("cogview")["result"]["task_id"]
    sim.clock.advance(12)

    assert sim.zhipu_status(task_id)["result"]["status"] == "finish"


def test_clock_advance_completes_jobs_and_never_goes_back(sim: Sim) -> None:
    start = sim.get("/_sim/clock").json()["now"]
    task_id = sim.zhipu_submit("cogview")["result"]["task_id"]

    assert sim.post("/_sim/clock", json={"advance": 240}).json() == {"now": start + 240}
    assert sim.zhipu_status(task_id)["result"]["status"] == "finish"
    assert sim.post("/_sim/clock", json={"advance": -1}).status_code == 400
