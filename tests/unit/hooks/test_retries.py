"""The hooks' retry policy against a real loopback server: what is repeated, how often, how long."""

from __future__ import annotations

import socket
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_aigc.exceptions import (
    AigcAuthError,
    AigcInvalidRequestError,
    AigcQuotaExceededError,
    AigcServerError,
    AigcSubmitUnconfirmedError,
)
from airflow_provider_aigc.hooks import transport
from airflow_provider_aigc.hooks.base import SUBMIT_UNCONFIRMED
from airflow_provider_aigc.hooks.zhipu import ZhipuHook
from airflow_provider_aigc.models import JobState
from tests.unit.hooks.fakes import (
    ZHIPU_TASK_ID,
    Action,
    Drop,
    FakeVendor,
    Hang,
    Reply,
    Sleeps,
    zhipu_accepted,
    zhipu_done,
    zhipu_error,
)

if TYPE_CHECKING:
    from collections.abc import Callable

CONSOLE = {"login": "demo-zhipu-console-apikey", "password": "demo-zhipu-console-apisecret"}
SUBMIT, STATUS = "/v1/cogview", "/v1/status"
NOW = 1_700_000_000.0
MAY_HAVE_ACCEPTED = "the job may have been accepted, so the submit was not repeated"


@pytest.fixture
def zhipu(make_hook: Callable[..., Any]) -> Callable[..., ZhipuHook]:
    def make(**extra: Any) -> ZhipuHook:
        hook: ZhipuHook = make_hook(ZhipuHook, clock=lambda: NOW, **CONSOLE, **extra)
        return hook

    return make


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- status polls: every retryable error is retried ----------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        Reply(b"<html>bad gateway</html>", status=502),
        Reply(zhipu_error(10003, "接口速率超限制")),
        Reply(b"not json at all"),
        Drop(),
    ],
    ids=["http-502", "rate-limit-code", "non-json-200", "dropped-connection"],
)
def test_status_retries_transient_failures(
    vendor: FakeVendor, zhipu: Callable[..., ZhipuHook], sleeps: Sleeps, failure: Any
) -> None:
    vendor.script(STATUS, failure, Reply(zhipu_done()))
    status = zhipu().get_status(ZHIPU_TASK_ID, "cogview")
    assert status.state is JobState.SUCCEEDED
    assert len(vendor.seen(STATUS)) == 2
    assert len(sleeps) == 1


def test_status_retries_a_read_timeout(
    vendor: FakeVendor, zhipu: Callable[..., ZhipuHook], sleeps: Sleeps
) -> None:
    vendor.script(STATUS, Hang(), Reply(zhipu_done()))
    status = zhipu(timeout=0.3).get_status(ZHIPU_TASK_ID, "cogview")
    assert status.state is JobState.SUCCEEDED
    assert len(vendor.seen(STATUS)) == 2


def test_attempts_are_bounded_by_max_retries(
    vendor: FakeVendor, zhipu: Callable[..., ZhipuHook], sleeps: Sleeps
) -> None:
    vendor.script(STATUS, Reply(b"unavailable", status=503))
    with pytest.raises(AigcServerError, match="HTTP 503"):
        zhipu(max_retries=2).get_status(ZHIPU_TASK_ID, "cogview")
    assert len(vendor.seen(STATUS)) == 3
    assert len(sleeps) == 2
    assert all(0.0 <= pause <= 2.0 for pause in sleeps)


def test_retry_after_seconds_is_honoured(
    vendor: FakeVendor, zhipu: Callable[..., ZhipuHook], sleeps: Sleeps
) -> None:
    vendor.script(STATUS, Reply(b"slow down", status=429, headers={"Retry-After": "7"}), Reply(zhipu_done()))
    zhipu().get_status(ZHIPU_TASK_ID, "cogview")
    assert sleeps == [7.0]


def test_retry_after_http_date_is_honoured(
    vendor: FakeVendor, zhipu: Callable[..., ZhipuHook], sleeps: Sleeps
) -> None:
    when = format_datetime(datetime.fromtimestamp(NOW + 20, tz=timezone.utc), usegmt=True)
    vendor.script(STATUS, Reply(b"busy", status=503, headers={"Retry-After": when}), Reply(zhipu_done()))
    zhipu().get_status(ZHIPU_TASK_ID, "cogview")
    assert sleeps == [20.0]


def test_retry_after_is_capped(vendor: FakeVendor, zhipu: Callable[..., ZhipuHook], sleeps: Sleeps) -> None:
    vendor.script(
        STATUS,
        Reply(b"come back tomorrow", status=429, headers={"Retry-After": "86400"}),
        Reply(zhipu_done()),
    )
    zhipu().get_status(ZHIPU_TASK_ID, "cogview")
    assert sleeps == [120.0]


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(zhipu_error(10001, "apikey和apisecret与当前接口不匹配")), AigcAuthError),
        (Reply(zhipu_error(10004, "接口周期次数超限制")), AigcQuotaExceededError),
        (Reply(b"bad request", status=400), AigcInvalidRequestError),
        (Reply(b"forbidden", status=403), AigcAuthError),
    ],
    ids=["auth", "quota", "http-400", "http-403"],
)
def test_errors_that_cannot_succeed_are_never_retried(
    vendor: FakeVendor, zhipu: Callable[..., ZhipuHook], sleeps: Sleeps, reply: Reply, error: type[Exception]
) -> None:
    vendor.script(STATUS, reply)
    vendor.script(SUBMIT, reply)
    hook = zhipu()
    with pytest.raises(error):
        hook.get_status(ZHIPU_TASK_ID, "cogview")
    with pytest.raises(error):
        hook.submit("cogview", {"query": "睡莲"})
    assert len(vendor.seen(STATUS)) == 1
    assert len(vendor.seen(SUBMIT)) == 1
    assert sleeps == []


def test_a_redirect_is_not_followed_and_names_the_target_without_its_query(
    vendor: FakeVendor, zhipu: Callable[..., ZhipuHook]
) -> None:
    vendor.script(
        STATUS,
        Reply(b"", status=301, headers={"Location": "https://new.example.com/api/v1/status?task_id=1"}),
    )
    with pytest.raises(
        AigcInvalidRequestError, match=r"redirecting to https://new.example.com/api/v1/status;"
    ):
        zhipu().get_status(ZHIPU_TASK_ID, "cogview")
    assert len(vendor.requests) == 1


# --- submits: repeated only when the vendor proved it did not take the job ------------------


@pytest.mark.parametrize(
    "failure",
    [
        Reply(zhipu_error(10003, "接口速率超限制")),
        Reply(zhipu_error(10003, "接口速率超限制"), status=503),
        Reply(b"too many requests", status=429),
    ],
    ids=["rate-limit-code", "rate-limit-code-in-a-503", "http-429"],
)
def test_submit_retries_answers_that_reject_the_job(
    vendor: FakeVendor, zhipu: Callable[..., ZhipuHook], sleeps: Sleeps, failure: Reply
) -> None:
    vendor.script(SUBMIT, failure, Reply(zhipu_accepted()))
    ref = zhipu().submit("cogview", {"query": "睡莲"})
    assert ref.job_id == ZHIPU_TASK_ID
    assert len(vendor.seen(SUBMIT)) == 2
    assert len(sleeps) == 1


@pytest.mark.parametrize(
    ("first", "extra", "reason"),
    [
        (Hang(), {"timeout": 0.3}, "ReadTimeout"),
        (Drop(), {}, None),
        (Reply(b"<html>ok</html>"), {}, None),
        (Reply(b"<html>bad gateway</html>", status=502), {}, "HTTP 502"),
        (Reply(b"<html>gateway timeout</html>", status=504), {}, "HTTP 504"),
        (Reply({"error": "internal"}, status=500), {}, "HTTP 500"),
        (Reply(zhipu_error(50000, "internal error")), {}, "50000"),
    ],
    ids=[
        "read-timeout",
        "dropped-connection",
        "malformed-success",
        "gateway-502-html",
        "gateway-504-html",
        "5xx-json-without-vendor-code",
        "undocumented-vendor-code",
    ],
)
def test_submit_is_not_repeated_when_the_job_may_have_been_accepted(
    vendor: FakeVendor,
    zhipu: Callable[..., ZhipuHook],
    sleeps: Sleeps,
    first: Action,
    extra: dict[str, Any],
    reason: str | None,
) -> None:
    vendor.script(SUBMIT, first, Reply(zhipu_accepted()))
    with pytest.raises(AigcServerError, match=MAY_HAVE_ACCEPTED) as raised:
        zhipu(**extra).submit("cogview", {"query": "睡莲"})
    if reason is not None:
        assert reason in raised.value.message
    assert raised.value.code == SUBMIT_UNCONFIRMED
    assert isinstance(raised.value, AigcSubmitUnconfirmedError)
    assert raised.value.fail_fast
    assert len(vendor.seen(SUBMIT)) == 1
    assert sleeps == []


def test_submit_retries_when_the_connection_never_opened(
    make_hook: Callable[..., Any], connection: Callable[..., str], sleeps: Sleeps
) -> None:
    conn_id = connection(
        "refused",
        "aigc_zhipu",
        host=f"http://127.0.0.1:{_closed_port()}",
        extra={"max_retries": 2},
        **CONSOLE,
    )
    with pytest.raises(AigcServerError, match="got no answer") as raised:
        ZhipuHook(conn_id, sleep=sleeps).submit("cogview", {"query": "睡莲"})
    assert MAY_HAVE_ACCEPTED not in raised.value.message
    assert raised.value.code is None
    assert len(sleeps) == 2


@pytest.mark.parametrize(
    "failure",
    [
        Reply(b"<html>bad gateway</html>", status=502),
        Reply({"error": "internal"}, status=500),
        Reply(zhipu_error(50000, "internal error")),
    ],
    ids=["gateway-502-html", "5xx-json-without-vendor-code", "undocumented-vendor-code"],
)
def test_status_polls_still_retry_what_a_submit_may_not(
    vendor: FakeVendor, zhipu: Callable[..., ZhipuHook], sleeps: Sleeps, failure: Reply
) -> None:
    vendor.script(STATUS, failure, Reply(zhipu_done()))
    assert zhipu().get_status(ZHIPU_TASK_ID, "cogview").state is JobState.SUCCEEDED
    assert len(vendor.seen(STATUS)) == 2


# --- the same policy on the async path -----------------------------------------------------


async def test_async_status_retries_with_the_async_sleep(
    vendor: FakeVendor, zhipu: Callable[..., ZhipuHook], sleeps: Sleeps, aio_sessions: None
) -> None:
    vendor.script(
        STATUS, Reply(b"busy", status=503, headers={"Retry-After": "4"}), Hang(), Reply(zhipu_done())
    )
    status = await zhipu(timeout=0.3).aget_status(ZHIPU_TASK_ID, "cogview")
    assert status.state is JobState.SUCCEEDED
    assert len(vendor.seen(STATUS)) == 3
    assert sleeps[0] == 4.0
    assert len(sleeps) == 2


def test_an_oversized_status_answer_is_not_held_in_memory(
    vendor: FakeVendor, zhipu: Callable[..., ZhipuHook], sleeps: Sleeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transport, "MAX_RESPONSE_BYTES", 1000)
    vendor.script(STATUS, Reply(b"x" * 5000), Reply(zhipu_done()))
    status = zhipu().get_status(ZHIPU_TASK_ID, "cogview")
    assert status.state is JobState.SUCCEEDED
    assert len(vendor.seen(STATUS)) == 2


def test_an_oversized_submit_answer_is_unconfirmed(
    vendor: FakeVendor, zhipu: Callable[..., ZhipuHook], sleeps: Sleeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transport, "MAX_RESPONSE_BYTES", 1000)
    vendor.script(SUBMIT, Reply(b"x" * 5000), Reply(zhipu_accepted()))
    with pytest.raises(AigcSubmitUnconfirmedError, match="larger than 1000 bytes"):
        zhipu().submit("cogview", {"query": "睡莲"})
    assert len(vendor.seen(SUBMIT)) == 1


async def test_an_oversized_async_answer_is_refused(
    vendor: FakeVendor,
    zhipu: Callable[..., ZhipuHook],
    sleeps: Sleeps,
    aio_sessions: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(transport, "MAX_RESPONSE_BYTES", 1000)
    vendor.script(STATUS, Reply(b"x" * 200_000), Reply(zhipu_done()))
    status = await zhipu().aget_status(ZHIPU_TASK_ID, "cogview")
    assert status.state is JobState.SUCCEEDED
    assert len(vendor.seen(STATUS)) == 2
