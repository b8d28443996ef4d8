from __future__ import annotations

import pickle

import pytest

from airflow_provider_aigc.exceptions import (
    EXCEPTION_CLASSES,
    VENDOR_ERROR_CODES,
    AigcAuthError,
    AigcContentRejectedError,
    AigcError,
    AigcInvalidRequestError,
    AigcJobFailedError,
    AigcQuotaExceededError,
    AigcRateLimitError,
    AigcServerError,
    AigcUnknownJobError,
    error_for_code,
    error_for_http_status,
    trim,
)


@pytest.mark.parametrize(
    ("vendor", "code", "cls"),
    [
        ("zhipu", 10001, AigcAuthError),
        ("zhipu", 10003, AigcRateLimitError),
        ("zhipu", 10004, AigcQuotaExceededError),
        ("baidu", 111, AigcAuthError),
        ("baidu", 15, AigcRateLimitError),
        ("baidu", 17, AigcQuotaExceededError),
        ("baidu", 282004, AigcInvalidRequestError),
        ("baidu", 216630, AigcServerError),
        ("baidu.sub_task", 501, AigcContentRejectedError),
        ("baidu.sub_task", 201, AigcJobFailedError),
        ("jumdata", 201, AigcUnknownJobError),
        ("jumdata", 202, AigcContentRejectedError),
        ("jumdata", 607, AigcAuthError),
        ("jumdata", 609, AigcRateLimitError),
        ("jumdata", 999, AigcServerError),
    ],
)
def test_documented_codes_map_to_their_class(vendor: str, code: int, cls: type[AigcError]) -> None:
    error = error_for_code(vendor, code, "message")
    assert type(error) is cls
    assert error.code == str(code)
    assert error.vendor == vendor.split(".")[0]


def test_unknown_code_is_a_retryable_server_error() -> None:
    error = error_for_code("jumdata", 12345, "odd")
    assert isinstance(error, AigcServerError)
    assert error.retryable


def test_retry_flags_follow_the_design() -> None:
    retryable = {name for name, cls in EXCEPTION_CLASSES.items() if cls.retryable}
    fail_fast = {name for name, cls in EXCEPTION_CLASSES.items() if cls.fail_fast}
    assert retryable == {"AigcRateLimitError", "AigcServerError"}
    assert fail_fast == {
        "AigcAuthError",
        "AigcInvalidRequestError",
        "AigcContentRejectedError",
        "AigcOutputExpiredError",
        "AigcUnknownJobError",
        "AigcSubmitUnconfirmedError",
        "AigcJobConflictError",
    }
    assert not retryable & fail_fast


def test_every_mapped_class_is_in_the_family() -> None:
    assert set(VENDOR_ERROR_CODES.values()) <= set(EXCEPTION_CLASSES.values())


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, AigcAuthError),
        (403, AigcAuthError),
        (429, AigcRateLimitError),
        (400, AigcInvalidRequestError),
        (404, AigcInvalidRequestError),
        (500, AigcServerError),
        (503, AigcServerError),
    ],
)
def test_http_status_classification(status: int, cls: type[AigcError]) -> None:
    error = error_for_http_status("baidu", status, b"body", retry_after=2.0)
    assert type(error) is cls
    assert "HTTP " + str(status) in str(error)


def test_trim_bounds_huge_payloads() -> None:
    text = trim(b"x" * 10_000)
    assert len(text) < 400
    assert "10000 chars" in text


def test_exceptions_survive_pickling_with_their_state() -> None:
    error = AigcRateLimitError("slow down", vendor="baidu", code=18, retry_after=3.0)
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is AigcRateLimitError
    assert (clone.message, clone.vendor, clone.code, clone.retry_after) == ("slow down", "baidu", "18", 3.0)


def test_trim_cuts_url_query_strings_where_signatures_live() -> None:
    body = (
        b'{"img": "http://cdn.example/0.png?e=123&s=deadbeef", '
        b'"escaped": "https:\\/\\/bj.bcebos.com\\/1.png?authorization=bce-auth-v1%2Fak%2Fsig"}'
    )
    text = trim(body)
    assert "deadbeef" not in text
    assert "bce-auth-v1" not in text
    assert "http://cdn.example/0.png?<redacted>" in text
