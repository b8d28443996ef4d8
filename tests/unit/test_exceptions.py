from __future__ import annotations

import pickle

import pytest

from airflow_provider_aigc.exceptions import (
    EXCEPTION_CLASSES,
    AigcAuthError,
    AigcError,
    AigcInvalidRequestError,
    AigcRateLimitError,
    AigcServerError,
    error_for_http_status,
    trim,
)


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
        "AigcQuotaExceededError",
        "AigcCapacityTimeoutError",
        "AigcBalanceError",
    }
    assert not retryable & fail_fast


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
    error = error_for_http_status("baidu", status, b"body")
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
