from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_aigc.exceptions import AigcAuthError, AigcContentRejectedError, AigcInvalidRequestError
from airflow_provider_aigc.hooks.baidu import BaiduHook
from airflow_provider_aigc.models import JobState
from tests.unit.hooks.fakes import (
    BAIDU_IMAGE,
    BAIDU_TASK_ID,
    FakeVendor,
    Reply,
    baidu_accepted,
    baidu_done,
    baidu_error,
    baidu_token,
)

if TYPE_CHECKING:
    from collections.abc import Callable

KEYS = {"login": "demo-baidu-api-key", "password": "demo-baidu-secret-key"}
TOKEN = "/oauth/2.0/token"
SUBMIT = "/rpc/2.0/ernievilg/v1/txt2imgv2"
STATUS = "/rpc/2.0/ernievilg/v1/getImgv2"
FIRST, SECOND = "24.first-token-0123456789abcdef", "24.second-token-0123456789abcdef"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_class_attributes() -> None:
    assert (BaiduHook.conn_type, BaiduHook.default_conn_name, BaiduHook.hook_name) == (
        "aigc_baidu",
        "aigc_baidu_default",
        "Baidu ERNIE-ViLG",
    )


def test_submit_and_status_share_one_cached_token(vendor: FakeVendor, make_hook: Callable[..., Any]) -> None:
    vendor.script(TOKEN, Reply(baidu_token(FIRST)))
    vendor.script(SUBMIT, Reply(baidu_accepted()))
    vendor.script(STATUS, Reply(baidu_done()))

    ref = make_hook(BaiduHook, **KEYS).submit("txt2imgv2", {"prompt": "睡莲", "width": 1024, "height": 1024})
    status = make_hook(BaiduHook, **KEYS).get_status(ref.job_id, "txt2imgv2")

    (token_call,) = vendor.seen(TOKEN)
    assert token_call.method == "POST"
    assert token_call.query == {
        "grant_type": "client_credentials",
        "client_id": "demo-baidu-api-key",
        "client_secret": "demo-baidu-secret-key",
    }
    submit_call = vendor.seen(SUBMIT)[0]
    assert submit_call.query == {"access_token": FIRST}
    assert submit_call.json["prompt"] == "睡莲"
    assert vendor.seen(STATUS)[0].query == {"access_token": FIRST}
    assert vendor.seen(STATUS)[0].json == {"task_id": BAIDU_TASK_ID}
    assert ref.job_id == BAIDU_TASK_ID
    assert status.state is JobState.SUCCEEDED
    assert [output.url for output in status.outputs] == [BAIDU_IMAGE]
    assert status.outputs[0].expires_at == "2023-07-06T03:16:53+00:00"


@pytest.mark.parametrize("code", [110, 111])
def test_a_rejected_token_is_refreshed_once(
    vendor: FakeVendor, make_hook: Callable[..., Any], code: int
) -> None:
    vendor.script(TOKEN, Reply(baidu_token(FIRST)), Reply(baidu_token(SECOND)))
    vendor.script(
        STATUS, Reply(baidu_error(code, "Access token invalid or no longer valid")), Reply(baidu_done())
    )

    status = make_hook(BaiduHook, **KEYS).get_status(BAIDU_TASK_ID, "txt2imgv2")

    assert status.state is JobState.SUCCEEDED
    assert len(vendor.seen(TOKEN)) == 2
    assert [call.query["access_token"] for call in vendor.seen(STATUS)] == [FIRST, SECOND]


def test_a_token_rejected_twice_is_raised_after_one_refresh(
    vendor: FakeVendor, make_hook: Callable[..., Any]
) -> None:
    vendor.script(TOKEN, Reply(baidu_token(FIRST)), Reply(baidu_token(SECOND)))
    vendor.script(SUBMIT, Reply(baidu_error(110, "Access token invalid or no longer valid")))

    with pytest.raises(AigcAuthError, match="110"):
        make_hook(BaiduHook, **KEYS).submit("txt2imgv2", {"prompt": "睡莲"})

    assert len(vendor.seen(TOKEN)) == 2
    assert len(vendor.seen(SUBMIT)) == 2


def test_other_errors_do_not_touch_the_token(vendor: FakeVendor, make_hook: Callable[..., Any]) -> None:
    vendor.script(TOKEN, Reply(baidu_token(FIRST)))
    vendor.script(
        STATUS,
        Reply(
            {
                "data": {
                    "task_id": int(BAIDU_TASK_ID),
                    "task_status": "FAILED",
                    "sub_task_result_list": [{"sub_task_error_code": 501, "sub_task_status": "FAILED"}],
                }
            }
        ),
    )
    vendor.script(SUBMIT, Reply(baidu_error(282004, "invalid parameter(s)")))
    hook = make_hook(BaiduHook, **KEYS)

    status = hook.get_status(BAIDU_TASK_ID, "txt2imgv2")
    with pytest.raises(AigcInvalidRequestError, match="282004"):
        hook.submit("txt2imgv2", {"prompt": "睡莲"})

    assert status.state is JobState.FAILED
    assert status.error is not None
    assert status.error.type == AigcContentRejectedError.__name__
    assert len(vendor.seen(TOKEN)) == 1
    assert len(vendor.seen(SUBMIT)) == 1


def test_token_is_refreshed_five_minutes_before_it_expires(
    vendor: FakeVendor, make_hook: Callable[..., Any]
) -> None:
    clock = Clock()
    vendor.script(TOKEN, Reply(baidu_token(FIRST)), Reply(baidu_token(SECOND)))
    vendor.script(STATUS, Reply(baidu_done()))
    hook = make_hook(BaiduHook, clock=clock, **KEYS)
    issued = clock.now

    hook.get_status(BAIDU_TASK_ID, "txt2imgv2")
    clock.now = issued + 2592000 - 301
    hook.get_status(BAIDU_TASK_ID, "txt2imgv2")
    assert len(vendor.seen(TOKEN)) == 1

    clock.now = issued + 2592000 - 299
    hook.get_status(BAIDU_TASK_ID, "txt2imgv2")
    assert len(vendor.seen(TOKEN)) == 2
    assert vendor.seen(STATUS)[-1].query["access_token"] == SECOND


@pytest.mark.parametrize(
    ("login", "password", "field", "sent"),
    [
        ("other-api-key", "other-sk", "client_id", ["demo-baidu-api-key", "other-api-key"]),
        (KEYS["login"], "not-the-secret", "client_secret", [KEYS["password"], "not-the-secret"]),
    ],
    ids=["tokens-are-kept-per-api-key", "a-wrong-secret-key-never-borrows-a-cached-token"],
)
def test_a_cached_token_serves_only_the_same_key_pair(
    vendor: FakeVendor,
    make_hook: Callable[..., Any],
    connection: Any,
    login: str,
    password: str,
    field: str,
    sent: list[str],
) -> None:
    vendor.script(TOKEN, Reply(baidu_token(FIRST)), Reply(baidu_token(SECOND)))
    vendor.script(STATUS, Reply(baidu_done()))
    make_hook(BaiduHook, **KEYS).get_status(BAIDU_TASK_ID, "txt2imgv2")
    other = connection("other_baidu", "aigc_baidu", host=vendor.url, login=login, password=password)
    BaiduHook(other).get_status(BAIDU_TASK_ID, "txt2imgv2")
    assert [call.query[field] for call in vendor.seen(TOKEN)] == sent


def test_missing_keys_fail_before_any_call(vendor: FakeVendor, make_hook: Callable[..., Any]) -> None:
    with pytest.raises(AigcAuthError, match="set login to the API Key and password to the Secret Key"):
        make_hook(BaiduHook, login="demo-baidu-api-key").get_status(BAIDU_TASK_ID, "txt2imgv2")
    assert vendor.requests == []


def test_test_connection_fetches_a_fresh_token(vendor: FakeVendor, make_hook: Callable[..., Any]) -> None:
    vendor.script(TOKEN, Reply(baidu_token(FIRST)), Reply(baidu_token(SECOND)))
    hook = make_hook(BaiduHook, **KEYS)

    first = hook.test_connection()
    second = hook.test_connection()

    assert first[0] is True
    assert second[0] is True
    assert "valid until" in first[1]
    assert FIRST not in first[1]
    assert len(vendor.seen(TOKEN)) == 2


def test_test_connection_reports_rejected_keys(vendor: FakeVendor, make_hook: Callable[..., Any]) -> None:
    vendor.script(
        TOKEN, Reply({"error": "invalid_client", "error_description": "unknown client id"}, status=401)
    )
    ok, message = make_hook(BaiduHook, **KEYS).test_connection()
    assert ok is False
    assert "invalid_client" in message
    assert "demo-baidu-secret-key" not in message
    assert len(vendor.seen(TOKEN)) == 1


async def test_concurrent_async_polls_fetch_one_token(
    vendor: FakeVendor, make_hook: Callable[..., Any], aio_sessions: None
) -> None:
    vendor.script(TOKEN, Reply(baidu_token(FIRST)))
    vendor.script(STATUS, Reply(baidu_done()))
    hooks = [make_hook(BaiduHook, **KEYS) for _ in range(5)]

    statuses = await asyncio.gather(*(hook.aget_status(BAIDU_TASK_ID, "txt2imgv2") for hook in hooks))

    assert {status.state for status in statuses} == {JobState.SUCCEEDED}
    assert len(vendor.seen(TOKEN)) == 1
    assert len(vendor.seen(STATUS)) == 5


async def test_async_refreshes_a_rejected_token_once(
    vendor: FakeVendor, make_hook: Callable[..., Any], aio_sessions: None
) -> None:
    vendor.script(TOKEN, Reply(baidu_token(FIRST)), Reply(baidu_token(SECOND)))
    vendor.script(STATUS, Reply(baidu_error(111, "Access token expired")), Reply(baidu_done()))

    status = await make_hook(BaiduHook, **KEYS).aget_status(BAIDU_TASK_ID, "txt2imgv2")

    assert status.state is JobState.SUCCEEDED
    assert [call.query["access_token"] for call in vendor.seen(STATUS)] == [FIRST, SECOND]
