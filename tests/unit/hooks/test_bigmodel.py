from __future__ import annotations

import base64
import json
import logging
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_aigc.exceptions import (
    AigcAuthError,
    AigcConcurrencyLimitError,
    AigcContentRejectedError,
    AigcSubmitUnconfirmedError,
)
from airflow_provider_aigc.hooks import base
from airflow_provider_aigc.hooks.bigmodel import PROBE_TASK_ID, BigModelHook
from airflow_provider_aigc.models import JobState
from tests.unit.hooks.fakes import FakeVendor, Reply

if TYPE_CHECKING:
    from collections.abc import Callable

KEY = "fedcba9876543210fedcba9876543210.FAKEsecretFAKEsecret"
SUBMIT, RESULT = "/paas/v4/videos/generations", "/paas/v4/async-result/"
TASK = "FAKE-TASK-0000000000000001"
ACCEPTED = {
    "model": "cogvideox-3",
    "id": TASK,
    "request_id": "airflow-req-000001",
    "task_status": "PROCESSING",
}
DONE = {
    "model": "cogvideox-3",
    "task_status": "SUCCESS",
    "request_id": "airflow-req-000001",
    "video_result": [
        {"url": "https://cdn.example.invalid/v.mp4", "cover_image_url": "https://cdn.example.invalid/c.png"}
    ],
}


def error(code: str, message: str = "m") -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def test_class_attributes() -> None:
    assert (BigModelHook.conn_type, BigModelHook.default_conn_name) == (
        "aigc_bigmodel",
        "aigc_bigmodel_default",
    )
    assert "BigModel" in BigModelHook.hook_name


def test_submit_sends_the_bearer_key_and_returns_the_task_id(
    vendor: FakeVendor, make_hook: Callable[..., Any]
) -> None:
    vendor.script(SUBMIT, Reply(ACCEPTED))
    ref = make_hook(BigModelHook, password=KEY).submit(
        "cogvideox", {"prompt": "a paper boat", "duration": 10}
    )
    (seen,) = vendor.seen(SUBMIT)
    assert seen.headers["authorization"] == f"Bearer {KEY}"
    assert seen.json == {"model": "cogvideox-3", "prompt": "a paper boat", "duration": 10}
    assert (ref.vendor, ref.app, ref.job_id) == ("bigmodel", "cogvideox", TASK)


def test_jwt_option_mints_a_token_per_call(vendor: FakeVendor, make_hook: Callable[..., Any]) -> None:
    vendor.script(RESULT + TASK, Reply(DONE))
    clock = iter([1_700_000_000.0 + i for i in range(100)])
    hook = make_hook(BigModelHook, password=KEY, jwt=True, clock=lambda: next(clock))
    status = hook.get_status(TASK, "cogvideox")
    hook.get_status(TASK, "cogvideox")
    tokens = [seen.headers["authorization"].removeprefix("Bearer ") for seen in vendor.seen(RESULT + TASK)]
    assert len(set(tokens)) == 2
    claims = json.loads(base64.urlsafe_b64decode(tokens[0].split(".")[1] + "=="))
    assert claims["api_key"] == "fedcba9876543210fedcba9876543210"
    assert all("FAKEsecret" not in token for token in tokens)
    assert status.state is JobState.SUCCEEDED
    assert [o.kind for o in status.outputs] == ["video", "cover"]


def test_an_expired_jwt_is_minted_again_once(vendor: FakeVendor, make_hook: Callable[..., Any]) -> None:
    vendor.script(RESULT + TASK, Reply(error("1003"), 401), Reply(DONE))
    hook = make_hook(BigModelHook, password=KEY, jwt=True)
    assert hook.get_status(TASK, "cogvideox").state is JobState.SUCCEEDED
    assert len(vendor.seen(RESULT + TASK)) == 2


def test_an_expired_plain_key_is_not_retried(vendor: FakeVendor, make_hook: Callable[..., Any]) -> None:
    vendor.script(RESULT + TASK, Reply(error("1003"), 401), Reply(DONE))
    with pytest.raises(AigcAuthError):
        make_hook(BigModelHook, password=KEY).get_status(TASK, "cogvideox")
    assert len(vendor.seen(RESULT + TASK)) == 1


@pytest.mark.parametrize(
    ("code", "error_class"),
    [
        ("1302", AigcConcurrencyLimitError),
        ("1301", AigcContentRejectedError),
        ("1231", AigcSubmitUnconfirmedError),
    ],
)
def test_refusals_are_not_resent(
    vendor: FakeVendor, make_hook: Callable[..., Any], code: str, error_class: type[Exception]
) -> None:
    vendor.script(SUBMIT, Reply(error(code), 429 if code == "1302" else 400), Reply(ACCEPTED))
    with pytest.raises(error_class):
        make_hook(BigModelHook, password=KEY).submit("cogvideox", {"prompt": "p"})
    assert len(vendor.seen(SUBMIT)) == 1


def test_a_gateway_error_after_sending_is_unconfirmed_and_not_resent(
    vendor: FakeVendor, make_hook: Callable[..., Any]
) -> None:
    vendor.script(SUBMIT, Reply(b"<html>504 Gateway Time-out</html>", 504), Reply(ACCEPTED))
    with pytest.raises(AigcSubmitUnconfirmedError):
        make_hook(BigModelHook, password=KEY).submit("cogvideox", {"prompt": "p"})
    assert len(vendor.seen(SUBMIT)) == 1


def test_a_server_code_in_the_flat_envelope_is_unconfirmed_on_a_submit_and_retried_on_a_poll(
    vendor: FakeVendor, make_hook: Callable[..., Any]
) -> None:
    vendor.script(SUBMIT, Reply({"code": 500, "message": "internal"}, 500), Reply(ACCEPTED))
    vendor.script(RESULT + TASK, Reply({"code": 500, "message": "internal"}, 500), Reply(DONE))
    hook = make_hook(BigModelHook, password=KEY)
    with pytest.raises(AigcSubmitUnconfirmedError):
        hook.submit("cogvideox", {"prompt": "p"})
    assert hook.get_status(TASK, "cogvideox").state is JobState.SUCCEEDED
    assert (len(vendor.seen(SUBMIT)), len(vendor.seen(RESULT + TASK))) == (1, 2)


def test_missing_key_fails_before_any_call(vendor: FakeVendor, make_hook: Callable[..., Any]) -> None:
    with pytest.raises(AigcAuthError, match="set password to the key"):
        make_hook(BigModelHook).submit("glm_image", {"prompt": "p"})
    assert vendor.requests == []


def test_test_connection_buys_nothing_and_proves_the_key(
    vendor: FakeVendor, make_hook: Callable[..., Any]
) -> None:
    vendor.script(RESULT + PROBE_TASK_ID, Reply(error("404", "任务不存在"), 404))
    ok, message = make_hook(BigModelHook, password=KEY).test_connection()
    assert (ok, message) == (True, "BigModel accepted the API key (nothing was bought).")
    assert [seen.method for seen in vendor.requests] == ["GET"]


def test_test_connection_reports_a_rejected_key_without_it(
    vendor: FakeVendor, make_hook: Callable[..., Any]
) -> None:
    vendor.script(RESULT + PROBE_TASK_ID, Reply(error("1002", "Authorization Token非法"), 401))
    ok, message = make_hook(BigModelHook, password=KEY).test_connection()
    assert ok is False
    assert "1002" in message
    assert KEY not in message


def test_the_key_is_masked_and_never_logged(
    vendor: FakeVendor,
    make_hook: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    hook_logs: pytest.LogCaptureFixture,
) -> None:
    registered: list[str] = []
    monkeypatch.setattr(base, "mask_secret", registered.append)
    vendor.script(SUBMIT, Reply(ACCEPTED))
    vendor.script(RESULT + TASK, Reply(error("1305"), 429), Reply(DONE))
    hook = make_hook(BigModelHook, password=KEY, jwt=True)
    hook.submit("cogvideox", {"prompt": "p"})
    hook.get_status(TASK, "cogvideox")
    assert KEY in registered
    tokens = {seen.headers["authorization"] for seen in vendor.requests}
    lines = [record.getMessage() for record in hook_logs.records if record.levelno >= logging.DEBUG]
    assert any("retry 1" in line for line in lines)
    assert [line for line in lines for secret in (KEY, "FAKEsecret", *tokens) if secret in line] == []
