"""BigModel v4 protocol: validation against every documented limit, request building (Bearer and
JWT), answers in both error envelopes, statuses and outputs, from the documents' examples."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timezone
from typing import Any

import pytest

from airflow_provider_aigc.exceptions import (
    AigcAuthError,
    AigcBalanceError,
    AigcConcurrencyLimitError,
    AigcContentRejectedError,
    AigcError,
    AigcInvalidRequestError,
    AigcQuotaExceededError,
    AigcRateLimitError,
    AigcServerError,
    AigcSubmitUnconfirmedError,
    AigcUnknownJobError,
)
from airflow_provider_aigc.models import JobState
from airflow_provider_aigc.vendors import bigmodel
from airflow_provider_aigc.vendors.base import HttpResponse
from airflow_provider_aigc.vendors.bigmodel import BigModelCredentials

KEY = "0123456789abcdef0123456789abcdef.FAKEsecretFAKEsecret"
PLAIN = BigModelCredentials(KEY)
NOW = datetime(2026, 12, 5, 9, 0, tzinfo=timezone.utc)
PNG_URI = "data:image/png;base64," + base64.b64encode(b"\x89PNG fake").decode()


def response(body: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(status, json.dumps(body, ensure_ascii=False).encode())


def status_of(body: Any, app: str = bigmodel.COGVIDEOX, ttl: float | None = None) -> Any:
    return bigmodel.parse_status(response(body), job_id="T1", app=app, now=NOW, output_ttl_seconds=ttl)


# --- validation ----------------------------------------------------------------------------------


def test_the_documents_video_example_validates_unchanged() -> None:
    example = {
        "model": "cogvideox-3",
        "prompt": "A paper boat drifting down a rain gutter, close-up, soft morning light",
        "quality": "quality",
        "with_audio": True,
        "size": "1920x1080",
        "fps": 30,
        "duration": 5,
        "request_id": "airflow-demo-run-000001",
        "user_id": "tenant-000042",
    }
    assert bigmodel.validate(bigmodel.COGVIDEOX, example) == example


def test_defaults_are_the_model_only_and_templated_values_are_converted() -> None:
    assert bigmodel.validate(bigmodel.GLM_IMAGE, {"prompt": "a lighthouse"}) == {
        "model": "glm-image",
        "prompt": "a lighthouse",
    }
    request = bigmodel.validate(
        bigmodel.COGVIDEOX,
        {"prompt": "p", "fps": "60", "duration": "10", "with_audio": "true", "watermark_enabled": "False"},
    )
    assert request == {
        "model": "cogvideox-3",
        "prompt": "p",
        "fps": 60,
        "duration": 10,
        "with_audio": True,
        "watermark_enabled": False,
    }


@pytest.mark.parametrize(
    "size", ["1280x1280", "960x1728", "1024x1024", "2048x2048", "2048x1024", "1056x2016", "1024x2048"]
)
def test_glm_image_sizes_recommended_or_custom(size: str) -> None:
    assert bigmodel.validate(bigmodel.GLM_IMAGE, {"prompt": "p", "size": size})["size"] == size


@pytest.mark.parametrize(
    "size",
    [
        "1280*1280",  # the separator is x
        "1000x1024",  # not a multiple of 32
        "992x1024",  # below 1024
        "2080x1024",  # above 2048
        "2048x2080",
        "1280X1280",
        " 1280x1280",
        1280,
    ],
)
def test_glm_image_custom_size_rule(size: object) -> None:
    with pytest.raises(AigcInvalidRequestError, match="size must be"):
        bigmodel.validate(bigmodel.GLM_IMAGE, {"prompt": "p", "size": size})


def test_glm_image_pixel_cap() -> None:
    # 2048x2048 is exactly 2**22 pixels: allowed; no custom size exceeds it within the side range,
    # so the cap is checked on the rule's own terms.
    assert bigmodel.CUSTOM_MAX_PIXELS == 2048 * 2048
    with pytest.raises(AigcInvalidRequestError, match="4194304 pixels"):
        bigmodel.validate(bigmodel.GLM_IMAGE, {"prompt": "p", "size": "2049x2048"})


@pytest.mark.parametrize(
    ("app", "params", "match"),
    [
        (bigmodel.GLM_IMAGE, {}, "prompt must be"),
        (bigmodel.GLM_IMAGE, {"prompt": "  "}, "blank"),
        (bigmodel.GLM_IMAGE, {"prompt": "p", "quality": "standard"}, "quality must be one of hd"),
        (bigmodel.GLM_IMAGE, {"prompt": "p", "model": "cogview-4"}, "model must be one of glm-image"),
        (bigmodel.GLM_IMAGE, {"prompt": "p", "fps": 30}, "unknown parameter"),
        (bigmodel.COGVIDEOX, {}, "needs a prompt, an image_url, or both"),
        (bigmodel.COGVIDEOX, {"prompt": "x" * 513}, "1-512 characters"),
        (bigmodel.COGVIDEOX, {"prompt": "p", "model": "viduq1-text"}, "model must be one of cogvideox-3"),
        (bigmodel.COGVIDEOX, {"prompt": "p", "quality": "hd"}, "quality must be one of speed, quality"),
        (bigmodel.COGVIDEOX, {"prompt": "p", "fps": 24}, "fps must be one of 30, 60"),
        (bigmodel.COGVIDEOX, {"prompt": "p", "fps": 30.5}, "fps must be an integer"),
        (bigmodel.COGVIDEOX, {"prompt": "p", "duration": 6}, "duration must be one of 5, 10"),
        (bigmodel.COGVIDEOX, {"prompt": "p", "size": "1920*1080"}, "size must be one of"),
        (bigmodel.COGVIDEOX, {"prompt": "p", "size": "1280x1280"}, "size must be one of"),
        (bigmodel.COGVIDEOX, {"prompt": "p", "with_audio": "yes"}, "with_audio must be true or false"),
        (bigmodel.COGVIDEOX, {"prompt": "p", "request_id": "short"}, "request_id must be 6-64"),
        (bigmodel.COGVIDEOX, {"prompt": "p", "request_id": "r" * 65}, "request_id must be 1-64"),
        (bigmodel.COGVIDEOX, {"prompt": "p", "user_id": "u" * 5}, "user_id must be 6-128"),
        (bigmodel.COGVIDEOX, {"prompt": "p", "user_id": "u" * 129}, "user_id must be 1-128"),
        (bigmodel.COGVIDEOX, {"image_url": "ftp://x/a.png"}, "http\\(s\\) URL"),
        (bigmodel.COGVIDEOX, {"image_url": "data:image/gif;base64,R0lG"}, "http\\(s\\) URL"),
        (bigmodel.COGVIDEOX, {"image_url": "data:image/png;base64,@@@"}, "base64 is invalid"),
        (bigmodel.COGVIDEOX, {"image_url": ["https://a/1.png"] * 3}, "one image or a list of 2"),
        (bigmodel.COGVIDEOX, {"image_url": []}, "one image or a list of 2"),
        (
            bigmodel.COGVIDEOX,
            {"image_url": ["https://a/1.png", "https://a/2.png"], "quality": "quality"},
            "only with quality 'speed'",
        ),
    ],
)
def test_every_documented_limit_is_checked_before_the_call(
    app: str, params: dict[str, Any], match: str
) -> None:
    with pytest.raises(AigcInvalidRequestError, match=match):
        bigmodel.validate(app, params)


def test_image_inputs_by_url_or_data_uri_within_5_mb() -> None:
    at_limit = "data:image/jpeg;base64," + base64.b64encode(bytes(5 * 1024 * 1024)).decode()
    over = "data:image/png;base64," + base64.b64encode(bytes(5 * 1024 * 1024 + 1)).decode()
    assert bigmodel.validate(bigmodel.COGVIDEOX, {"image_url": at_limit})["image_url"] == at_limit
    frames = ["https://cdn.example.com/first.png", PNG_URI]
    assert bigmodel.validate(bigmodel.COGVIDEOX, {"image_url": frames})["image_url"] == frames
    with pytest.raises(AigcInvalidRequestError, match="decodes to 5242881 bytes"):
        bigmodel.validate(bigmodel.COGVIDEOX, {"image_url": over})


def test_describe_request_shortens_data_uris() -> None:
    request = bigmodel.validate(
        bigmodel.COGVIDEOX, {"prompt": "p", "image_url": [PNG_URI, "https://a/b.png"]}
    )
    described = bigmodel.describe_request(bigmodel.COGVIDEOX, request)
    assert described["image_url"] == [f"<data URI: {len(PNG_URI)} chars>", "https://a/b.png"]
    assert described["prompt"] == "p"


# --- requests ------------------------------------------------------------------------------------


def test_submit_and_status_requests_carry_the_bearer_key_as_a_secret_header() -> None:
    request = bigmodel.validate(bigmodel.COGVIDEOX, {"prompt": "p"})
    submit = bigmodel.build_submit(bigmodel.COGVIDEOX, request, PLAIN, 0.0)
    assert (submit.method, submit.path, submit.json) == ("POST", "/paas/v4/videos/generations", request)
    assert submit.headers == {"Authorization": f"Bearer {KEY}"}
    assert submit.secret_fields == frozenset({"Authorization"})
    image = bigmodel.build_submit(bigmodel.GLM_IMAGE, {"model": "glm-image", "prompt": "p"}, PLAIN, 0.0)
    assert image.path == "/paas/v4/async/images/generations"
    status = bigmodel.build_status("FAKE-TASK-0000000000000001", bigmodel.COGVIDEOX, PLAIN, 0.0)
    assert (status.method, status.path) == ("GET", "/paas/v4/async-result/FAKE-TASK-0000000000000001")
    assert status.headers == submit.headers


@pytest.mark.parametrize("job_id", ["../../v4/videos/generations", "a/b", "a?b", "a b"])
def test_a_task_id_cannot_change_the_status_path(job_id: str) -> None:
    with pytest.raises(AigcInvalidRequestError, match="not a BigModel task id"):
        bigmodel.build_status(job_id, bigmodel.GLM_IMAGE, PLAIN, 0.0)


def _decode(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_jwt_form_hs256_with_millisecond_claims() -> None:
    header_value = bigmodel.authorization(BigModelCredentials(KEY, jwt=True), 1_700_000_000.25)
    token = header_value.removeprefix("Bearer ")
    head, claims, signature = token.split(".")
    assert _decode(head) == {"alg": "HS256", "sign_type": "SIGN"}
    assert _decode(claims) == {
        "api_key": "0123456789abcdef0123456789abcdef",
        "exp": 1_700_000_000_250 + 210_000,
        "timestamp": 1_700_000_000_250,
    }
    expected = hmac.new(b"FAKEsecretFAKEsecret", f"{head}.{claims}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)) == expected
    assert "FAKEsecret" not in token


def test_jwt_needs_an_id_and_a_secret() -> None:
    with pytest.raises(AigcAuthError, match=r"<id>\.<secret>"):
        bigmodel.authorization(BigModelCredentials("no-dot-here", jwt=True), 0.0)


# --- answers -------------------------------------------------------------------------------------


def test_submit_answer_gives_the_task_id_not_the_request_id() -> None:
    answer = {
        "model": "cogvideox-3",
        "id": "FAKE-TASK-0000000000000001",
        "request_id": "airflow-demo-run-000001",
        "task_status": "PROCESSING",
    }
    assert bigmodel.parse_submit(response(answer)) == "FAKE-TASK-0000000000000001"


def test_processing_then_video_success_with_cover() -> None:
    running = {"model": "cogvideox-3", "task_status": "PROCESSING", "request_id": "airflow-demo-run-000001"}
    assert status_of(running).state is JobState.RUNNING
    done = status_of(
        {
            "model": "cogvideox-3",
            "task_status": "SUCCESS",
            "request_id": "airflow-demo-run-000001",
            "video_result": [
                {
                    "url": "https://cdn.example.invalid/video/FAKE-0001_0.mp4",
                    "cover_image_url": "https://cdn.example.invalid/video_cover/FAKE-0001_cover_0.png",
                },
                {"url": "https://cdn.example.invalid/video/FAKE-0001_1.mp4"},
            ],
        },
        ttl=3600,
    )
    assert done.state is JobState.SUCCEEDED
    assert [(o.index, o.kind, o.url.rsplit("/", 1)[1]) for o in done.outputs] == [
        (0, "video", "FAKE-0001_0.mp4"),
        (1, "cover", "FAKE-0001_cover_0.png"),
        (2, "video", "FAKE-0001_1.mp4"),
    ]
    assert {o.expires_at for o in done.outputs} == {"2026-12-05T10:00:00+00:00"}
    assert (done.billed_units, done.billed_unit) == (2, "video")
    assert "duration" in (done.billing_basis or "")
    assert (
        status_of({**running, "task_status": "SUCCESS", "video_result": [{"url": "u"}]}).outputs[0].expires_at
        is None
    )


def test_image_success_expires_after_30_days() -> None:
    done = status_of(
        {
            "model": "glm-image",
            "task_status": "SUCCESS",
            "image_result": [{"url": "https://cdn.example.invalid/i.png"}],
        },
        app=bigmodel.GLM_IMAGE,
    )
    (image,) = done.outputs
    assert (image.kind, image.index, image.expires_at) == ("image", 0, "2027-01-04T09:00:00+00:00")
    assert (done.billed_units, done.billed_unit) == (1, "image")


def test_fail_without_a_reason_is_a_failed_job() -> None:
    failed = status_of({"model": "cogvideox-3", "task_status": "FAIL", "request_id": "r"})
    assert failed.state is JobState.FAILED
    assert failed.error is not None
    assert failed.error.type == "AigcJobFailedError"
    assert "gives no reason" in failed.error.message
    assert (failed.billed_units, failed.billed_unit) == (1, "video")  # not assumed free


@pytest.mark.parametrize(
    "body",
    [
        {"task_status": "QUEUED"},
        {"task_status": "SUCCESS"},
        {"task_status": "SUCCESS", "video_result": [{"cover_image_url": "c"}]},
        {"task_status": "SUCCESS", "video_result": [{"url": ""}]},
        {"model": "cogvideox-3"},
        ["not", "an", "object"],
    ],
)
def test_answers_off_the_documents_are_server_errors(body: Any) -> None:
    with pytest.raises(AigcServerError):
        status_of(body)


CODES: list[tuple[str, type[AigcError], int]] = [
    ("1000", AigcAuthError, 401),
    ("1002", AigcAuthError, 401),
    ("1003", AigcAuthError, 401),
    ("1113", AigcBalanceError, 429),
    ("1304", AigcQuotaExceededError, 429),
    ("1302", AigcConcurrencyLimitError, 429),
    ("1303", AigcRateLimitError, 429),
    ("1305", AigcRateLimitError, 429),
    ("1312", AigcRateLimitError, 429),
    ("1210", AigcInvalidRequestError, 400),
    ("1214", AigcInvalidRequestError, 400),
    ("1261", AigcInvalidRequestError, 400),
    ("1301", AigcContentRejectedError, 400),
    ("1231", AigcSubmitUnconfirmedError, 400),
    ("1234", AigcServerError, 500),
    ("500", AigcServerError, 500),
]


@pytest.mark.parametrize(("code", "error_class", "status"), CODES)
@pytest.mark.parametrize("shape", ["nested string", "flat integer"])
def test_business_codes_in_both_envelopes(
    code: str, error_class: type[AigcError], status: int, shape: str
) -> None:
    body = (
        {"error": {"code": code, "message": "m"}}
        if shape == "nested string"
        else {"code": int(code), "message": "m"}
    )
    with pytest.raises(error_class) as raised:
        bigmodel.parse_submit(response(body, status))
    assert type(raised.value) is error_class
    assert str(raised.value.code) == code


def test_refusals_are_marked_as_such_and_server_codes_are_not() -> None:
    def error_for(code: str, status: int) -> AigcError:
        with pytest.raises(AigcError) as raised:
            bigmodel.parse_submit(response({"error": {"code": code, "message": "m"}}, status))
        return raised.value

    for code in ("1302", "1113", "1301", "1214", "1002"):
        assert error_for(code, 429).refused, code
    for code in ("500", "1234", "1230", "1231"):
        assert not error_for(code, 500).refused, code
    concurrency = error_for("1302", 429)
    assert not concurrency.retryable  # the capacity wait, not the hook's backoff, waits for it
    assert AigcBalanceError.fail_fast
    assert AigcContentRejectedError.fail_fast


def test_duplicate_request_says_how_far_the_proof_goes() -> None:
    with pytest.raises(
        AigcSubmitUnconfirmedError, match="reached BigModel, so it was not bought again"
    ) as raised:
        bigmodel.parse_submit(response({"error": {"code": "1231", "message": "您已有请求：r-000001"}}, 400))
    assert "names no task id" in raised.value.message
    assert raised.value.fail_fast


def test_an_error_envelope_inside_http_200_is_an_error() -> None:
    with pytest.raises(AigcContentRejectedError):
        bigmodel.parse_submit(response({"error": {"code": "1301", "message": "unsafe"}}))
    with pytest.raises(AigcConcurrencyLimitError):
        bigmodel.parse_submit(response({"code": 1302, "message": "busy"}))


def test_unknown_task_and_undocumented_answers() -> None:
    with pytest.raises(AigcUnknownJobError):
        status_of_http({"error": {"code": "404", "message": "not found"}}, 404)
    with pytest.raises(AigcUnknownJobError):
        status_of_http(b"<html>404</html>", 404)
    with pytest.raises(AigcInvalidRequestError):  # on a submit, 404 is a wrong path, not a task
        bigmodel.parse_submit(HttpResponse(404, b"<html>404</html>"))
    with pytest.raises(AigcServerError):
        status_of_http({"error": {"code": "9999", "message": "new"}}, 502)
    with pytest.raises(AigcServerError):
        bigmodel.parse_submit(HttpResponse(200, b"not json"))


def status_of_http(body: Any, status: int) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return bigmodel.parse_status(HttpResponse(status, raw), job_id="T1", app=bigmodel.GLM_IMAGE, now=NOW)


def test_spec_facts() -> None:
    spec = bigmodel.SPEC
    assert (spec.conn_type, spec.default_conn_name) == ("aigc_bigmodel", "aigc_bigmodel_default")
    assert spec.apps == {"glm_image", "cogvideox"}
    assert spec.poll_interval("cogvideox") > spec.poll_interval("glm_image")
    assert spec.default_base_url == "https://open.bigmodel.cn/api"
