from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest

if TYPE_CHECKING:
    from tests.unit.simulator.helpers import Sim

SHANGHAI = timezone(timedelta(hours=8))


def test_submit_answers_a_task_id_and_charges(sim: Sim) -> None:
    body = sim.jumdata_submit(num="2")

    assert (body["code"], body["msg"], body["charge"]) == (200, "成功", True)
    assert re.fullmatch(r"\d{24}", body["taskNo"])
    assert re.fullmatch(r"[0-9a-f]{32}", body["data"]["taskId"])


def test_query_while_running_then_done_with_resolution_sized_images(sim: Sim) -> None:
    task_id = sim.jumdata_submit(num="3", resolution="1024*1536")["data"]["taskId"]
    created = datetime.fromtimestamp(int(sim.clock.now()), SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")

    running = sim.jumdata_query(task_id)
    assert (running["code"], running["charge"]) == (200, False)
    assert running["data"] == {"img": "", "imgUrls": [], "createTime": created, "status": 0}

    sim.clock.advance(30)
    done = sim.jumdata_query(task_id)["data"]
    assert done["status"] == 1
    assert done["createTime"] == created
    urls = [item["image"] for item in done["imgUrls"]]
    assert len(urls) == 3
    assert done["img"] == urls[0]
    for index, url in enumerate(urls):
        assert url.startswith(f"{sim.url}/jumdata-ai/draw/{task_id}/{index}.png?e=")
    response = sim.http.get(urls[2])
    assert response.status_code == 200
    assert response.content[16:24] == (1024).to_bytes(4, "big") + (1536).to_bytes(4, "big")


def test_multipart_bodies_are_accepted(sim: Sim) -> None:
    form = sim.jumdata_form(text="雪山", resolution="1536*1024", style="low poly")
    body = sim.post("/ai/draw/submit", files={name: (None, value) for name, value in form.items()}).json()

    assert body["code"] == 200


def test_urls_expire_three_calendar_months_after_create_time_by_default(sim: Sim) -> None:
    task_id = sim.jumdata_submit()["data"]["taskId"]
    created = datetime.fromtimestamp(int(sim.clock.now()), SHANGHAI)
    sim.clock.advance(30)

    url = sim.jumdata_query(task_id)["data"]["img"]

    expires = int(parse_qs(urlsplit(url).query)["e"][0])
    month = created.month + 3
    expected = created.replace(year=created.year + (month - 1) // 12, month=(month - 1) % 12 + 1)
    assert expires == int(expected.timestamp())


def test_unknown_app_id_is_601(sim: Sim) -> None:
    form = sim.jumdata_form(text="x", resolution="1024*1024", style="古风")
    form["appId"] = "someone-else"

    assert sim.post("/ai/draw/submit", data=form).json()["code"] == 601


def test_bad_sign_is_refused(sim: Sim) -> None:
    form = sim.jumdata_form(text="x", resolution="1024*1024", style="古风")
    form["sign"] = "0" * 64

    body = sim.post("/ai/draw/submit", data=form).json()

    assert (body["code"], body["msg"], body["charge"]) == (400, "签名错误", False)
    assert "data" not in body


def test_stale_timestamp_is_refused_outside_the_window(sim: Sim) -> None:
    form = sim.jumdata_form(text="x", resolution="1024*1024", style="古风")
    sim.clock.advance(301)

    body = sim.post("/ai/draw/submit", data=form).json()

    assert (body["code"], body["msg"]) == (400, "timestamp已过期")
    assert sim.stats("jumdata")["submissions"]["count"] == 0


def test_timestamp_inside_the_window_is_accepted(sim: Sim) -> None:
    form = sim.jumdata_form(text="x", resolution="1024*1024", style="古风")
    sim.clock.advance(299)

    assert sim.post("/ai/draw/submit", data=form).json()["code"] == 200


def test_moderated_text_is_refused_at_submit_with_202(sim: Sim) -> None:
    body = sim.jumdata_submit(text="违禁内容")

    assert (body["code"], body["msg"]) == (202, "文本黄反拦截")
    assert sim.stats("jumdata")["submissions"]["count"] == 0


def test_unknown_task_is_201(sim: Sim) -> None:
    assert sim.jumdata_query("f" * 32)["code"] == 201


def test_task_ids_are_valid_for_one_month(sim: Sim) -> None:
    task_id = sim.jumdata_submit()["data"]["taskId"]

    sim.clock.advance(27 * 86400)
    assert sim.jumdata_query(task_id)["code"] == 200
    sim.clock.advance(5 * 86400)
    assert sim.jumdata_query(task_id)["code"] == 201


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"style": "印象派"}, "风格值不正确"),
        ({"resolution": "512*512"}, "分辨率不正确"),
        ({"num": "7"}, "num取值范围为1-6"),
        ({"text": "字" * 101}, "text长度不能超过100个字"),
        ({"text": ""}, "text不能为空"),
    ],
)
def test_submit_checks_documented_limits(sim: Sim, fields: dict[str, str], message: str) -> None:
    body = sim.jumdata_submit(**fields)

    assert (body["code"], body["msg"]) == (400, message)


def test_json_bodies_are_not_forms(sim: Sim) -> None:
    body = sim.post(
        "/ai/draw/submit", json=sim.jumdata_form(text="x", resolution="1024*1024", style="古风")
    ).json()

    assert (body["code"], body["msg"]) == (400, "appId不能为空")
