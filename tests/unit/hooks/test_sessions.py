"""Connection reuse: one requests session per hook, one aiohttp session per (event loop, origin)."""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from airflow_provider_aigc.hooks.jumdata import JumdataHook
from airflow_provider_aigc.hooks.session import close_sessions, session_for
from airflow_provider_aigc.hooks.zhipu import ZhipuHook
from airflow_provider_aigc.models import JobState
from tests.unit.hooks.fakes import (
    JUMDATA_TASK_ID,
    ZHIPU_TASK_ID,
    FakeVendor,
    Reply,
    jumdata_accepted,
    jumdata_done,
    zhipu_done,
    zhipu_waiting,
)

if TYPE_CHECKING:
    from collections.abc import Callable

CONSOLE = {"login": "demo-zhipu-console-apikey", "password": "demo-zhipu-console-apisecret"}


@pytest.fixture
def created_sessions(monkeypatch: pytest.MonkeyPatch) -> list[aiohttp.ClientSession]:
    """Every ClientSession the registry creates."""
    created: list[aiohttp.ClientSession] = []

    class Counting(aiohttp.ClientSession):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            created.append(self)

    monkeypatch.setattr(aiohttp, "ClientSession", Counting)
    return created


def test_a_hook_keeps_one_connection_across_sync_calls(
    vendor: FakeVendor, make_hook: Callable[..., Any]
) -> None:
    vendor.script("/v1/status", Reply(zhipu_waiting()))
    hook = make_hook(ZhipuHook, **CONSOLE)
    for _ in range(5):
        hook.get_status(ZHIPU_TASK_ID, "cogview")
    hook.close()
    assert len(vendor.seen("/v1/status")) == 5
    assert vendor.connections == 1


async def test_many_async_polls_share_one_session_and_connection(
    vendor: FakeVendor,
    make_hook: Callable[..., Any],
    created_sessions: list[aiohttp.ClientSession],
    aio_sessions: None,
) -> None:
    vendor.script("/v1/status", *[Reply(zhipu_waiting())] * 9, Reply(zhipu_done()))
    vendor.script("/ai/draw/query", Reply(jumdata_done()))
    zhipu = make_hook(ZhipuHook, **CONSOLE)
    jumdata = make_hook(JumdataHook, login="demo-jumdata-app-id", password="demo-jumdata-app-secret")

    states = [(await zhipu.aget_status(ZHIPU_TASK_ID, "cogview")).state for _ in range(10)]
    await jumdata.aget_status(JUMDATA_TASK_ID, "ai_draw")

    assert states[-1] is JobState.SUCCEEDED
    assert len(created_sessions) == 1  # both hooks talk to the same origin
    assert vendor.connections == 1


async def test_sessions_are_kept_per_origin_and_recreated_after_close(
    created_sessions: list[aiohttp.ClientSession],
) -> None:
    first = session_for("http://127.0.0.1:8765/api")
    assert session_for("http://127.0.0.1:8765/other") is first
    second = session_for("http://127.0.0.1:8766")
    assert second is not first

    await close_sessions()

    assert first.closed
    assert second.closed
    third = session_for("http://127.0.0.1:8765/api")
    assert third is not first
    assert len(created_sessions) == 3
    await close_sessions()


async def test_each_event_loop_gets_its_own_session() -> None:
    here = session_for("http://127.0.0.1:8765")
    elsewhere: list[aiohttp.ClientSession] = []

    async def other_loop() -> None:
        elsewhere.append(session_for("http://127.0.0.1:8765"))
        await close_sessions()

    thread = threading.Thread(target=lambda: asyncio.run(other_loop()))
    thread.start()
    thread.join()

    assert elsewhere[0] is not here
    assert session_for("http://127.0.0.1:8765") is here
    await close_sessions()


async def test_submit_then_async_status_round_trip(
    vendor: FakeVendor, make_hook: Callable[..., Any], aio_sessions: None
) -> None:
    vendor.script("/ai/draw/submit", Reply(jumdata_accepted()))
    vendor.script("/ai/draw/query", Reply(jumdata_done()))
    hook = make_hook(JumdataHook, login="demo-jumdata-app-id", password="demo-jumdata-app-secret")

    ref = hook.submit("ai_draw", {"text": "狐狸", "resolution": "1024*1536", "style": "古风"})
    status = await hook.aget_status(ref.job_id, ref.app)

    assert ref.job_id == JUMDATA_TASK_ID
    assert ref.request == {"text": "狐狸", "resolution": "1024*1536", "style": "古风", "num": 1}
    assert vendor.seen("/ai/draw/submit")[0].form["num"] == "1"
    assert status.state is JobState.SUCCEEDED
    assert status.conn_id == hook.conn_id


async def test_async_connection_is_resolved_once_per_hook(
    vendor: FakeVendor, make_hook: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, aio_sessions: None
) -> None:
    from airflow.providers.common.compat.connection import get_async_connection as real

    lookups: list[str] = []

    async def counting(conn_id: str, hook: Any = None) -> Any:
        lookups.append(conn_id)
        return await real(conn_id, hook=hook)

    monkeypatch.setattr("airflow_provider_aigc.hooks.base.get_async_connection", counting)
    vendor.script("/v1/status", Reply(zhipu_waiting()))
    hook = make_hook(ZhipuHook, **CONSOLE)
    for _ in range(3):
        await hook.aget_status(ZHIPU_TASK_ID, "cogview")
    assert lookups == [hook.conn_id]


async def test_sessions_close_when_the_last_lease_ends() -> None:
    from airflow_provider_aigc.hooks.session import session_for, session_lease

    async with session_lease():
        async with session_lease():
            first = session_for("http://127.0.0.1:1")
        assert not first.closed, "another lease still holds the session"
        assert session_for("http://127.0.0.1:1") is first
    assert first.closed


def test_proxy_comes_from_the_environment_once_per_session(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_aigc.hooks.session import proxy_for

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    assert proxy_for("https://aip.baidubce.com") == "http://proxy.example:3128"
    assert proxy_for("https://internal.example/api") is None
    assert proxy_for("http://aip.baidubce.com") is None
