"""DashScopeHook over a scripted vendor: bearer key and async header, what is resent and what is
not (a concurrency refusal waits outside the call, an unconfirmed submit never goes twice), the
free connection test, cancel and the task listing; the key never in logs or messages."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_aigc.exceptions import (
    AigcAuthError,
    AigcConcurrencyLimitError,
    AigcInvalidRequestError,
    AigcQuotaExceededError,
    AigcSubmitUnconfirmedError,
)
from airflow_provider_aigc.hooks.dashscope import PROBE_TASK_ID, DashScopeHook
from airflow_provider_aigc.hooks.zhipu import ZhipuHook
from airflow_provider_aigc.models import JobState
from tests.unit.hooks.fakes import Drop, FakeVendor, Reply

if TYPE_CHECKING:
    from collections.abc import Callable

KEY = "sk-test-0123456789abcdef0123456789"
TASK = "0385dc79-5ff8-4d82-bcb6-xxxxxx"
IMAGE_PATH = "/services/aigc/text2image/image-synthesis"
WAN26_PATH = "/services/aigc/image-generation/generation"
STATUS_PATH = f"/tasks/{TASK}"
ACCEPTED = {"output": {"task_status": "PENDING", "task_id": TASK}, "request_id": "r1"}
IMAGE = {"prompt": "一只狐狸", "model": "wan2.2-t2i-flash"}


def _refusal(code: str, message: str) -> dict[str, Any]:
    return {"request_id": "r2", "code": code, "message": message}


def _done() -> dict[str, Any]:
    return {
        "request_id": "r3",
        "output": {
            "task_id": TASK,
            "task_status": "SUCCEEDED",
            "end_time": "2026-03-02 10:00:19.789",
            "results": [{"url": "https://oss.example.com/1.png?Expires=1772500000&Signature=x"}],
        },
        "usage": {"image_count": 1},
    }


@pytest.fixture
def hook(make_hook: Callable[..., Any]) -> DashScopeHook:
    made: DashScopeHook = make_hook(DashScopeHook, password=KEY)
    return made


def test_class_attributes() -> None:
    assert (DashScopeHook.conn_type, DashScopeHook.default_conn_name) == (
        "aigc_dashscope",
        "aigc_dashscope_default",
    )


def test_submit_sends_the_bearer_key_and_the_async_header(vendor: FakeVendor, hook: DashScopeHook) -> None:
    vendor.script(IMAGE_PATH, Reply(ACCEPTED))

    ref = hook.submit("wan_image", IMAGE)

    (seen,) = vendor.seen(IMAGE_PATH)
    assert seen.headers["authorization"] == f"Bearer {KEY}"
    assert seen.headers["x-dashscope-async"] == "enable"
    assert "x-dashscope-workspace" not in seen.headers
    assert seen.json["parameters"]["n"] == 1
    assert (ref.vendor, ref.app, ref.job_id) == ("dashscope", "wan_image", TASK)
    assert KEY not in str(ref.to_dict())


def test_the_workspace_extra_is_sent(vendor: FakeVendor, make_hook: Callable[..., Any]) -> None:
    vendor.script(WAN26_PATH, Reply(ACCEPTED))

    make_hook(DashScopeHook, password=KEY, workspace="llm-ws1").submit("wan_image", {"prompt": "p"})

    assert vendor.seen(WAN26_PATH)[0].headers["x-dashscope-workspace"] == "llm-ws1"


def test_status_is_a_get_without_the_async_header(vendor: FakeVendor, hook: DashScopeHook) -> None:
    vendor.script(STATUS_PATH, Reply({"output": {"task_id": TASK, "task_status": "RUNNING"}}), Reply(_done()))

    assert hook.get_status(TASK, "wan_image").state is JobState.RUNNING
    done = hook.get_status(TASK, "wan_image")

    first = vendor.seen(STATUS_PATH)[0]
    assert first.method == "GET"
    assert "x-dashscope-async" not in first.headers
    assert done.state is JobState.SUCCEEDED
    assert done.billed_units == 1


def test_a_rate_limit_is_retried_but_a_concurrency_refusal_is_not(
    vendor: FakeVendor, hook: DashScopeHook
) -> None:
    vendor.script(
        IMAGE_PATH,
        Reply(_refusal("Throttling.RateQuota", "Requests rate limit exceeded"), status=429),
        Reply(ACCEPTED),
    )
    assert hook.submit("wan_image", IMAGE).job_id == TASK
    assert len(vendor.seen(IMAGE_PATH)) == 2

    vendor.script(
        IMAGE_PATH, Reply(_refusal("Throttling", "too many concurrent tasks"), status=429), Reply(ACCEPTED)
    )
    with pytest.raises(AigcConcurrencyLimitError) as caught:
        hook.submit("wan_image", IMAGE)
    assert caught.value.refused is True  # nothing was bought: the capacity wait may send it again
    assert len(vendor.seen(IMAGE_PATH)) == 3


@pytest.mark.parametrize(
    ("code", "message", "error_type"),
    [
        (
            "Arrearage",
            "Access denied, please make sure your account is in good standing.",
            AigcQuotaExceededError,
        ),
        ("Throttling.AllocationQuota", "Free allocated quota exceeded.", AigcQuotaExceededError),
        ("InvalidApiKey", "Invalid API-key provided.", AigcAuthError),
    ],
)
def test_quota_arrears_and_auth_fail_at_once(
    vendor: FakeVendor, hook: DashScopeHook, code: str, message: str, error_type: type[Exception]
) -> None:
    vendor.script(IMAGE_PATH, Reply(_refusal(code, message), status=429 if "Quota" in code else 400))

    with pytest.raises(error_type, match=code):
        hook.submit("wan_image", IMAGE)

    assert len(vendor.seen(IMAGE_PATH)) == 1


@pytest.mark.parametrize(
    "answer",
    [
        Reply(_refusal("InternalError", "An internal error has occured"), status=500),
        Reply(_refusal("RequestTimeOut", "Request timed out"), status=408),
        Reply(b"<html>502 Bad Gateway</html>", status=502),
        Drop(),
    ],
)
def test_a_submit_with_an_unknown_outcome_is_never_resent(
    vendor: FakeVendor, hook: DashScopeHook, answer: Reply | Drop
) -> None:
    vendor.script(IMAGE_PATH, answer, Reply(ACCEPTED))

    with pytest.raises(AigcSubmitUnconfirmedError):
        hook.submit("wan_image", IMAGE)

    assert len(vendor.seen(IMAGE_PATH)) == 1


def test_test_connection_buys_nothing_and_reads_unknown_as_success(
    vendor: FakeVendor, hook: DashScopeHook
) -> None:
    vendor.script(
        f"/tasks/{PROBE_TASK_ID}", Reply({"output": {"task_id": PROBE_TASK_ID, "task_status": "UNKNOWN"}})
    )

    ok, message = hook.test_connection()

    assert ok is True
    assert "accepted the API key" in message
    assert [request.method for request in vendor.requests] == ["GET"]


def test_test_connection_reports_a_wrong_key_without_quoting_it(
    vendor: FakeVendor, hook: DashScopeHook
) -> None:
    vendor.script(
        f"/tasks/{PROBE_TASK_ID}", Reply(_refusal("InvalidApiKey", "Invalid API-key provided."), status=401)
    )

    ok, message = hook.test_connection()

    assert ok is False
    assert "InvalidApiKey" in message
    assert KEY not in message


def test_missing_key_fails_before_any_call(vendor: FakeVendor, make_hook: Callable[..., Any]) -> None:
    with pytest.raises(AigcAuthError, match="password to the Model Studio API key"):
        make_hook(DashScopeHook).submit("wan_image", IMAGE)
    assert vendor.requests == []


def test_cancel_posts_to_the_task_and_reports_a_running_task(vendor: FakeVendor, hook: DashScopeHook) -> None:
    path = f"/tasks/{TASK}/cancel"
    vendor.script(
        path,
        Reply({"request_id": "r4"}),
        Reply(_refusal("UnsupportedOperation", "Failed to cancel the task"), status=400),
    )

    hook.cancel(TASK)
    with pytest.raises(AigcInvalidRequestError, match="UnsupportedOperation"):
        hook.cancel(TASK)

    assert [request.method for request in vendor.seen(path)] == ["POST", "POST"]
    assert DashScopeHook.can_cancel


def test_a_vendor_without_a_cancel_call_refuses_to_cancel_and_sends_nothing(
    vendor: FakeVendor, make_hook: Callable[..., Any]
) -> None:
    zhipu = make_hook(ZhipuHook)

    with pytest.raises(AigcInvalidRequestError, match="zhipu offers no call to cancel a job"):
        zhipu.cancel(TASK)

    assert not ZhipuHook.can_cancel
    assert vendor.requests == []


def test_list_tasks_asks_for_the_model_within_24_hours(vendor: FakeVendor, hook: DashScopeHook) -> None:
    body = {
        "request_id": "r5",
        "data": [{"task_id": TASK, "status": "RUNNING", "model_name": "wan2.2-t2i-flash", "gmt_create": 0}],
    }
    vendor.script("/tasks/", Reply(body))

    (task,) = hook.list_tasks(
        "wan2.2-t2i-flash",
        datetime(2026, 3, 1, tzinfo=timezone.utc),  # more than 24 h: cut to the documented window
        datetime(2026, 3, 3, tzinfo=timezone.utc),
    )

    assert task.task_id == TASK
    query = vendor.seen("/tasks/")[0].query
    assert (query["model_name"], query["start_time"], query["end_time"]) == (
        "wan2.2-t2i-flash",
        "20260302080000",
        "20260303080000",
    )


def test_the_key_never_reaches_our_logs(
    vendor: FakeVendor, hook: DashScopeHook, hook_logs: pytest.LogCaptureFixture
) -> None:
    vendor.script(IMAGE_PATH, Reply(b"busy", status=503))
    vendor.script(STATUS_PATH, Reply(b"busy", status=503), Reply(_done()))

    with pytest.raises(AigcSubmitUnconfirmedError) as caught:
        hook.submit("wan_image", IMAGE)
    hook.get_status(TASK, "wan_image")

    own = [record.getMessage() for record in hook_logs.records if "airflow_provider_aigc" in record.name]
    assert any("retry 1" in line for line in own)
    assert [line for line in [*own, str(caught.value)] if KEY in line] == []
