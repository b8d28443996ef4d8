"""The hooks' optional deadline: request timeouts and pauses are cut to the time left, and the call
stops with ``DeadlineReached`` when none is left; on a fake clock, against a loopback vendor."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_aigc.exceptions import AigcRateLimitError, DeadlineReached
from airflow_provider_aigc.hooks import base as hook_base
from airflow_provider_aigc.hooks.jumdata import JumdataHook
from airflow_provider_aigc.hooks.zhipu import ZhipuHook
from airflow_provider_aigc.models import JobState
from tests.unit.hooks.fakes import (
    JUMDATA_TASK_ID,
    ZHIPU_TASK_ID,
    FakeVendor,
    Reply,
    jumdata_accepted,
    jumdata_error,
    zhipu_done,
    zhipu_error,
)
from tests.unit.triggers.factories import FakeClock

if TYPE_CHECKING:
    from collections.abc import Callable

CONSOLE = {"login": "demo-zhipu-console-apikey", "password": "demo-zhipu-console-apisecret"}
STATUS = "/v1/status"
STORM = Reply(b"slow down", status=429, headers={"Retry-After": "120"})


class SyncClock(FakeClock):
    def pause(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> SyncClock:
    return SyncClock()


@pytest.fixture
def timeouts(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Each request's timeout, as the hook handed it to the transport."""
    seen: list[float] = []
    real_send, real_asend = hook_base.send, hook_base.asend

    def send(session: Any, base_url: str, request: Any, timeout: float) -> Any:
        seen.append(timeout)
        return real_send(session, base_url, request, timeout)

    async def asend(session: Any, base_url: str, request: Any, timeout: float) -> Any:
        seen.append(timeout)
        return await real_asend(session, base_url, request, timeout)

    monkeypatch.setattr(hook_base, "send", send)
    monkeypatch.setattr(hook_base, "asend", asend)
    return seen


@pytest.fixture
def zhipu(vendor: FakeVendor, connection: Callable[..., str], clock: SyncClock) -> ZhipuHook:
    conn_id = connection("deadline", "aigc_zhipu", host=vendor.url, extra={"timeout": 30}, **CONSOLE)
    return ZhipuHook(conn_id, sleep=clock.pause, async_sleep=clock.sleep, clock=clock, rng=random.Random(0))


def test_a_retry_after_storm_cannot_outlast_the_deadline(
    vendor: FakeVendor, zhipu: ZhipuHook, clock: SyncClock, timeouts: list[float]
) -> None:
    """Regression: Retry-After 120 was slept three times (360 s) whatever the caller's deadline."""
    vendor.script(STATUS, STORM)
    deadline = clock.now + 5
    with pytest.raises(DeadlineReached) as raised:
        zhipu.get_status(ZHIPU_TASK_ID, "cogview", deadline=deadline)
    assert clock.sleeps == [5.0]
    assert clock.now == deadline
    assert timeouts == [5.0]  # min(timeout 30, time left 5)
    assert len(vendor.seen(STATUS)) == 1
    assert isinstance(raised.value.__cause__, AigcRateLimitError)
    assert not raised.value.retryable


async def test_the_async_path_is_bounded_the_same_way(
    vendor: FakeVendor, zhipu: ZhipuHook, clock: SyncClock, timeouts: list[float], aio_sessions: None
) -> None:
    vendor.script(STATUS, STORM)
    with pytest.raises(DeadlineReached):
        await zhipu.aget_status(ZHIPU_TASK_ID, "cogview", deadline=clock.now + 2.5)
    assert clock.sleeps == [2.5]
    assert timeouts == [2.5]


def test_no_request_is_sent_once_the_deadline_passed(
    vendor: FakeVendor, zhipu: ZhipuHook, clock: SyncClock
) -> None:
    vendor.script(STATUS, Reply(zhipu_done()))
    with pytest.raises(DeadlineReached):
        zhipu.get_status(ZHIPU_TASK_ID, "cogview", deadline=clock.now - 1)
    assert vendor.seen(STATUS) == []


def test_time_left_only_shortens_what_would_happen_anyway(
    vendor: FakeVendor, zhipu: ZhipuHook, clock: SyncClock, timeouts: list[float]
) -> None:
    vendor.script(STATUS, Reply(zhipu_error(10003, "接口速率超限制")), Reply(zhipu_done()))
    status = zhipu.get_status(ZHIPU_TASK_ID, "cogview", deadline=clock.now + 600)
    assert status.state is JobState.SUCCEEDED
    assert timeouts == [30.0, 30.0]
    assert len(clock.sleeps) == 1
    assert clock.sleeps[0] >= 1.0  # the rate-limit floor


@pytest.mark.parametrize("code", [606, 609])
def test_a_jumdata_rate_limited_submit_comes_back_after_the_floor(
    vendor: FakeVendor, connection: Callable[..., str], clock: SyncClock, code: int
) -> None:
    """Regression: full jitter from zero resent a rate-limited call within the refusing second."""
    conn_id = connection("floor", "aigc_jumdata", host=vendor.url, login="app-id", password="app-secret")
    vendor.script(
        "/ai/draw/submit", *[Reply(jumdata_error(code, "请求过于频繁"))] * 3, Reply(jumdata_accepted())
    )
    hook = JumdataHook(conn_id, sleep=clock.pause, clock=clock, rng=random.Random(1))
    ref = hook.submit("ai_draw", {"text": "古镇", "style": "古风", "resolution": "1024*1024"})
    assert ref.job_id == JUMDATA_TASK_ID
    assert len(clock.sleeps) == 3
    assert min(clock.sleeps) >= 1.0, clock.sleeps
