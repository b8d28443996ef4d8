from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from tests.unit.simulator.helpers import BAIDU, Sim

TOKEN_PATH = "/oauth/2.0/token"


def test_token_endpoint_issues_a_30_day_token(sim: Sim) -> None:
    params = {
        "grant_type": "client_credentials",
        "client_id": BAIDU["api_key"],
        "client_secret": BAIDU["secret_key"],
    }
    body = sim.post(TOKEN_PATH, params=params).json()

    assert body["expires_in"] == 2592000
    assert re.fullmatch(r"24\.[0-9a-f]{32}\.2592000\.\d+\.\d+-\d+", body["access_token"])
    assert {"refresh_token", "scope", "session_key", "session_secret"} <= set(body)
    assert sim.get(TOKEN_PATH, params=params).json()["access_token"] != body["access_token"]
    assert sim.stats("baidu")["tokens_issued"] == 2


@pytest.mark.parametrize(
    ("params", "status", "error"),
    [
        ({"client_id": "nobody", "client_secret": BAIDU["secret_key"]}, 401, "invalid_client"),
        ({"client_id": BAIDU["api_key"], "client_secret": "wrong"}, 401, "invalid_client"),
        ({"grant_type": "password", "client_id": BAIDU["api_key"]}, 400, "unsupported_grant_type"),
    ],
)
def test_token_endpoint_refuses_bad_clients(
    sim: Sim, params: dict[str, str], status: int, error: str
) -> None:
    response = sim.post(TOKEN_PATH, params={"grant_type": "client_credentials", **params})

    assert response.status_code == status
    assert response.json()["error"] == error


def test_submit_returns_the_same_19_digits_as_long_and_string(sim: Sim) -> None:
    body = sim.baidu_submit(sim.baidu_token())

    assert isinstance(body["log_id"], int)
    data = body["data"]
    assert isinstance(data["primary_task_id"], int)
    assert re.fullmatch(r"\d{19}", data["task_id"])
    assert str(data["primary_task_id"]) == data["task_id"]


def test_get_img_moves_through_init_wait_running_success(sim: Sim) -> None:
    token = sim.baidu_token()
    data = sim.baidu_submit(token, width=512, height=512, image_num=3)["data"]
    statuses = []
    for _ in range(4):
        body = sim.baidu_status(token, data["primary_task_id"])
        assert set(body) == {"log_id", "data"}
        task = body["data"]
        assert task["task_id"] == data["primary_task_id"]
        assert task["task_progress"] == 0
        assert len(task["sub_task_result_list"]) == 3
        for sub in task["sub_task_result_list"]:
            assert sub == {
                "final_image_list": [],
                "sub_task_error_code": 0,
                "sub_task_progress": 0,
                "sub_task_status": task["task_status"],
            }
        statuses.append(task["task_status"])
        sim.clock.advance(1 if len(statuses) < 3 else 10)

    assert statuses == ["INIT", "INIT", "WAIT", "RUNNING"]
    sim.clock.advance(30)
    task = sim.baidu_status(token, data["task_id"])["data"]  # the string id works too
    assert (task["task_status"], task["task_progress"]) == ("SUCCESS", 1)
    for index, sub in enumerate(task["sub_task_result_list"]):
        assert (sub["sub_task_status"], sub["sub_task_progress"], sub["sub_task_error_code"]) == (
            "SUCCESS",
            1,
            0,
        )
        (image,) = sub["final_image_list"]
        assert (image["width"], image["height"], image["img_approve_conclusion"]) == (512, 512, "pass")
        assert urlsplit(image["img_url"]).path == f"/aigc-t2p/artist-long/{data['task_id']}_{index}_final.png"


def test_image_url_carries_a_bce_authorization_that_says_when_it_expires(sim: Sim) -> None:
    token = sim.baidu_token()
    task_id = sim.baidu_submit(token)["data"]["task_id"]
    sim.clock.advance(30)
    url = sim.baidu_status(token, task_id)["data"]["sub_task_result_list"][0]["final_image_list"][0][
        "img_url"
    ]

    assert "authorization=bce-auth-v1%2F" in url
    assert "%3A" in url
    auth = parse_qs(urlsplit(url).query)["authorization"][0]
    version, access_key, stamp, seconds, host, signature = unquote(auth).split("/")
    assert (version, host, seconds) == ("bce-auth-v1", "host", "3600")
    assert re.fullmatch(r"[0-9a-f]{32}", access_key)
    assert re.fullmatch(r"[0-9a-f]{64}", signature)
    signed_at = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
    assert signed_at == int(sim.clock.now())


def test_invalid_and_missing_tokens_answer_110(sim: Sim) -> None:
    assert sim.baidu_submit("24.not-a-token")["error_code"] == 110
    response = sim.post("/rpc/2.0/ernievilg/v1/getImgv2", json={"task_id": 1})
    assert response.json()["error_code"] == 110
    assert set(response.json()) == {"error_code", "error_msg", "log_id"}


def test_token_expires_after_its_ttl_with_111(sim: Sim) -> None:
    token = sim.baidu_token()
    sim.clock.advance(2592000)

    body = sim.baidu_submit(token)

    assert body["error_code"] == 111
    assert "data" in sim.baidu_submit(sim.baidu_token())  # a fresh token works again


def test_token_max_calls_expires_a_token_after_n_calls(sim: Sim) -> None:
    sim.configure({"token_max_calls": 2, "concurrency": {"baidu": 0}})
    token = sim.baidu_token()

    assert "data" in sim.baidu_submit(token)
    assert "data" in sim.baidu_submit(token)
    assert sim.baidu_submit(token)["error_code"] == 111


def test_token_ttl_is_configurable(sim: Sim) -> None:
    sim.configure({"token_ttl": 60})
    params = {
        "grant_type": "client_credentials",
        "client_id": BAIDU["api_key"],
        "client_secret": BAIDU["secret_key"],
    }
    token = sim.post(TOKEN_PATH, params=params).json()

    assert token["expires_in"] == 60
    sim.clock.advance(60)
    assert sim.baidu_submit(token["access_token"])["error_code"] == 111


def test_the_documented_default_concurrency_of_2_answers_15_beyond_it(sim: Sim) -> None:
    token = sim.baidu_token()
    assert "data" in sim.baidu_submit(token)
    assert "data" in sim.baidu_submit(token)

    third = sim.baidu_submit(token)

    assert third["error_code"] == 15
    assert third["error_msg"] == "并发超限"
    sim.clock.advance(30)  # the first two finish
    assert "data" in sim.baidu_submit(token)
    assert sim.stats("baidu")["rejections"] == {"15": 1}


def test_a_configured_submit_rate_answers_18_beyond_it_within_one_second(sim: Sim) -> None:
    sim.configure({"submit_rate": {"baidu": 2}, "concurrency": {"baidu": 0}})
    token = sim.baidu_token()
    assert "data" in sim.baidu_submit(token)
    assert "data" in sim.baidu_submit(token)

    third = sim.baidu_submit(token)

    assert (third["error_code"], third["error_msg"]) == (18, "Open api qps request limit reached")
    sim.clock.advance(1)  # the next second
    assert "data" in sim.baidu_submit(token)
    assert sim.stats("baidu")["rejections"] == {"18": 1}
    assert sim.stats("baidu")["submissions"]["count"] == 3


def test_concurrency_limit_is_configurable_and_zero_means_unlimited(sim: Sim) -> None:
    sim.configure({"concurrency": {"baidu": 0}})
    token = sim.baidu_token()

    assert all("data" in sim.baidu_submit(token) for _ in range(5))
    assert sim.stats("baidu")["active_jobs"] == 5


def test_moderated_prompt_fails_every_sub_task_with_501_at_once(sim: Sim) -> None:
    token = sim.baidu_token()
    task_id = sim.baidu_submit(token, prompt="一幅违禁的画", image_num=4)["data"]["task_id"]

    task = sim.baidu_status(token, task_id)["data"]

    assert (task["task_status"], task["task_progress"]) == ("FAILED", 1)
    assert (
        task["sub_task_result_list"]
        == [{"sub_task_error_code": 501, "sub_task_progress": 0, "sub_task_status": "FAILED"}] * 4
    )


def _finished_task_with_fault(sim: Sim, fault: str, *, image_num: int) -> dict[str, Any]:
    """The status of a job submitted with the submit ``fault`` armed, once its time has passed."""
    sim.configure({"faults": {"baidu": {"submit": {fault: {"next": 1}}}}})
    token = sim.baidu_token()
    task_id = sim.baidu_submit(token, image_num=image_num)["data"]["task_id"]
    sim.clock.advance(30)
    return dict(sim.baidu_status(token, task_id)["data"])


def test_job_failure_fails_every_sub_task_with_201(sim: Sim) -> None:
    task = _finished_task_with_fault(sim, "job_failure", image_num=2)

    assert task["task_status"] == "FAILED"
    assert [sub["sub_task_error_code"] for sub in task["sub_task_result_list"]] == [201, 201]


def test_partial_failure_succeeds_with_the_last_sub_task_failed(sim: Sim) -> None:
    task = _finished_task_with_fault(sim, "partial_failure", image_num=3)

    assert task["task_status"] == "SUCCESS"
    assert [sub["sub_task_status"] for sub in task["sub_task_result_list"]] == [
        "SUCCESS",
        "SUCCESS",
        "FAILED",
    ]
    assert task["sub_task_result_list"][2]["sub_task_error_code"] == 201


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"prompt": ""}, 282003),
        ({"prompt": "长" * 201}, 282004),
        ({"width": 512, "height": 512, "version": "v1"}, 216100),
        ({"width": 1000}, 216100),
        ({"image_num": 9}, 216100),
        ({"image": "aGVsbG8="}, 282003),
        ({"url": "http://example.invalid/a.png", "change_degree": 11}, 216100),
        ({"version": "v3"}, 216100),
    ],
)
def test_submit_checks_documented_limits(sim: Sim, body: dict[str, object], code: int) -> None:
    assert sim.baidu_submit(sim.baidu_token(), **body)["error_code"] == code


def test_unknown_or_missing_task_id(sim: Sim) -> None:
    token = sim.baidu_token()

    assert sim.baidu_status(token, 1234567890123456789)["error_code"] == 282004
    response = sim.post("/rpc/2.0/ernievilg/v1/getImgv2", params={"access_token": token}, json={})
    assert response.json()["error_code"] == 282003
