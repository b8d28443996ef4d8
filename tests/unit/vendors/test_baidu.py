"""Baidu ERNIE-ViLG v2 protocol, checked against the vendor document's own examples."""

from __future__ import annotations

import base64
import contextlib
import copy
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
)
from airflow_provider_aigc.models import JobState, JobStatus, Output
from airflow_provider_aigc.vendors import baidu
from airflow_provider_aigc.vendors.base import HttpResponse

from .json_strategies import json_values, mutated, responses

NOW = datetime(2023, 7, 6, 2, 50, tzinfo=timezone.utc)
API_KEY = "ak-7f3c9e1d2b"
SECRET_KEY = "sk-4a8b6c0e9f"

# --- the document's examples, copied verbatim --------------------------------------------------

DOC_SUBMIT_RESPONSE = """{
  "data": {
    "primary_task_id": 1659384536691865192,
    "task_id": "1659384536691865192"
  },
  "log_id": 1583376431827547238
}"""


DOC_SUCCESS_TEXT = """{
  "sub_task_result_list": [
    {
      "final_image_list": [
        {
          "height": 1024,
          "img_approve_conclusion": "pass",
          "img_url": "http://aigc-t2p.bj.bcebos.com/artist-long/30169514_0_final.png?authorization=bce-auth-v1%2F174bf5e9a7a84f55a8e85b1cc5d62b1d%2F2023-07-06T02%3A46%3A53Z%2F1800%2Fhost%2Fb541efeed7bac9a87cb3fd0761cfac6e9ea7edd1fbe46b8e773e09126abd0271",
          "width": 1024
        }
      ],
      "sub_task_error_code": 0,
      "sub_task_progress": 1,
      "sub_task_status": "SUCCESS"
    },
    {
      "final_image_list": [
        {
          "height": 1024,
          "img_approve_conclusion": "pass",
          "img_url": "http://aigc-t2p.bj.bcebos.com/artist-long/30169515_0_final.png?authorization=bce-auth-v1%2F174bf5e9a7a84f55a8e85b1cc5d62b1d%2F2023-07-06T02%3A46%3A53Z%2F1800%2Fhost%2F764f571b4ba7d9d7567e68c109c2b38c3410c4a2a24db76c3afbaf1c1f306f06",
          "width": 1024
        }
      ],
      "sub_task_error_code": 0,
      "sub_task_progress": 1,
      "sub_task_status": "SUCCESS"
    },
    {
      "final_image_list": [
        {
          "height": 1024,
          "img_approve_conclusion": "pass",
          "img_url": "http://aigc-t2p.bj.bcebos.com/artist-long/30169516_0_final.png?authorization=bce-auth-v1%2F174bf5e9a7a84f55a8e85b1cc5d62b1d%2F2023-07-06T02%3A46%3A53Z%2F1800%2Fhost%2Fe04f12c45f01fc4199c9975e208f94859d80e68f393821d94eb561997db100a0",
          "width": 1024
        }
      ],
      "sub_task_error_code": 0,
      "sub_task_progress": 1,
      "sub_task_status": "SUCCESS"
    },
    {
      "final_image_list": [
        {
          "height": 1024,
          "img_approve_conclusion": "pass",
          "img_url": "http://aigc-t2p.bj.bcebos.com/artist-long/30169517_0_final.png?authorization=bce-auth-v1%2F174bf5e9a7a84f55a8e85b1cc5d62b1d%2F2023-07-06T02%3A46%3A53Z%2F1800%2Fhost%2F7517b6724271b2489e0131f6247a6d7466122256d7d553defe293b1fd41a42bc",
          "width": 1024
        }
      ],
      "sub_task_error_code": 0,
      "sub_task_progress": 1,
      "sub_task_status": "SUCCESS"
    }
  ],
  "task_id": 1676784719699311143,
  "task_progress": 1,
  "task_status": "SUCCESS"
}"""
DOC_FAILED_501_TEXT = """{
  "sub_task_result_list": [
    {
      "sub_task_error_code": 501,
      "sub_task_progress": 0,
      "sub_task_status": "FAILED"
    },
    {
      "sub_task_error_code": 501,
      "sub_task_progress": 0,
      "sub_task_status": "FAILED"
    },
    {
      "sub_task_error_code": 501,
      "sub_task_progress": 0,
      "sub_task_status": "FAILED"
    },
    {
      "sub_task_error_code": 501,
      "sub_task_progress": 0,
      "sub_task_status": "FAILED"
    }
  ],
  "task_id": 1676785356577640297,
  "task_progress": 1,
  "task_status": "FAILED"
}"""
DOC_SUCCESS: dict[str, Any] = json.loads(DOC_SUCCESS_TEXT)
DOC_FAILED_501: dict[str, Any] = json.loads(DOC_FAILED_501_TEXT)
DOC_SUCCESS_ID = "1676784719699311143"
DOC_FAILED_ID = "1676785356577640297"
DOC_IMAGE: dict[str, Any] = DOC_SUCCESS["sub_task_result_list"][0]["final_image_list"][0]
DOC_URL: str = DOC_IMAGE["img_url"]
DOC_EXPIRY = datetime(2023, 7, 6, 3, 16, 53, tzinfo=timezone.utc)  # 02:46:53Z + 1800 s


def respond(body: object, status: int = 200) -> HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpResponse(status=status, body=raw)


def status_of(body: object, job_id: str = DOC_SUCCESS_ID, **kwargs: Any) -> JobStatus:
    return baidu.parse_status(respond(body), job_id=job_id, app="txt2imgv2", now=NOW, **kwargs)


def task(status: str, *sub_tasks: dict[str, Any], progress: float = 0) -> dict[str, Any]:
    return {
        "task_id": int(DOC_SUCCESS_ID),
        "task_status": status,
        "task_progress": progress,
        "sub_task_result_list": list(sub_tasks),
    }


def sub_task(code: int | str = 0, status: str = "SUCCESS", images: int = 1) -> dict[str, Any]:
    return {
        "sub_task_status": status,
        "sub_task_progress": 1,
        "sub_task_error_code": code,
        "final_image_list": [dict(DOC_IMAGE) for _ in range(images)],
    }


# --- module interface ---------------------------------------------------------------------------


def test_module_interface_constants() -> None:
    assert baidu.VENDOR == "baidu"
    assert frozenset({"txt2imgv2"}) == baidu.APPS
    assert baidu.DEFAULT_BASE_URL == "https://aip.baidubce.com"
    assert set(baidu.DEFAULT_POLL_INTERVAL) == baidu.APPS
    assert all(seconds > 0 for seconds in baidu.DEFAULT_POLL_INTERVAL.values())


# --- token --------------------------------------------------------------------------------------


def test_token_request_puts_keys_in_query_and_marks_them_secret() -> None:
    request = baidu.build_token_request(API_KEY, SECRET_KEY)
    assert (request.method, request.path) == ("POST", "/oauth/2.0/token")
    assert dict(request.params) == {
        "grant_type": "client_credentials",
        "client_id": API_KEY,
        "client_secret": SECRET_KEY,
    }
    assert request.secret_fields == frozenset({"client_id", "client_secret"})


def test_parse_token_expires_after_expires_in() -> None:
    token = baidu.parse_token(respond({"access_token": "24.tok", "expires_in": 2592000}), now=1000.0)
    assert token == baidu.AccessToken(value="24.tok", expires_at=1000.0 + 2592000)
    assert "24.tok" not in repr(token)


@pytest.mark.parametrize("status", [400, 401])
def test_parse_token_invalid_client_is_auth_error(status: int) -> None:
    body = {"error": "invalid_client", "error_description": "unknown client id"}
    with pytest.raises(AigcAuthError, match="unknown client id") as raised:
        baidu.parse_token(respond(body, status), now=0.0)
    assert raised.value.code == "invalid_client"
    assert API_KEY not in str(raised.value)
    assert SECRET_KEY not in str(raised.value)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"access_token": "24.secret-token", "expires_in": "soon"}',
        b'{"access_token": "24.secret-token", "expires_in": -5}',
        b'{"access_token": "24.secret-token", "expires_in": true}',
        b'{"access_token": "24.secret-token", "expir',
        b'{"access_token": 24, "expires_in": 100, "note": "24.secret-token"}',
    ],
)
def test_malformed_token_answer_never_quotes_the_token(raw: bytes) -> None:
    with pytest.raises(AigcServerError) as raised:
        baidu.parse_token(HttpResponse(status=200, body=raw), now=0.0)
    assert "secret-token" not in str(raised.value)


def test_parse_token_server_failure_is_retryable() -> None:
    with pytest.raises(AigcServerError):
        baidu.parse_token(respond(b"<html>bad gateway</html>", 502), now=0.0)


# --- submit -------------------------------------------------------------------------------------

TOKEN = baidu.AccessToken("24.tok", expires_at=0.0)


def test_build_submit_omits_none_and_marks_token_secret() -> None:
    request = baidu.build_submit("txt2imgv2", {"prompt": "睡莲", "image": None, "image_num": 2}, TOKEN, 0.0)
    assert (request.method, request.path) == ("POST", "/rpc/2.0/ernievilg/v1/txt2imgv2")
    assert dict(request.params) == {"access_token": "24.tok"}
    assert request.json == {"prompt": "睡莲", "image_num": 2}
    assert request.secret_fields == frozenset({"access_token"})


def test_build_submit_rejects_unknown_app() -> None:
    with pytest.raises(AigcInvalidRequestError, match="txt2imgv2"):
        baidu.build_submit("txt2img", {"prompt": "睡莲"}, TOKEN, 0.0)


def test_parse_submit_document_example() -> None:
    assert baidu.parse_submit(respond(DOC_SUBMIT_RESPONSE.encode())) == "1659384536691865192"


def test_parse_submit_keeps_a_primary_task_id_too_large_for_float_exact() -> None:
    raw = b'{"data": {"primary_task_id": 1659384536691865192}, "log_id": 1}'
    assert str(int(float(1659384536691865192))) != "1659384536691865192"  # a float would round it
    assert baidu.parse_submit(HttpResponse(status=200, body=raw)) == "1659384536691865192"


def test_parse_submit_accepts_integer_task_id() -> None:
    assert baidu.parse_submit(respond({"data": {"task_id": 42}})) == "42"


@pytest.mark.parametrize(
    "body",
    [{"data": {}}, {"data": {"task_id": 1.5}}, {"data": {"task_id": "abc"}}, {"log_id": 1}, ["x"]],
)
def test_parse_submit_without_task_id_is_server_error(body: object) -> None:
    with pytest.raises(AigcServerError, match="unexpected response"):
        baidu.parse_submit(respond(body))


# --- error codes --------------------------------------------------------------------------------

ERROR_CODES = [
    (110, AigcAuthError),
    (111, AigcAuthError),
    (4, AigcQuotaExceededError),
    (13, AigcRateLimitError),
    (15, AigcConcurrencyLimitError),
    (18, AigcRateLimitError),
    (17, AigcQuotaExceededError),
    (282003, AigcInvalidRequestError),
    (282004, AigcInvalidRequestError),
    (216100, AigcInvalidRequestError),
    (216630, AigcServerError),
    (999999, AigcServerError),
]


@pytest.mark.parametrize(("code", "expected"), ERROR_CODES)
@pytest.mark.parametrize("as_string", [False, True])
def test_error_envelope_maps_every_code(code: int, expected: type[AigcError], as_string: bool) -> None:
    body = {"error_code": str(code) if as_string else code, "error_msg": "some message", "log_id": 7}
    with pytest.raises(expected) as from_submit:
        baidu.parse_submit(respond(body))
    with pytest.raises(expected) as from_status:
        status_of(body)
    for raised in (from_submit, from_status):
        assert type(raised.value) is expected
        assert (raised.value.vendor, raised.value.code) == ("baidu", str(code))
        assert "some message" in str(raised.value)
        # The hook refreshes the token once on exactly these codes.
        assert (raised.value.code in baidu.TOKEN_ERROR_CODES) == (code in (110, 111))


def test_error_envelope_on_non_2xx_still_uses_the_code() -> None:
    with pytest.raises(AigcRateLimitError):
        baidu.parse_submit(respond({"error_code": 18, "error_msg": "qps"}, status=500))


@pytest.mark.parametrize(
    ("status", "expected"),
    [(401, AigcAuthError), (429, AigcRateLimitError), (400, AigcInvalidRequestError), (503, AigcServerError)],
)
def test_http_error_without_code_uses_http_status(status: int, expected: type[AigcError]) -> None:
    with pytest.raises(expected):
        baidu.parse_submit(respond(b"<html>nope</html>", status))


def test_non_json_success_body_is_server_error_quoting_it() -> None:
    with pytest.raises(AigcServerError, match="gateway page"):
        status_of(b"gateway page")


# --- status -------------------------------------------------------------------------------------


def test_build_status_sends_task_id_as_string() -> None:
    request = baidu.build_status("1659384536691865192", "txt2imgv2", TOKEN, 0.0)
    assert (request.method, request.path) == ("POST", "/rpc/2.0/ernievilg/v1/getImgv2")
    assert request.json == {"task_id": "1659384536691865192"}
    assert dict(request.params) == {"access_token": "24.tok"}
    assert request.secret_fields == frozenset({"access_token"})


EXPECTED_DOC_OUTPUTS = tuple(
    Output(
        index=index,
        kind="image",
        url=DOC_SUCCESS["sub_task_result_list"][index]["final_image_list"][0]["img_url"],
        width=1024,
        height=1024,
        expires_at="2023-07-06T03:16:53+00:00",
        moderation="pass",
    )
    for index in range(4)
)


def test_document_success_example_without_data_wrapper() -> None:
    status = status_of(DOC_SUCCESS)
    assert (status.vendor, status.app, status.job_id) == ("baidu", "txt2imgv2", DOC_SUCCESS_ID)
    assert status.state is JobState.SUCCEEDED
    assert status.progress == 1.0
    assert status.outputs == EXPECTED_DOC_OUTPUTS
    assert status.error is None


def test_document_success_example_inside_data_wrapper() -> None:
    assert status_of({"log_id": 5, "data": DOC_SUCCESS}) == status_of(DOC_SUCCESS)


def test_document_failed_501_example_is_content_rejected() -> None:
    status = status_of(DOC_FAILED_501, job_id=DOC_FAILED_ID)
    assert status.state is JobState.FAILED
    assert status.outputs == ()
    assert status.error is not None
    assert (status.error.type, status.error.code) == (AigcContentRejectedError.__name__, "501")
    assert "moderation" in status.error.message


@pytest.mark.parametrize(
    ("code", "expected"),
    [(201, "AigcJobFailedError"), ("201", "AigcJobFailedError"), ("501", "AigcContentRejectedError")],
)
def test_failed_sub_task_code_as_int_or_string(code: int | str, expected: str) -> None:
    status = status_of(task("FAILED", sub_task(0), sub_task(code, "FAILED", images=0)))
    assert status.state is JobState.FAILED
    assert status.error is not None
    assert (status.error.type, status.error.code) == (expected, str(code))


def test_failed_with_undocumented_sub_task_code_is_job_failed() -> None:
    status = status_of(task("FAILED", sub_task(777, "FAILED", images=0)))
    assert status.error is not None
    assert (status.error.type, status.error.code) == (AigcJobFailedError.__name__, "777")


def test_failed_without_any_sub_task_code_is_job_failed_without_code() -> None:
    status = status_of(task("FAILED", progress=1))
    assert status.error is not None
    assert (status.error.type, status.error.code) == (AigcJobFailedError.__name__, None)


def test_failed_sub_task_with_code_zero_counts_as_failure() -> None:
    status = status_of(task("SUCCESS", sub_task(0, "FAILED", images=0)))
    assert status.state is JobState.FAILED
    assert status.error is not None
    assert (status.error.type, status.error.code) == (AigcJobFailedError.__name__, None)


@pytest.mark.parametrize(
    ("vendor_state", "state"),
    [("INIT", JobState.QUEUED), ("WAIT", JobState.QUEUED), ("RUNNING", JobState.RUNNING)],
)
def test_running_states(vendor_state: str, state: JobState) -> None:
    pending = {"sub_task_status": vendor_state, "sub_task_progress": 0, "sub_task_error_code": 0}
    status = status_of(task(vendor_state, {**pending, "final_image_list": []}))
    assert (status.state, status.progress, status.outputs, status.error) == (state, 0.0, (), None)


def test_fractional_progress_is_kept() -> None:
    assert status_of(task("RUNNING", progress=0.25)).progress == 0.25


def test_partial_success_keeps_existing_images_with_running_index() -> None:
    status = status_of(task("SUCCESS", sub_task(0, images=2), sub_task(501, "FAILED", images=0), sub_task(0)))
    assert status.state is JobState.SUCCEEDED
    assert status.error is None
    assert [output.index for output in status.outputs] == [0, 1, 2]


def test_billing_counts_the_images_of_success_sub_tasks() -> None:
    """getImgv2: "只有 SUCCESS 为成功状态,进行计费"; a FAILED sub task's images are not billed."""
    status = status_of(
        task("SUCCESS", sub_task(0, images=2), sub_task(501, "FAILED", images=1), sub_task(0, images=3))
    )
    assert (status.billed_units, status.billed_unit) == (5, "image")
    assert "只有 SUCCESS 为成功状态,进行计费" in (status.billing_basis or "")


def test_a_failed_task_bills_nothing_and_a_running_one_is_not_counted_yet() -> None:
    failed = status_of(task("SUCCESS", sub_task(201, "FAILED", images=0)))
    assert (failed.state, failed.billed_units, failed.billed_unit) == (JobState.FAILED, 0, "image")
    assert status_of(task("RUNNING", progress=0.5)).billed_units is None


def test_success_where_every_sub_task_failed_is_failed() -> None:
    status = status_of(task("SUCCESS", sub_task(201, "FAILED", images=0), sub_task(501, "FAILED", images=0)))
    assert status.state is JobState.FAILED
    assert status.error is not None
    assert status.error.code == "201"


def test_moderation_verdicts_are_kept() -> None:
    body = task("SUCCESS", sub_task(0, images=3))
    images = body["sub_task_result_list"][0]["final_image_list"]
    for image, verdict in zip(images, ("pass", "review", "block"), strict=True):
        image["img_approve_conclusion"] = verdict
    assert [output.moderation for output in status_of(body).outputs] == ["pass", "review", "block"]


def test_unsigned_url_expires_after_the_documented_hour() -> None:
    body = task("SUCCESS", sub_task(0))
    body["sub_task_result_list"][0]["final_image_list"][0]["img_url"] = "http://bos.example/a.png"
    assert status_of(body).outputs[0].expires_at == (NOW + timedelta(hours=1)).isoformat()
    assert (
        status_of(body, output_ttl_seconds=600).outputs[0].expires_at
        == (NOW + timedelta(seconds=600)).isoformat()
    )


def test_signed_url_expiry_wins_over_the_configured_ttl() -> None:
    assert status_of(DOC_SUCCESS, output_ttl_seconds=5).outputs[0].expires_at == DOC_EXPIRY.isoformat()


def _mutated(path: tuple[Any, ...], value: object) -> dict[str, Any]:
    body = copy.deepcopy(DOC_SUCCESS)
    target: Any = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return body


FIRST_IMAGE = ("sub_task_result_list", 0, "final_image_list", 0)


@pytest.mark.parametrize(
    "body",
    [
        _mutated(("task_status",), "DONE"),
        _mutated(("task_status",), None),
        _mutated(("task_id",), 1),
        _mutated(("task_progress",), 1.5),
        _mutated(("task_progress",), "1"),
        _mutated(("sub_task_result_list",), {"a": 1}),
        _mutated(("sub_task_result_list", 0), "x"),
        _mutated(("sub_task_result_list", 0, "sub_task_status"), "DONE"),
        _mutated(("sub_task_result_list", 0, "sub_task_error_code"), "oops"),
        _mutated(("sub_task_result_list", 0, "sub_task_error_code"), 1.5),
        _mutated((*FIRST_IMAGE, "img_url"), ""),
        _mutated((*FIRST_IMAGE, "width"), "1024"),
        _mutated((*FIRST_IMAGE, "height"), 0),
        _mutated((*FIRST_IMAGE, "img_approve_conclusion"), "maybe"),
        task("SUCCESS", sub_task(0, images=0)),
        {"data": "oops"},
    ],
)
def test_off_document_status_is_server_error(body: dict[str, Any]) -> None:
    with pytest.raises(AigcServerError, match="unexpected response"):
        status_of(body)


def test_parse_status_rejects_unknown_app() -> None:
    with pytest.raises(AigcInvalidRequestError):
        baidu.parse_status(respond(DOC_SUCCESS), job_id=DOC_SUCCESS_ID, app="cogview", now=NOW)


# --- output expiry ------------------------------------------------------------------------------


def test_expiry_from_document_url() -> None:
    expiry = baidu.expiry_from_bce_url(DOC_URL)
    assert expiry == DOC_EXPIRY
    assert expiry is not None
    assert expiry.tzinfo is not None


def test_expiry_from_unencoded_authorization() -> None:
    url = "http://b/x.png?authorization=bce-auth-v1/ak/2024-01-31T23:59:00Z/120/host/ff"
    assert baidu.expiry_from_bce_url(url) == datetime(2024, 2, 1, 0, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "url",
    [
        "http://b/x.png",
        "http://b/x.png?authorization=",
        "http://b/x.png?authorization=bce-auth-v2/ak/2023-07-06T02:46:53Z/1800/host/sig",
        "http://b/x.png?authorization=bce-auth-v1/ak/2023-07-06 02:46:53/1800/host/sig",
        "http://b/x.png?authorization=bce-auth-v1/ak/2023-07-06T02:46:53Z/-5/host/sig",
        "http://b/x.png?authorization=bce-auth-v1/ak/2023-07-06T02:46:53Z/1800/host",
        "http://b/x.png?authorization=bce-auth-v1/ak/9999-12-31T23:59:59Z/99999/host/sig",
        "http://[::1/x.png?authorization=bce-auth-v1/ak/2023-07-06T02:46:53Z/1800/host/sig",
        "not a url",
    ],
)
def test_expiry_absent_or_unreadable_is_none(url: str) -> None:
    assert baidu.expiry_from_bce_url(url) is None


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_expiry_never_raises(text: str) -> None:
    for url in (text, f"http://b/x.png?authorization={text}", f"{DOC_URL.split('%2F')[0]}%2F{text}"):
        expiry = baidu.expiry_from_bce_url(url)
        assert expiry is None or expiry.tzinfo is timezone.utc


# --- robustness: only taxonomy errors escape ----------------------------------------------------

DOC_BODIES = (
    DOC_SUCCESS,
    DOC_FAILED_501,
    {"log_id": 1, "data": DOC_SUCCESS},
    json.loads(DOC_SUBMIT_RESPONSE),
    {"access_token": "24.tok", "expires_in": 2592000},
    {"error": "invalid_client", "error_description": "unknown client id"},
    {"error_code": 110, "error_msg": "Access token invalid or no longer valid", "log_id": 1},
)
PARSERS = (
    baidu.parse_submit,
    lambda response: baidu.parse_token(response, now=0.0),
    lambda response: baidu.parse_status(response, job_id=DOC_SUCCESS_ID, app="txt2imgv2", now=NOW),
    lambda response: baidu.parse_status(response, job_id=DOC_FAILED_ID, app="txt2imgv2", now=NOW),
)


def _only_taxonomy_errors(response: HttpResponse) -> None:
    for parse in PARSERS:
        with contextlib.suppress(AigcError):
            parse(response)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(responses(json_values))
def test_arbitrary_json_raises_only_taxonomy_errors(response: HttpResponse) -> None:
    _only_taxonomy_errors(response)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(responses(st.sampled_from(DOC_BODIES).flatmap(mutated)))
def test_mutated_documented_bodies_raise_only_taxonomy_errors(response: HttpResponse) -> None:
    _only_taxonomy_errors(response)


# --- validation ---------------------------------------------------------------------------------


def valid(**params: Any) -> dict[str, Any]:
    return baidu.validate("txt2imgv2", {"prompt": "睡莲", **params})


def rejects(match: str, **params: Any) -> None:
    with pytest.raises(AigcInvalidRequestError, match=match):
        valid(**params)


def test_validate_fills_defaults() -> None:
    assert valid() == {"prompt": "睡莲", "version": "v2", "width": 1024, "height": 1024, "image_num": 1}


def test_validate_drops_none_values() -> None:
    assert valid(image=None, url=None, change_degree=None) == valid()


def test_prompt_length_limit() -> None:
    assert valid(prompt="莲" * 200)["prompt"] == "莲" * 200
    rejects("1-200 characters", prompt="莲" * 201)


@pytest.mark.parametrize("prompt", ["", " \n\t", 5])
def test_prompt_must_be_non_blank_text(prompt: object) -> None:
    rejects("prompt must be 1-200 characters", prompt=prompt)


def test_prompt_is_required() -> None:
    with pytest.raises(AigcInvalidRequestError, match="prompt"):
        baidu.validate("txt2imgv2", {"version": "v2", "prompt": None})


def test_english_prompt_is_not_rejected() -> None:
    assert valid(prompt="a water lily, oil painting!")["prompt"] == "a water lily, oil painting!"


@pytest.mark.parametrize(("image_num", "expected"), [(1, 1), (8, 8), ("4", 4)])
def test_image_num_accepted(image_num: object, expected: int) -> None:
    assert valid(image_num=image_num)["image_num"] == expected


@pytest.mark.parametrize("image_num", [0, 9, True, "four", 2.5])
def test_image_num_rejected(image_num: object) -> None:
    rejects("image_num must be an integer 1-8", image_num=image_num)


def test_v1_rejects_v2_only_size_and_lists_allowed_sizes() -> None:
    with pytest.raises(AigcInvalidRequestError) as raised:
        valid(version="v1", width=512, height=512)
    message = str(raised.value)
    assert "512x512" in message
    assert "1024x1024, 1280x720, 720x1280, 2048x2048, 2560x1440, 1440x2560" in message
    assert "640x360" not in message


@pytest.mark.parametrize(("width", "height"), [(512, 512), ("640", "360"), (1440, 2560)])
def test_v2_sizes_accepted(width: object, height: object) -> None:
    request = valid(width=width, height=height)
    assert (request["width"], request["height"]) == (int(str(width)), int(str(height)))


@pytest.mark.parametrize(("width", "height"), [(1024, 720), (100, 100), (1024, None), (None, 1024)])
def test_sizes_outside_the_table_rejected(width: object, height: object) -> None:
    params = {name: value for name, value in (("width", width), ("height", height)) if value is not None}
    rejects("width|height", **params)


def test_unknown_version_rejected() -> None:
    rejects("v1, v2", version="v3")


def test_unknown_parameter_rejected() -> None:
    rejects("style", style="油画")


def test_unknown_app_rejected() -> None:
    with pytest.raises(AigcInvalidRequestError, match="txt2imgv2"):
        baidu.validate("txt2img", {"prompt": "睡莲"})


PNG_B64 = base64.b64encode(b"\x89PNG fake bytes").decode()


@pytest.mark.parametrize(
    "reference",
    [
        {"image": PNG_B64, "url": "https://x/a.png"},
        {"url": "https://x/a.png", "pdf_file": PNG_B64},
        {"image": PNG_B64, "pdf_file": PNG_B64},
    ],
)
def test_two_references_rejected(reference: dict[str, str]) -> None:
    rejects("at most one of image, url, pdf_file", change_degree=5, **reference)


def test_reference_without_change_degree_rejected() -> None:
    rejects("change_degree .* required with image", image=PNG_B64)


def test_change_degree_without_reference_rejected() -> None:
    rejects("change_degree applies only with a reference", change_degree=3)


@pytest.mark.parametrize("degree", [0, 11, True])
def test_change_degree_range(degree: object) -> None:
    rejects("change_degree must be an integer 1-10", image=PNG_B64, change_degree=degree)


def test_reference_request_is_complete() -> None:
    assert valid(image=PNG_B64, change_degree="10") == {
        **valid(),
        "image": PNG_B64,
        "change_degree": 10,
    }


def test_url_length_limit_in_bytes() -> None:
    base = "https://bos.example/"
    assert valid(url=base + "a" * (1024 - len(base)), change_degree=1)["url"].endswith("a")
    rejects("at most 1024 bytes, got 1025", url=base + "a" * (1025 - len(base)), change_degree=1)
    rejects("at most 1024 bytes", url=base + "莲" * 340, change_degree=1)  # 1020 chars, 1040 bytes


@pytest.mark.parametrize("url", ["bos.example/a.png", "ftp://x/a.png", 5])
def test_url_must_be_http(url: object) -> None:
    rejects("full http", url=url, change_degree=1)


@pytest.mark.parametrize("blob", ["not base64!", "abc", "", "莲莲莲莲", 12])
def test_blob_must_be_base64(blob: object) -> None:
    rejects("base64", image=blob, change_degree=1)


def test_blob_size_limit_is_ten_megabytes_decoded() -> None:
    limit = 10 * 1024 * 1024
    assert valid(pdf_file=base64.b64encode(bytes(limit)).decode(), change_degree=1)
    rejects("10 MB", image=base64.b64encode(bytes(limit + 1)).decode(), change_degree=1)


def test_pdf_file_num_only_with_pdf_file() -> None:
    rejects("pdf_file_num applies only together with pdf_file", pdf_file_num=2)
    rejects(
        "pdf_file_num applies only together with pdf_file", image=PNG_B64, change_degree=1, pdf_file_num=2
    )
    assert valid(pdf_file=PNG_B64, change_degree=1, pdf_file_num=2)["pdf_file_num"] == "2"
    rejects("pdf_file_num must be an integer >= 1", pdf_file=PNG_B64, change_degree=1, pdf_file_num=0)


def test_describe_request_hides_blobs() -> None:
    request = valid(pdf_file=PNG_B64, change_degree=1)
    described = baidu.describe_request("txt2imgv2", request)
    assert described == {**request, "pdf_file": f"<base64: {len(PNG_B64)} chars>"}
    assert request["pdf_file"] == PNG_B64
