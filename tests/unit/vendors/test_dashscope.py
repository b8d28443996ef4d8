"""DashScope Wan, sans-IO: the documents' examples (shared/vendors/dashscope_wan_async.md §9),
every documented limit per model, the three request protocols, status parsing (partial success,
UNKNOWN, CANCELED, videos) and the error envelope's classification."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

import pytest

from airflow_provider_aigc.exceptions import (
    AigcAuthError,
    AigcConcurrencyLimitError,
    AigcContentRejectedError,
    AigcError,
    AigcInvalidRequestError,
    AigcJobFailedError,
    AigcQuotaExceededError,
    AigcRateLimitError,
    AigcServerError,
    AigcUnknownJobError,
)
from airflow_provider_aigc.models import JobState
from airflow_provider_aigc.vendors import dashscope
from airflow_provider_aigc.vendors.base import HttpResponse
from airflow_provider_aigc.vendors.dashscope import WAN_IMAGE, WAN_VIDEO, DashScopeCredentials

NOW = datetime(2026, 3, 2, 3, 0, tzinfo=timezone.utc)
KEY = DashScopeCredentials("sk-FAKEFAKEFAKEFAKEFAKEFAKEFAKE0000")
TASK = "00000000-fake-4000-8000-000000000001"
IMAGE_URL = "https://dashscope-result-example.oss-ap-southeast-1.aliyuncs.com/fake/1.png?Expires=1772500000&Signature=FAKE"
# §9: the documents' partial-success answer (two images asked, one blocked).
PARTIAL: dict[str, Any] = {
    "request_id": "00000000-fake-4000-8000-0000000000a3",
    "output": {
        "task_id": TASK,
        "task_status": "SUCCEEDED",
        "submit_time": "2026-03-02 10:00:01.123",
        "scheduled_time": "2026-03-02 10:00:01.456",
        "end_time": "2026-03-02 10:00:19.789",
        "results": [
            {"orig_prompt": "A watercolor fox asleep under a maple tree", "url": IMAGE_URL},
            {"code": "DataInspectionFailed", "message": "Output data may contain inappropriate content."},
        ],
        "task_metrics": {"TOTAL": 2, "SUCCEEDED": 1, "FAILED": 1},
    },
    "usage": {"image_count": 1},
}


def _response(body: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(status, json.dumps(body).encode())


def _status(body: Any, app: str = WAN_IMAGE, status: int = 200, **kwargs: Any) -> Any:
    return dashscope.parse_status(_response(body, status), job_id=TASK, app=app, now=NOW, **kwargs)


def _error(code: str, message: str = "m", status: int = 400) -> AigcError:
    with pytest.raises(AigcError) as caught:
        dashscope.parse_submit(_response({"request_id": "r1", "code": code, "message": message}, status))
    return caught.value


# --- validation ---------------------------------------------------------------------------------


def test_image_defaults_are_explicit_and_n_is_one_not_the_vendors_four() -> None:
    request = dashscope.validate(WAN_IMAGE, {"prompt": "a fox"})

    assert request == {"model": "wan2.6-t2i", "prompt": "a fox", "size": "1280*1280", "n": 1}


@pytest.mark.parametrize(
    ("model", "limit"),
    [
        ("wan2.6-t2i", 2100),
        ("wan2.5-t2i-preview", 2000),
        ("wan2.2-t2i-flash", 500),
        ("wanx2.0-t2i-turbo", 800),
    ],
)
def test_an_over_long_prompt_is_refused_naming_the_limit(model: str, limit: int) -> None:
    dashscope.validate(WAN_IMAGE, {"prompt": "字" * limit, "model": model})

    with pytest.raises(
        AigcInvalidRequestError, match=f"{limit + 1} characters; {model} takes at most {limit}"
    ):
        dashscope.validate(WAN_IMAGE, {"prompt": "字" * (limit + 1), "model": model})


@pytest.mark.parametrize(
    ("model", "size", "ok"),
    [
        ("wan2.5-t2i-preview", "768*2700", True),  # the document's own 1:4-ish example
        ("wan2.5-t2i-preview", "1024*1024", False),  # below 1280*1280 pixels
        ("wan2.6-t2i", "1440*1440", True),
        ("wan2.6-t2i", "1500*1440", False),
        ("wan2.6-t2i", "640*2600", False),  # ratio beyond 1:4
        ("wan2.2-t2i-flash", "512*1440", True),
        ("wan2.2-t2i-flash", "511*1024", False),
        ("wan2.2-t2i-flash", "1441*1024", False),
    ],
)
def test_image_size_rules_per_model(model: str, size: str, ok: bool) -> None:
    params = {"prompt": "p", "model": model, "size": size}
    if ok:
        assert dashscope.validate(WAN_IMAGE, params)["size"] == size
    else:
        with pytest.raises(AigcInvalidRequestError, match=re.escape(f"size {size} does not fit {model}")):
            dashscope.validate(WAN_IMAGE, params)


@pytest.mark.parametrize("size", ["1024x1024", "1024×1024", "16:9", "480P", 1024])
def test_sizes_need_the_asterisk(size: object) -> None:
    with pytest.raises(AigcInvalidRequestError, match="asterisk"):
        dashscope.validate(WAN_IMAGE, {"prompt": "p", "size": size})


@pytest.mark.parametrize(
    ("name", "value", "ok"),
    [
        ("n", 4, True),
        ("n", 5, False),
        ("n", 0, False),
        ("seed", 2147483647, True),
        ("seed", 2147483648, False),
        ("seed", -1, False),
        ("negative_prompt", "x" * 500, True),
        ("negative_prompt", "x" * 501, False),
        ("prompt_extend", "false", True),
        ("watermark", "maybe", False),
    ],
)
def test_image_parameter_limits(name: str, value: object, ok: bool) -> None:
    params = {"prompt": "p", name: value}
    if ok:
        dashscope.validate(WAN_IMAGE, params)
    else:
        with pytest.raises(AigcInvalidRequestError):
            dashscope.validate(WAN_IMAGE, params)


def test_unknown_models_and_parameters_of_the_other_app_are_refused() -> None:
    with pytest.raises(AigcInvalidRequestError, match="model must be one of"):
        dashscope.validate(WAN_IMAGE, {"prompt": "p", "model": "wan2.6-t2v"})
    with pytest.raises(AigcInvalidRequestError, match="unknown parameter"):
        dashscope.validate(WAN_IMAGE, {"prompt": "p", "duration": 5})


def test_video_defaults_follow_the_model() -> None:
    assert dashscope.validate(WAN_VIDEO, {"prompt": "p"}) == {
        "model": "wan2.6-t2v",
        "prompt": "p",
        "size": "1920*1080",
        "duration": 5,
    }
    assert dashscope.validate(WAN_VIDEO, {"prompt": "p", "model": "wanx2.1-t2v-turbo"})["size"] == "1280*720"


@pytest.mark.parametrize(
    ("model", "size", "ok"),
    [
        ("wan2.6-t2v", "1280*720", True),
        ("wan2.6-t2v", "832*480", False),  # no 480P tier
        ("wan2.5-t2v-preview", "832*480", True),
        ("wan2.2-t2v-plus", "1280*720", False),  # 480P and 1080P only
        ("wanx2.1-t2v-plus", "1920*1080", False),  # 720P only
        ("wanx2.1-t2v-plus", "1088*832", True),
        ("wan2.6-t2v", "1280*721", False),
    ],
)
def test_video_sizes_come_from_the_models_tiers(model: str, size: str, ok: bool) -> None:
    params = {"prompt": "p", "model": model, "size": size}
    if ok:
        assert dashscope.validate(WAN_VIDEO, params)["size"] == size
    else:
        with pytest.raises(AigcInvalidRequestError, match=f"not offered by {model}"):
            dashscope.validate(WAN_VIDEO, params)


@pytest.mark.parametrize(
    ("model", "duration", "ok"),
    [
        ("wan2.6-t2v", 15, True),
        ("wan2.6-t2v", 7, False),
        ("wan2.5-t2v-preview", 10, True),
        ("wan2.5-t2v-preview", 15, False),
        ("wan2.2-t2v-plus", 10, False),
        ("wan2.7-t2v", 2, True),
        ("wan2.7-t2v", 16, False),
    ],
)
def test_durations_per_model(model: str, duration: int, ok: bool) -> None:
    params = {"prompt": "p", "model": model, "duration": duration}
    if ok:
        assert dashscope.validate(WAN_VIDEO, params)["duration"] == duration
    else:
        with pytest.raises(AigcInvalidRequestError, match="duration"):
            dashscope.validate(WAN_VIDEO, params)


def test_wan27_and_older_parameter_sets_are_never_mixed() -> None:
    assert dashscope.validate(WAN_VIDEO, {"prompt": "p", "model": "wan2.7-t2v", "ratio": "9:16"}) == {
        "model": "wan2.7-t2v",
        "prompt": "p",
        "resolution": "1080P",
        "ratio": "9:16",
        "duration": 5,
    }
    with pytest.raises(AigcInvalidRequestError, match="takes resolution and ratio, not size"):
        dashscope.validate(WAN_VIDEO, {"prompt": "p", "model": "wan2.7-t2v", "size": "1280*720"})
    with pytest.raises(AigcInvalidRequestError, match="not resolution"):
        dashscope.validate(WAN_VIDEO, {"prompt": "p", "model": "wan2.6-t2v", "resolution": "720P"})
    with pytest.raises(AigcInvalidRequestError, match=r"shot_type is accepted only by wan2\.6"):
        dashscope.validate(WAN_VIDEO, {"prompt": "p", "model": "wan2.7-t2v", "shot_type": "multi"})


def test_audio_and_shot_type_rules() -> None:
    audio = {"prompt": "p", "audio_url": "https://example.com/a.mp3"}
    assert dashscope.validate(WAN_VIDEO, audio)["audio_url"] == "https://example.com/a.mp3"
    with pytest.raises(AigcInvalidRequestError, match="silent model"):
        dashscope.validate(WAN_VIDEO, {**audio, "model": "wan2.2-t2v-plus"})
    with pytest.raises(AigcInvalidRequestError, match="http"):
        dashscope.validate(WAN_VIDEO, {**audio, "audio_url": "file:///etc/passwd"})
    with pytest.raises(AigcInvalidRequestError, match="only with prompt_extend"):
        dashscope.validate(WAN_VIDEO, {"prompt": "p", "shot_type": "multi", "prompt_extend": False})


def test_video_prompt_limits() -> None:
    with pytest.raises(AigcInvalidRequestError, match="takes at most 800"):
        dashscope.validate(WAN_VIDEO, {"prompt": "x" * 801, "model": "wan2.2-t2v-plus"})
    dashscope.validate(WAN_VIDEO, {"prompt": "x" * 1500})


# --- requests -----------------------------------------------------------------------------------


def test_legacy_image_request_matches_the_documents_example() -> None:
    request = dashscope.validate(
        WAN_IMAGE,
        {
            "model": "wan2.2-t2i-flash",
            "prompt": "A watercolor fox asleep under a maple tree",
            "negative_prompt": "text, watermark",
            "size": "1024*1024",
            "n": 2,
            "prompt_extend": False,
            "watermark": False,
            "seed": 42,
        },
    )
    call = dashscope.build_submit(WAN_IMAGE, request, KEY, 0.0)

    assert (call.method, call.path) == ("POST", "/services/aigc/text2image/image-synthesis")
    assert call.json == {
        "model": "wan2.2-t2i-flash",
        "input": {
            "prompt": "A watercolor fox asleep under a maple tree",
            "negative_prompt": "text, watermark",
        },
        "parameters": {"size": "1024*1024", "n": 2, "prompt_extend": False, "watermark": False, "seed": 42},
    }
    assert call.headers == {
        "Authorization": "Bearer sk-FAKEFAKEFAKEFAKEFAKEFAKEFAKE0000",
        "X-DashScope-Async": "enable",
    }
    assert "Authorization" in call.secret_fields


def test_wan26_image_request_is_one_user_message_with_negative_prompt_as_a_parameter() -> None:
    request = dashscope.validate(WAN_IMAGE, {"prompt": "a fox", "negative_prompt": "text"})
    call = dashscope.build_submit(WAN_IMAGE, request, KEY, 0.0)

    assert call.path == "/services/aigc/image-generation/generation"
    assert call.json == {
        "model": "wan2.6-t2i",
        "input": {"messages": [{"role": "user", "content": [{"text": "a fox"}]}]},
        "parameters": {"negative_prompt": "text", "size": "1280*1280", "n": 1},
    }


def test_video_request_puts_audio_under_input() -> None:
    request = dashscope.validate(
        WAN_VIDEO, {"prompt": "p", "audio_url": "https://example.com/a.wav", "shot_type": "multi", "seed": 1}
    )
    call = dashscope.build_submit(WAN_VIDEO, request, KEY, 0.0)

    assert call.path == "/services/aigc/video-generation/video-synthesis"
    assert call.json == {
        "model": "wan2.6-t2v",
        "input": {"prompt": "p", "audio_url": "https://example.com/a.wav"},
        "parameters": {"size": "1920*1080", "duration": 5, "shot_type": "multi", "seed": 1},
    }


def test_status_cancel_and_list_carry_no_async_header_and_the_workspace() -> None:
    key = DashScopeCredentials("sk-x", workspace="llm-abc")
    status = dashscope.build_status(TASK, WAN_IMAGE, key, 0.0)
    cancel = dashscope.build_cancel(TASK, key)
    listing = dashscope.build_list(
        key, model="wan2.6-t2i", start=datetime(2026, 3, 2, 2, tzinfo=timezone.utc), end=NOW
    )

    assert (status.method, status.path) == ("GET", f"/tasks/{TASK}")
    assert (cancel.method, cancel.path) == ("POST", f"/tasks/{TASK}/cancel")
    assert (listing.method, listing.path) == ("GET", "/tasks/")
    assert listing.params == {
        "model_name": "wan2.6-t2i",
        "start_time": "20260302100000",  # Beijing time, as the listing's examples
        "end_time": "20260302110000",
        "page_no": "1",
        "page_size": "10",
    }
    for call in (status, cancel, listing):
        assert call.headers == {"Authorization": "Bearer sk-x", "X-DashScope-WorkSpace": "llm-abc"}


@pytest.mark.parametrize("task_id", ["../services", "a/b", "id?x=1", ""])
def test_a_task_id_cannot_leave_its_path_segment(task_id: str) -> None:
    with pytest.raises(AigcInvalidRequestError):
        dashscope.build_status(task_id, WAN_IMAGE, KEY, 0.0)


# --- responses ----------------------------------------------------------------------------------


def test_submit_answer_gives_the_task_id() -> None:
    body = {"output": {"task_status": "PENDING", "task_id": TASK}, "request_id": "r"}
    assert dashscope.parse_submit(_response(body)) == TASK


def test_partial_success_keeps_the_image_and_lists_the_failure() -> None:
    status = _status(PARTIAL)

    assert status.state is JobState.SUCCEEDED
    first, second = status.outputs
    assert (first.kind, first.url, first.failure) == ("image", IMAGE_URL, None)
    assert first.expires_at == "2026-03-03T01:06:40+00:00"  # the URL's own Expires=1772500000
    assert (second.index, second.url) == (1, None)
    assert second.failure == "DataInspectionFailed: Output data may contain inappropriate content."
    assert (status.billed_units, status.billed_unit) == (1, "image")


def test_a_succeeded_task_without_any_image_is_failed() -> None:
    body = json.loads(json.dumps(PARTIAL))
    body["output"]["results"] = [PARTIAL["output"]["results"][1]]

    status = _status(body)

    assert status.state is JobState.FAILED
    assert status.error is not None
    assert "DataInspectionFailed" in status.error.message
    assert status.billed_units == 0


def test_wan26_image_answer_reads_choices() -> None:
    body = {
        "request_id": "r",
        "output": {
            "task_id": TASK,
            "task_status": "SUCCEEDED",
            "end_time": "2026-03-02 10:00:19.789",
            "finished": True,
            "choices": [
                {
                    "finish_reason": "stop",
                    "message": {
                        "role": "assistant",
                        "content": [{"image": "https://x/1.png", "type": "image"}],
                    },
                }
            ],
        },
        "usage": {
            "image_count": 1,
            "size": "1280*1280",
            "input_tokens": 0,
            "output_tokens": 0,
            "total_tokens": 0,
        },
    }

    status = _status(body)

    (image,) = status.outputs
    assert image.url == "https://x/1.png"
    # No Expires in the URL: 24 h after end_time read as UTC+8 (an earlier time than as UTC).
    assert image.expires_at == "2026-03-03T02:00:19+00:00"
    assert status.billed_units == 1


def test_video_answer_is_a_video_output_billed_in_seconds() -> None:
    body = {
        "output": {
            "task_id": TASK,
            "task_status": "SUCCEEDED",
            "video_url": "https://x/v.mp4?Expires=1772500000",
            "orig_prompt": "p",
        },
        "usage": {"duration": 10.0, "input_video_duration": 0, "output_video_duration": 10, "SR": 720},
    }

    status = _status(body, app=WAN_VIDEO)

    (video,) = status.outputs
    assert (video.kind, video.url) == ("video", "https://x/v.mp4?Expires=1772500000")
    assert (status.billed_units, status.billed_unit) == (10, "second")
    older = {**body, "usage": {"video_duration": 5, "video_ratio": "832*480", "video_count": 1}}
    assert _status(older, app=WAN_VIDEO).billed_units == 5


@pytest.mark.parametrize(
    ("vendor_state", "state"), [("PENDING", JobState.QUEUED), ("RUNNING", JobState.RUNNING)]
)
def test_unfinished_states(vendor_state: str, state: JobState) -> None:
    assert _status({"output": {"task_id": TASK, "task_status": vendor_state}}).state is state


def test_unknown_is_an_unknown_job_never_polled_again() -> None:
    with pytest.raises(AigcUnknownJobError, match="24 hours"):
        _status({"request_id": "r", "output": {"task_id": TASK, "task_status": "UNKNOWN"}})


@pytest.mark.parametrize(
    ("code", "error_type"),
    [
        ("DataInspectionFailed", AigcContentRejectedError),
        ("InvalidParameter", AigcInvalidRequestError),
        ("InternalError.Algo", AigcJobFailedError),
    ],
)
def test_failed_task_is_classified_by_its_code(code: str, error_type: type[AigcError]) -> None:
    body = {"output": {"task_id": TASK, "task_status": "FAILED", "code": code, "message": "why"}}

    status = _status(body)

    assert status.state is JobState.FAILED
    assert status.error is not None
    assert (status.error.type, status.error.code) == (error_type.__name__, code)


def test_cancelled_task_is_failed_and_says_it_was_not_billed() -> None:
    status = _status({"output": {"task_id": TASK, "task_status": "CANCELED"}})

    assert status.state is JobState.FAILED
    assert status.error is not None
    assert "cancelled while PENDING" in status.error.message


def test_another_task_in_the_answer_is_malformed() -> None:
    with pytest.raises(AigcServerError, match="not the polled task"):
        _status({"output": {"task_id": "other", "task_status": "RUNNING"}})


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "message", "status", "error_type", "refused"),
    [
        ("InvalidApiKey", "Invalid API-key provided.", 401, AigcAuthError, True),
        ("AccessDenied", "Access denied.", 403, AigcAuthError, True),
        ("AccessDenied.Unpurchased", "x", 403, AigcAuthError, True),
        (
            "Arrearage",
            "Access denied, please make sure your account is in good standing.",
            400,
            AigcQuotaExceededError,
            True,
        ),
        ("AllocationQuota.FreeTierOnly", "x", 403, AigcQuotaExceededError, True),
        (
            "DataInspectionFailed",
            "Input data may contain inappropriate content.",
            400,
            AigcContentRejectedError,
            True,
        ),
        ("InvalidParameter", "x", 400, AigcInvalidRequestError, True),
        ("BadRequest.EmptyInput", "x", 400, AigcInvalidRequestError, True),
        ("Throttling.RateQuota", "Requests rate limit exceeded", 429, AigcRateLimitError, True),
        (
            "Throttling.AllocationQuota",
            "Allocated quota exceeded, please increase your quota limit.",
            429,
            AigcRateLimitError,
            True,
        ),
        ("Throttling.AllocationQuota", "Free allocated quota exceeded.", 429, AigcQuotaExceededError, True),
        ("Throttling", "Requests throttling triggered.", 429, AigcRateLimitError, True),
        ("Throttling", "too many concurrent tasks", 429, AigcConcurrencyLimitError, True),
        ("Throttling.AllocationQuota", "Concurrency limit exceeded", 429, AigcConcurrencyLimitError, True),
        ("Throttling.RateQuota", "concurrency", 429, AigcRateLimitError, True),  # code first
        ("InternalError", "x", 500, AigcServerError, False),
        ("RequestTimeOut", "x", 408, AigcServerError, False),
        ("ModelUnavailable", "x", 503, AigcServerError, False),
        ("SomethingNew", "x", 500, AigcServerError, False),
    ],
)
def test_error_envelope_classification(
    code: str, message: str, status: int, error_type: type[AigcError], refused: bool
) -> None:
    error = _error(code, message, status)

    assert type(error) is error_type
    assert (error.code, error.refused) == (code, refused)
    assert "request_id r1" in error.message


def test_a_non_json_gateway_error_is_classified_by_its_status() -> None:
    with pytest.raises(AigcServerError) as caught:
        dashscope.parse_submit(HttpResponse(502, b"<html>bad gateway</html>"))
    assert caught.value.refused is False


def test_listing_reads_candidates() -> None:
    body = {
        "request_id": "r",
        "data": [
            {"task_id": TASK, "status": "PENDING", "model_name": "wan2.6-t2i", "gmt_create": 1772416801123}
        ],
        "total": 1,
        "page_no": 1,
        "page_size": 10,
    }

    (task,) = dashscope.parse_list(_response(body))

    assert (task.task_id, task.status, task.model, task.created_at) == (
        TASK,
        "PENDING",
        "wan2.6-t2i",
        "2026-03-02T02:00:01+00:00",
    )


def test_cancel_of_a_running_task_is_refused() -> None:
    body = {"request_id": "r", "code": "UnsupportedOperation", "message": "Failed to cancel the task"}
    with pytest.raises(AigcInvalidRequestError, match="UnsupportedOperation"):
        dashscope.parse_cancel(_response(body, 400))
