"""The simulator speaks DashScope as documented: the async header rule, Bearer auth, the three
create paths, task states by the clock, UNKNOWN after 24 hours, expiring OSS-style URLs,
per-image partial failure, the listing, cancel while PENDING, and the per-model concurrency and
submit rate limits (the knobs replace them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.unit.simulator.helpers import parse_png

if TYPE_CHECKING:
    import requests

    from tests.unit.simulator.helpers import Sim

KEY = {"Authorization": "Bearer sk-demo-dashscope-api-key"}
ASYNC = {**KEY, "X-DashScope-Async": "enable"}
SYNTHESIS = "/api/v1/services/aigc/text2image/image-synthesis"
GENERATION = "/api/v1/services/aigc/image-generation/generation"
VIDEO = "/api/v1/services/aigc/video-generation/video-synthesis"


def _create(sim: Sim, path: str, body: dict[str, Any], headers: dict[str, str] = ASYNC) -> requests.Response:
    return sim.post(path, json=body, headers=headers)


def _image(sim: Sim, **parameters: Any) -> str:
    body = {"model": "wan2.2-t2i-flash", "input": {"prompt": "一只狐狸"}, "parameters": parameters}
    answer = _create(sim, SYNTHESIS, body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["output"]["task_status"] == "PENDING"
    return str(answer.json()["output"]["task_id"])


def _task(sim: Sim, task_id: str) -> dict[str, Any]:
    answer = sim.get(f"/api/v1/tasks/{task_id}", headers=KEY)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_create_needs_the_async_header_and_a_valid_key(sim: Sim) -> None:
    body = {"model": "wan2.2-t2i-flash", "input": {"prompt": "p"}}

    no_async = _create(sim, SYNTHESIS, body, headers=KEY)
    wrong_key = _create(sim, SYNTHESIS, body, headers={**ASYNC, "Authorization": "Bearer sk-wrong"})

    assert no_async.status_code == 403
    assert no_async.json()["message"] == "current user api does not support synchronous calls"
    assert (wrong_key.status_code, wrong_key.json()["code"]) == (401, "InvalidApiKey")
    assert sim.stats("dashscope")["submissions"]["count"] == 0


def test_image_task_runs_by_the_clock_and_defaults_to_four_images(sim: Sim) -> None:
    task_id = _image(sim)

    assert _task(sim, task_id)["output"]["task_status"] == "PENDING"
    sim.clock.advance(30)
    assert _task(sim, task_id)["output"]["task_status"] == "RUNNING"
    sim.clock.advance(30)
    done = _task(sim, task_id)

    assert done["output"]["task_status"] == "SUCCEEDED"
    assert len(done["output"]["results"]) == 4  # the vendor's own default n
    assert done["usage"] == {"image_count": 4}
    url = done["output"]["results"][0]["url"]
    assert "?Expires=" in url
    assert "&Signature=" in url
    png = parse_png(sim.http.get(url, timeout=30).content)
    assert (png.width, png.height) == (1024, 1024)


def test_urls_and_tasks_expire_after_24_hours(sim: Sim) -> None:
    task_id = _image(sim, n=1)
    sim.clock.advance(60)
    url = _task(sim, task_id)["output"]["results"][0]["url"]

    sim.clock.advance(86400)

    assert sim.http.get(url, timeout=30).status_code == 403
    assert _task(sim, task_id)["output"] == {"task_id": task_id, "task_status": "UNKNOWN"}
    assert _task(sim, "never-existed")["output"]["task_status"] == "UNKNOWN"


def test_a_tampered_url_is_refused(sim: Sim) -> None:
    task_id = _image(sim, n=1)
    sim.clock.advance(60)
    url = _task(sim, task_id)["output"]["results"][0]["url"]

    assert sim.http.get(url.replace("Expires=", "Expires=9"), timeout=30).status_code == 403


def test_partial_failure_mixes_urls_and_codes_and_bills_the_images(sim: Sim) -> None:
    sim.configure({"faults": {"dashscope": {"submit": {"partial_failure": {"next": 1}}}}})
    task_id = _image(sim, n=3)
    sim.clock.advance(60)

    output = _task(sim, task_id)

    results = output["output"]["results"]
    assert [("url" in item, item.get("code")) for item in results] == [
        (True, None),
        (True, None),
        (False, "DataInspectionFailed"),
    ]
    assert output["output"]["task_metrics"] == {"TOTAL": 3, "SUCCEEDED": 2, "FAILED": 1}
    assert output["usage"] == {"image_count": 2}


def test_wan26_image_protocol_answers_choices(sim: Sim) -> None:
    body = {
        "model": "wan2.6-t2i",
        "input": {"messages": [{"role": "user", "content": [{"text": "a fox"}]}]},
        "parameters": {"n": 1},
    }
    task_id = _create(sim, GENERATION, body).json()["output"]["task_id"]
    sim.clock.advance(60)

    output = _task(sim, task_id)["output"]

    (choice,) = output["choices"]
    assert choice["message"]["content"][0]["type"] == "image"
    wrong_path = _create(sim, SYNTHESIS, {"model": "wan2.6-t2i", "input": {"prompt": "p"}})
    assert (wrong_path.status_code, wrong_path.json()["code"]) == (400, "InvalidParameter")


def test_video_task_answers_a_video_url_and_its_seconds(sim: Sim) -> None:
    body = {
        "model": "wan2.5-t2v-preview",
        "input": {"prompt": "p"},
        "parameters": {"size": "832*480", "duration": 10},
    }
    task_id = _create(sim, VIDEO, body).json()["output"]["task_id"]
    sim.clock.advance(180)

    answer = _task(sim, task_id)

    assert ".mp4?Expires=" in answer["output"]["video_url"]
    assert answer["usage"] == {"video_duration": 10, "video_ratio": "832*480", "video_count": 1}
    video = sim.http.get(answer["output"]["video_url"], timeout=30)
    assert video.headers["Content-Type"] == "video/mp4"
    assert video.content[4:8] == b"ftyp"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (SYNTHESIS, {"model": "wan2.2-t2i-flash", "input": {"prompt": "p"}, "parameters": {"n": 5}}),
        (
            SYNTHESIS,
            {"model": "wan2.2-t2i-flash", "input": {"prompt": "p"}, "parameters": {"size": "1024x1024"}},
        ),
        (VIDEO, {"model": "wan2.2-t2v-plus", "input": {"prompt": "p"}, "parameters": {"size": "1280*720"}}),
        (VIDEO, {"model": "wan2.6-t2v", "input": {"prompt": "p"}, "parameters": {"duration": 7}}),
        (VIDEO, {"model": "wan2.7-t2v", "input": {"prompt": "p"}, "parameters": {"size": "1280*720"}}),
    ],
)
def test_documented_limits_are_refused_with_invalid_parameter(
    sim: Sim, path: str, body: dict[str, Any]
) -> None:
    answer = _create(sim, path, body)

    assert (answer.status_code, answer.json()["code"]) == (400, "InvalidParameter")
    assert set(answer.json()) == {"request_id", "code", "message"}


def test_an_over_long_prompt_is_cut_silently_as_the_vendor_does(sim: Sim) -> None:
    body = {"model": "wan2.2-t2i-flash", "input": {"prompt": "字" * 900}, "parameters": {"n": 1}}

    assert _create(sim, SYNTHESIS, body).status_code == 200

    (job,) = sim.stats("dashscope")["submissions"]["jobs"]
    assert len(job["prompt"]) == 800


def test_moderation_blocks_the_prompt_at_create(sim: Sim) -> None:
    body = {"model": "wan2.2-t2i-flash", "input": {"prompt": "违禁内容"}}

    answer = _create(sim, SYNTHESIS, body)

    assert (answer.status_code, answer.json()["code"]) == (400, "DataInspectionFailed")


def test_concurrency_cap_refuses_with_throttling_naming_concurrency(sim: Sim) -> None:
    sim.configure({"concurrency": {"dashscope": 1}})
    _image(sim, n=1)

    refused = _create(sim, SYNTHESIS, {"model": "wan2.2-t2i-flash", "input": {"prompt": "p"}})

    assert (refused.status_code, refused.json()["code"]) == (429, "Throttling")
    assert "concurrent" in refused.json()["message"]
    assert sim.stats("dashscope")["submissions"]["count"] == 1


def _flash(sim: Sim, model: str = "wan2.2-t2i-flash") -> requests.Response:
    return _create(sim, SYNTHESIS, {"model": model, "input": {"prompt": "p"}, "parameters": {"n": 1}})


def test_documented_per_model_concurrency_refuses_a_third_flash_task_but_not_another_model(sim: Sim) -> None:
    """wan2.2-t2i-flash: 2 tasks in progress; each model counts its own."""
    first = _flash(sim)
    sim.clock.advance(1.0)  # past the submit rate (2 per second)
    _flash(sim)
    sim.clock.advance(1.0)

    refused = _flash(sim)
    other = _flash(sim, "wan2.5-t2i-preview")

    assert (refused.status_code, refused.json()["code"]) == (429, "Throttling")
    assert "concurrent" in refused.json()["message"]
    assert other.status_code == 200
    # A cancelled task no longer counts: the slot is free again.
    assert (
        sim.post(f"/api/v1/tasks/{first.json()['output']['task_id']}/cancel", headers=KEY).status_code == 200
    )
    assert _flash(sim).status_code == 200


def test_a_finished_task_frees_its_slot(sim: Sim) -> None:
    _flash(sim)
    _flash(sim)
    sim.clock.advance(60)  # latency: the two tasks are done

    assert _flash(sim).status_code == 200


@pytest.mark.parametrize(("model", "rate"), [("wan2.2-t2i-flash", 2), ("wan2.6-t2i", 5)])
def test_documented_per_model_submit_rate_answers_rate_quota_within_one_second(
    sim: Sim, model: str, rate: int
) -> None:
    sim.configure({"concurrency": {"dashscope": 0}})  # the rate alone
    path, body = SYNTHESIS, {"model": model, "input": {"prompt": "p"}, "parameters": {"n": 1}}
    if model == "wan2.6-t2i":
        path, body = (
            GENERATION,
            {
                "model": model,
                "input": {"messages": [{"role": "user", "content": [{"text": "p"}]}]},
                "parameters": {"n": 1},
            },
        )

    answers = [_create(sim, path, body).status_code for _ in range(rate + 1)]
    refused = _create(sim, path, body)
    sim.clock.advance(1.0)
    later = _create(sim, path, body)

    assert answers == [200] * rate + [429]
    assert refused.json()["code"] == "Throttling.RateQuota"
    assert later.status_code == 200
    assert sim.stats("dashscope")["submissions"]["count"] == rate + 1
    assert sim.stats("dashscope")["rejections"]["Throttling.RateQuota"] == 2


def test_the_knobs_replace_every_models_limits_and_zero_lifts_them(sim: Sim) -> None:
    sim.configure({"concurrency": {"dashscope": 0}, "submit_rate": {"dashscope": 0}})

    assert [_flash(sim).status_code for _ in range(6)] == [200] * 6

    sim.configure({"concurrency": {"dashscope": None}, "submit_rate": {"dashscope": 1}})
    sim.clock.advance(1.0)
    assert [_flash(sim, "wan2.5-t2i-preview").status_code for _ in range(2)] == [200, 429]


@pytest.mark.parametrize(("code", "status", "name"), [(4292, 429, "Throttling"), (4001, 400, "Arrearage")])
def test_fault_codes_map_onto_dashscope_codes(sim: Sim, code: int, status: int, name: str) -> None:
    fault = "rate_limit" if status == 429 else "quota"
    sim.configure({"faults": {"dashscope": {"submit": {fault: {"next": 1, "code": code}}}}})

    answer = _create(sim, SYNTHESIS, {"model": "wan2.2-t2i-flash", "input": {"prompt": "p"}})

    assert (answer.status_code, answer.json()["code"]) == (status, name)


def test_cancel_works_only_while_pending(sim: Sim) -> None:
    first, second = _image(sim, n=1), _image(sim, n=1)

    assert sim.post(f"/api/v1/tasks/{first}/cancel", headers=KEY).status_code == 200
    sim.clock.advance(30)
    late = sim.post(f"/api/v1/tasks/{second}/cancel", headers=KEY)

    assert _task(sim, first)["output"]["task_status"] == "CANCELED"
    assert (late.status_code, late.json()["code"]) == (400, "UnsupportedOperation")


def test_listing_filters_by_model_window_and_status(sim: Sim) -> None:
    task_id = _image(sim, n=1)
    _create(sim, VIDEO, {"model": "wan2.6-t2v", "input": {"prompt": "p"}})

    listed = sim.get("/api/v1/tasks/", params={"model_name": "wan2.2-t2i-flash"}, headers=KEY).json()
    pending = sim.get("/api/v1/tasks/", params={"status": "SUCCEEDED"}, headers=KEY).json()
    too_wide = sim.get(
        "/api/v1/tasks/", params={"start_time": "20260101000000", "end_time": "20260103000000"}, headers=KEY
    )

    assert [item["task_id"] for item in listed["data"]] == [task_id]
    assert listed["data"][0]["model_name"] == "wan2.2-t2i-flash"
    assert listed["total"] == 1
    assert pending["data"] == []
    assert too_wide.status_code == 400
