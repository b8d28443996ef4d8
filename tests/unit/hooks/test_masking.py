"""Credentials never reach logs or messages, and every one is registered with Airflow's masker."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from airflow.sdk._shared.secrets_masker import redact

from airflow_provider_aigc.exceptions import AigcError
from airflow_provider_aigc.hooks import base, masking
from airflow_provider_aigc.hooks.baidu import BaiduHook
from airflow_provider_aigc.hooks.jumdata import JumdataHook
from airflow_provider_aigc.hooks.zhipu import ZhipuHook
from airflow_provider_aigc.vendors.zhipu import derive_keys
from tests.unit.hooks.fakes import (
    BAIDU_TASK_ID,
    JUMDATA_TASK_ID,
    ZHIPU_TASK_ID,
    Drop,
    FakeVendor,
    Reply,
    baidu_accepted,
    baidu_done,
    baidu_error,
    baidu_token,
    jumdata_accepted,
    jumdata_done,
    jumdata_error,
    zhipu_accepted,
    zhipu_done,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    import pytest

ZHIPU_DERIVE = {
    "app_key": "demo-zhipu-app-key",
    "app_secret": "demo-zhipu-app-secret",
    "des3_key": "demo-zhipu-des3-key-24b!",
}
BAIDU = {"login": "demo-baidu-api-key", "password": "demo-baidu-secret-key"}
JUMDATA = {"login": "demo-jumdata-app-id", "password": "demo-jumdata-app-secret"}
TOKENS = ("24.first-token-0123456789abcdef", "24.second-token-0123456789abcdef")
OWN_LOGGERS = ("airflow.task.hooks.airflow_provider_aigc", "airflow_provider_aigc")
DRAW = {"text": "狐狸", "resolution": "1024*1024", "style": "油画"}


def _derived() -> set[str]:
    keys = set()
    for app in ("cogview", "news_generate"):
        derived = derive_keys(
            app, ZHIPU_DERIVE["app_key"], ZHIPU_DERIVE["app_secret"], ZHIPU_DERIVE["des3_key"]
        )
        keys |= {derived.apikey, derived.apisecret}
    return keys


def _script(vendor: FakeVendor) -> None:
    vendor.script("/v1/cogview", Drop())
    vendor.script("/v1/news", Reply(zhipu_accepted("news_generate")))
    vendor.script("/v1/status", Reply(b"busy", status=503), Reply(zhipu_done()))
    vendor.script("/oauth/2.0/token", Reply(baidu_token(TOKENS[0])), Reply(baidu_token(TOKENS[1])))
    vendor.script(
        "/rpc/2.0/ernievilg/v1/txt2imgv2", Reply(baidu_error(110, "token invalid")), Reply(baidu_accepted())
    )
    vendor.script("/rpc/2.0/ernievilg/v1/getImgv2", Reply(baidu_done()))
    vendor.script("/ai/draw/submit", Reply(jumdata_error(609, "请求过于频繁")), Reply(jumdata_accepted()))
    vendor.script("/ai/draw/query", Reply(jumdata_done()))


def _signatures(vendor: FakeVendor) -> set[str]:
    return {call.form["sign"] for call in vendor.requests if call.path.startswith("/ai/draw/")}


async def test_no_credential_appears_in_debug_logs_or_errors(
    vendor: FakeVendor,
    make_hook: Callable[..., Any],
    hook_logs: pytest.LogCaptureFixture,
    aio_sessions: None,
) -> None:
    _script(vendor)
    zhipu = make_hook(ZhipuHook, **ZHIPU_DERIVE)
    baidu = make_hook(BaiduHook, **BAIDU)
    jumdata = make_hook(JumdataHook, **JUMDATA)
    errors: list[str] = []

    try:
        zhipu.submit("cogview", {"query": "睡莲"})
    except AigcError as error:
        errors.append(str(error))
    zhipu.submit("news_generate", {"content": "神州十三号飞船发射成功", "max_length": 100})
    zhipu.get_status(ZHIPU_TASK_ID, "cogview")
    baidu.submit("txt2imgv2", {"prompt": "睡莲"})
    await baidu.aget_status(BAIDU_TASK_ID, "txt2imgv2")
    baidu.test_connection()
    jumdata.submit("ai_draw", DRAW)
    await jumdata.aget_status(JUMDATA_TASK_ID, "ai_draw")
    errors.append(make_hook(JumdataHook, login=JUMDATA["login"]).test_connection()[1])

    secrets = {
        *ZHIPU_DERIVE.values(),
        *_derived(),
        *BAIDU.values(),
        *TOKENS,
        JUMDATA["password"],
        *_signatures(vendor),
    }
    own = [
        record.getMessage() for record in hook_logs.records if record.name.startswith(OWN_LOGGERS)
    ] + errors
    everything = [record.getMessage() for record in hook_logs.records]
    assert len(_signatures(vendor)) == 3
    assert any("POST /rpc/2.0/ernievilg/v1/txt2imgv2?access_token=***" in line for line in own)
    assert any("retry 1" in line for line in own)
    # Our own lines never hold a credential, even before Airflow's masker sees them.
    assert {secret for secret in secrets for line in own if secret in line} == set()
    # Third-party debug lines (urllib3 logs whole URLs) are covered by the masker registrations.
    assert {secret for secret in secrets for line in everything if secret in redact(line)} == set()


def test_sync_calls_register_raw_and_derived_secrets(
    vendor: FakeVendor, make_hook: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    registered: list[str] = []
    monkeypatch.setattr(base, "mask_secret", registered.append)
    vendor.script("/v1/cogview", Reply(zhipu_accepted()))
    vendor.script("/oauth/2.0/token", Reply(baidu_token(TOKENS[0])))
    vendor.script("/rpc/2.0/ernievilg/v1/getImgv2", Reply(baidu_done()))

    make_hook(ZhipuHook, **ZHIPU_DERIVE).submit("cogview", {"query": "睡莲"})
    make_hook(BaiduHook, **BAIDU).get_status(BAIDU_TASK_ID, "txt2imgv2")

    cogview = derive_keys("cogview", *ZHIPU_DERIVE.values())
    expected = {*ZHIPU_DERIVE.values(), cogview.apikey, cogview.apisecret, *BAIDU.values(), TOKENS[0]}
    assert expected <= set(registered)
    assert len(registered) == len(set(registered))  # each value once, however often it is used


async def test_async_calls_register_through_the_async_masker(
    vendor: FakeVendor, make_hook: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, aio_sessions: None
) -> None:
    sync_calls: list[str] = []
    async_calls: list[str] = []

    async def record(value: str) -> None:
        async_calls.append(value)

    monkeypatch.setattr(base, "mask_secret", sync_calls.append)
    monkeypatch.setattr(base, "amask_secret", record)
    vendor.script("/oauth/2.0/token", Reply(baidu_token(TOKENS[0])))
    vendor.script("/rpc/2.0/ernievilg/v1/getImgv2", Reply(baidu_done()))

    await make_hook(BaiduHook, **BAIDU).aget_status(BAIDU_TASK_ID, "txt2imgv2")

    assert {*BAIDU.values(), TOKENS[0]} <= set(async_calls)
    assert sync_calls == []  # the synchronous supervisor call could deadlock on a running loop


def test_registered_token_is_redacted_by_airflow(vendor: FakeVendor, make_hook: Callable[..., Any]) -> None:
    token = "24.redaction-check-" + hashlib.sha256(b"unique").hexdigest()[:16]
    vendor.script("/oauth/2.0/token", Reply(baidu_token(token)))
    vendor.script("/rpc/2.0/ernievilg/v1/getImgv2", Reply(baidu_done()))

    make_hook(BaiduHook, **BAIDU).get_status(BAIDU_TASK_ID, "txt2imgv2")

    assert redact(f"token={token}") == "token=***"


def test_masker_registry_keeps_digests_only() -> None:
    assert masking.unregistered(("a-secret-value", None, "")) == ("a-secret-value",)
    assert masking.unregistered(("a-secret-value",)) == ()
    assert masking._registered == {hashlib.sha256(b"a-secret-value").hexdigest()}
