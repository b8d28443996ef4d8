from __future__ import annotations

import re

import pytest

from tests.unit.simulator.helpers import ZHIPU, Sim, zhipu_key, zhipu_keys

RFC1123 = re.compile(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$")


def test_cogview_submit_answers_the_documented_waiting_shape(sim: Sim) -> None:
    body = sim.zhipu_submit("cogview")

    assert body["status"] == 0
    assert body["message"] == "success"
    result = body["result"]
    assert result["app"] == "cogview"
    assert re.fullmatch(r"[0-9a-f]{16}", result["task_id"])
    assert result["input"] == {"text": "美国男篮大战中国男篮"}
    assert result["key"] == "queue1"
    assert result["status"] == "wait"
    assert result["progress"] == {"value": "0%"}
    assert result["output"] == {}
    assert result["process_time"] == 0
    assert RFC1123.match(result["created_at"])
    assert RFC1123.match(result["updated_at"])
    assert set(result["user"]) == {"appId", "id", "name"}


def test_cogview_progress_rises_then_four_image_urls_appear(sim: Sim) -> None:
    task_id = sim.zhipu_submit("cogview")["result"]["task_id"]
    seen = []
    for _ in range(5):
        result = sim.zhipu_status(task_id)["result"]
        assert result["status"] == "wait"
        assert result["output"] == {}
        seen.append(int(result["progress"]["value"].rstrip("%")))
        sim.clock.advance(47)  # default CogView latency is 240 s

    assert seen[0] == 0
    assert seen == sorted(seen)
    assert 0 < seen[-1] < 100
    sim.clock.advance(10)
    result = sim.zhipu_status(task_id)["result"]
    assert result["status"] == "finish"
    assert result["progress"] == {"value": "100%"}
    assert result["process_time"] == pytest.approx(240.0)
    assert len(result["output"]) == 4
    for index, url in enumerate(result["output"]):
        assert re.fullmatch(
            rf"{sim.url}/api/cogview/get-image/{task_id}/\d+/{index}\.png\?e=\d+&s=[0-9a-f]{{64}}", url
        )


def test_both_documented_bases_and_form_bodies_are_accepted(sim: Sim) -> None:
    form = {"key": "queue1", "query": "埃及高原", **zhipu_keys("cogview")}
    via_api = sim.post("/api/v1/cogview", data=form).json()
    task_id = via_api["result"]["task_id"]

    assert via_api["status"] == 0
    assert sim.get("/api/v1/status", params={"task_id": task_id}).json()["result"]["task_id"] == task_id
    assert sim.get("/v1/status", params={"task_id": task_id}).json()["result"]["input"] == {
        "text": "埃及高原"
    }


def test_news_completes_with_chinese_text_within_max_length(sim: Sim) -> None:
    submitted = sim.zhipu_submit("news_generate", max_length=30)
    task_id = submitted["result"]["task_id"]
    assert re.fullmatch(r"[0-9a-f]{24}", task_id)
    assert submitted["result"]["input"] == {"content": "神州十三号飞船发射成功", "max_length": 30}

    sim.clock.advance(2)
    result = sim.zhipu_status(task_id)["result"]

    assert result["app"] == "news_generate"
    text = result["output"]["text"]
    assert 0 < len(text) <= 30
    assert re.search(r"[\u4e00-\u9fff]", text)
    assert result["process_time"] > 0
    assert sim.zhipu_status(task_id)["result"]["output"]["text"] == text  # deterministic


def test_console_keys_work_for_every_app(sim: Sim) -> None:
    console = {"apikey": ZHIPU["apikey"], "apisecret": ZHIPU["apisecret"]}

    assert sim.zhipu_submit("cogview", keys=console)["status"] == 0
    assert sim.zhipu_submit("news_generate", keys=console)["status"] == 0


def test_keys_derived_for_the_other_api_are_refused_with_10001(sim: Sim) -> None:
    body = sim.zhipu_submit("cogview", keys=zhipu_keys("news_generate"))

    assert body["status"] == 10001
    assert sim.stats("zhipu")["submissions"]["count"] == 0


@pytest.mark.parametrize(
    "keys",
    [
        pytest.param({"apikey": "garbage", "apisecret": "garbage"}, id="not-base64"),
        pytest.param(
            {
                "apikey": zhipu_key("cogview", ZHIPU["app_key"], des3_key="another-des3-key-24bytes"),
                "apisecret": zhipu_key("cogview", ZHIPU["app_secret"], des3_key="another-des3-key-24bytes"),
            },
            id="wrong-des3-key",
        ),
        pytest.param(
            {"apikey": zhipu_key("cogview", "someone-else"), "apisecret": zhipu_key("cogview", "nope")},
            id="unknown-app-key",
        ),
        pytest.param({"apikey": zhipu_keys("cogview")["apikey"]}, id="missing-secret"),
    ],
)
def test_keys_that_do_not_decrypt_to_ours_are_refused_with_10002(sim: Sim, keys: dict[str, str]) -> None:
    body = sim.post("/v1/cogview", json={"key": "queue1", "query": "x", **keys}).json()

    assert body == {"status": 10002, "message": "apikey校验不成功", "result": {}}


def test_unknown_task_is_404_with_envelope(sim: Sim) -> None:
    response = sim.get("/v1/status", params={"task_id": "0123456789abcdef"})

    assert response.status_code == 404
    assert response.json()["status"] == 404


def test_missing_prompt_is_http_400(sim: Sim) -> None:
    response = sim.post("/v1/news", json={"key": "queue1", "content": "x", **zhipu_keys("news_generate")})

    assert response.status_code == 400
    assert "max_length" in response.json()["message"]


def test_job_failure_fault_ends_in_status_failed(sim: Sim) -> None:
    sim.configure({"faults": {"zhipu": {"submit": {"job_failure": {"next": 1}}}}})
    failing = sim.zhipu_submit("cogview")["result"]["task_id"]
    fine = sim.zhipu_submit("cogview")["result"]["task_id"]
    sim.clock.advance(240)

    failed = sim.zhipu_status(failing)["result"]
    assert failed["status"] == "failed"
    assert isinstance(failed["error"], str)
    assert failed["output"] == {}
    assert sim.zhipu_status(fine)["result"]["status"] == "finish"


def test_done_results_carry_every_field_of_the_documents_examples(sim: Sim) -> None:
    cogview = sim.zhipu_submit("cogview")["result"]["task_id"]
    news = sim.zhipu_submit("news_generate")["result"]["task_id"]
    sim.clock.advance(240)

    cogview_done = sim.zhipu_status(cogview)["result"]
    news_done = sim.zhipu_status(news)["result"]

    # the keys of "情况2:模型结束运行" in zhipu_cogview_api.md and zhipu_news_generate_api.md
    assert {"app", "created_at", "id", "input", "output", "process_time", "updated_at", "user"} <= set(
        cogview_done
    )
    assert {"app", "created_at", "input", "output", "process_time", "task_id", "updated_at", "user"} <= set(
        news_done
    )
    assert isinstance(cogview_done["output"], list)
    assert isinstance(news_done["process_time"], float)
