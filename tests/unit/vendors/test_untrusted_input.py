"""Issue 10 item 6: untrusted input gets a classified error, never a raw Python exception.

Each case here failed before the fix: a prompt with a lone surrogate passed validation and broke
fingerprinting (UnicodeEncodeError), a huge TTL raised OverflowError in the Baidu parser (killing
the trigger), and a Zhipu status the documents do not define was read as "running" until the
deadline.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

from airflow_provider_aigc.exceptions import AigcInvalidRequestError, AigcServerError
from airflow_provider_aigc.models import JobState
from airflow_provider_aigc.operators.submit import request_fingerprint
from airflow_provider_aigc.vendors import baidu, bigmodel, jumdata, zhipu
from airflow_provider_aigc.vendors.base import HttpResponse

NOW = datetime(2023, 9, 22, 12, 0, tzinfo=timezone.utc)
LONE_SURROGATE = "\ud83d"  # half of an emoji, as a badly decoded file leaves it

VALID = {
    ("zhipu", "cogview"): {"query": "睡莲"},
    ("zhipu", "news_generate"): {"content": "神州十三号飞船发射成功", "max_length": 100},
    ("baidu", "txt2imgv2"): {"prompt": "睡莲"},
    ("jumdata", "ai_draw"): {"text": "睡莲", "resolution": "1024*1024", "style": "古风"},
    ("bigmodel", "glm_image"): {"prompt": "睡莲"},
    ("bigmodel", "cogvideox"): {"prompt": "睡莲", "image_url": "https://img.example.com/a.png"},
}
MODULES = {"zhipu": zhipu, "baidu": baidu, "jumdata": jumdata, "bigmodel": bigmodel}
TEXT_FIELDS = [
    ("zhipu", "cogview", "query"),
    ("zhipu", "cogview", "key"),
    ("zhipu", "news_generate", "content"),
    ("baidu", "txt2imgv2", "prompt"),
    ("jumdata", "ai_draw", "text"),
    ("bigmodel", "glm_image", "prompt"),
    ("bigmodel", "cogvideox", "prompt"),
    ("bigmodel", "cogvideox", "user_id"),
    ("bigmodel", "cogvideox", "request_id"),
]


def respond(body: object, status: int = 200) -> HttpResponse:
    return HttpResponse(status=status, body=json.dumps(body).encode())


@pytest.mark.parametrize(("vendor", "app", "name"), TEXT_FIELDS)
@pytest.mark.parametrize("where", ["alone", "inside"])
def test_unencodable_text_is_an_invalid_request(vendor: str, app: str, name: str, where: str) -> None:
    text = LONE_SURROGATE if where == "alone" else f"睡{LONE_SURROGATE}莲"
    params = {**VALID[(vendor, app)], name: text}
    with pytest.raises(AigcInvalidRequestError, match=rf"{name} must be text UTF-8 can encode") as raised:
        MODULES[vendor].validate(app, params)
    assert "unpaired surrogate" in raised.value.message
    assert "limit" in raised.value.message


def test_unencodable_reference_url_is_an_invalid_request() -> None:
    params = {"prompt": "睡莲", "url": f"https://img.example.com/{LONE_SURROGATE}.png", "change_degree": 5}
    with pytest.raises(AigcInvalidRequestError, match="url must be text UTF-8 can encode"):
        baidu.validate("txt2imgv2", params)


@pytest.mark.parametrize(("vendor", "app"), sorted(VALID))
def test_every_validated_request_can_be_fingerprinted(vendor: str, app: str) -> None:
    """What validate lets through, the submit operator can hash (what broke before)."""
    request = MODULES[vendor].validate(app, {**VALID[(vendor, app)]})
    assert len(request_fingerprint(vendor, app, "c", request)) == 64


@pytest.mark.parametrize("ttl", [1e300, float("inf"), float("nan"), 10.0**20])
def test_baidu_parse_status_with_an_unusable_ttl_is_a_classified_error(ttl: float) -> None:
    body = {"data": {"task_id": 1, "task_status": "RUNNING", "task_progress": 0.5}}
    with pytest.raises(AigcInvalidRequestError, match="output_ttl_seconds"):
        baidu.parse_status(respond(body), job_id="1", app="txt2imgv2", now=NOW, output_ttl_seconds=ttl)


@pytest.mark.parametrize("ttl", [1e300, float("inf"), float("nan")])
def test_bigmodel_parse_status_with_an_unusable_ttl_is_a_classified_error(ttl: float) -> None:
    body = {"task_status": "SUCCESS", "video_result": [{"url": "https://x/0.mp4"}]}
    with pytest.raises(AigcInvalidRequestError, match="output_ttl_seconds"):
        bigmodel.parse_status(respond(body), job_id="1", app="cogvideox", now=NOW, output_ttl_seconds=ttl)


@pytest.mark.parametrize("ttl", [1e300, float("nan")])
def test_zhipu_parse_status_with_an_unusable_ttl_is_a_classified_error(ttl: float) -> None:
    body = {"status": 0, "result": {"output": ["https://x/0.jpg"], "task_id": "t"}}
    with pytest.raises(AigcServerError, match="out of range"):
        zhipu.parse_status(respond(body), job_id="t", app="cogview", now=NOW, output_ttl_seconds=ttl)


def zhipu_result(**result: Any) -> HttpResponse:
    return respond({"message": "success", "status": 0, "result": {"task_id": "t", **result}})


@pytest.mark.parametrize("state", ["error", "cancelled", "timeout", "FAILED", "done", "", "finish"])
@pytest.mark.parametrize("output", [None, {}, []])
def test_zhipu_unknown_state_without_output_is_not_read_as_running(state: str, output: object) -> None:
    """The documents define "wait" (and an output when done); anything else is not a state to wait on."""
    response = zhipu_result(status=state, output=output, progress={"value": "0%"})
    with pytest.raises(AigcServerError) as raised:
        zhipu.parse_status(response, job_id="t", app="cogview", now=NOW)
    assert repr(state) in raised.value.message
    assert raised.value.retryable  # bounded by the trigger's run of failed polls, not the deadline


@pytest.mark.parametrize("state", [None, "wait"])
def test_zhipu_documented_waiting_states_are_running(state: str | None) -> None:
    status = zhipu.parse_status(
        zhipu_result(status=state, output={}, progress={"value": "37%"}), job_id="t", app="cogview", now=NOW
    )
    assert (status.state, status.progress) == (JobState.RUNNING, 0.37)


def test_zhipu_output_with_an_unknown_state_is_done_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    response = zhipu_result(status="succeeded", output=["https://x/0.jpg"])
    with caplog.at_level("WARNING", logger="airflow_provider_aigc.vendors.zhipu"):
        status = zhipu.parse_status(response, job_id="t", app="cogview", now=NOW)
    assert status.state is JobState.SUCCEEDED
    assert "'succeeded'" in caplog.text


@pytest.mark.parametrize("state", ["DONE", "success", "CANCELLED", ""])
def test_baidu_unknown_state_names_the_raw_state(state: str) -> None:
    body = {"data": {"task_id": 1, "task_status": state}}
    with pytest.raises(AigcServerError, match=repr(state)):
        baidu.parse_status(respond(body), job_id="1", app="txt2imgv2", now=NOW)


@pytest.mark.parametrize("state", [2, -1, "running", "2"])
def test_jumdata_unknown_state_names_the_raw_state(state: object) -> None:
    body = {"code": 200, "msg": "成功", "data": {"status": state}}
    with pytest.raises(AigcServerError, match=f"got '{state}'"):
        jumdata.parse_status(respond(body), job_id="t", app="ai_draw", now=NOW)
