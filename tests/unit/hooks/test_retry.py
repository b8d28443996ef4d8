from __future__ import annotations

import random
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import TYPE_CHECKING

import pytest

from airflow_provider_aigc.exceptions import AigcError, AigcRateLimitError, AigcServerError
from airflow_provider_aigc.hooks.retry import (
    RetryableFailure,
    RetryPolicy,
    acall_with_retries,
    call_with_retries,
    parse_retry_after,
)
from tests.unit.hooks.fakes import Sleeps

if TYPE_CHECKING:
    from collections.abc import Callable

NOW = 1_700_000_000.0


def test_full_jitter_stays_below_the_growing_cap() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    rng = random.Random(7)
    error = AigcServerError("boom")
    for retry_number, cap in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        delays = [policy.delay(retry_number, error, rng) for _ in range(200)]
        assert all(0.0 <= delay <= cap for delay in delays)
        assert max(delays) > cap / 2  # jittered over the whole range, not a fixed pause


def test_retry_after_replaces_the_jitter_and_is_capped() -> None:
    policy = RetryPolicy(max_retry_after=60.0)
    rng = random.Random(1)
    assert policy.delay(1, AigcRateLimitError("slow down", retry_after=7.0), rng) == 7.0
    assert policy.delay(1, AigcRateLimitError("slow down", retry_after=3600.0), rng) == 60.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7.0),
        (" 2.5 ", 2.5),
        ("-3", 0.0),
        (format_datetime(datetime.fromtimestamp(NOW + 30, tz=timezone.utc), usegmt=True), 30.0),
        (format_datetime(datetime.fromtimestamp(NOW - 30, tz=timezone.utc), usegmt=True), 0.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("nan", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


def _flaky(failures: int, error: AigcError) -> tuple[list[int], Callable[[], str]]:
    calls: list[int] = []

    def attempt() -> str:
        calls.append(1)
        if len(calls) <= failures:
            raise RetryableFailure(error)
        return "ok"

    return calls, attempt


def test_retries_until_success_and_reports_each_pause() -> None:
    calls, attempt = _flaky(2, AigcServerError("502"))
    sleeps = Sleeps()
    reported: list[tuple[str, int, float]] = []
    result = call_with_retries(
        attempt,
        RetryPolicy(max_retries=3),
        sleep=sleeps,
        rng=random.Random(0),
        on_retry=lambda error, number, delay: reported.append((error.message, number, delay)),
    )
    assert result == "ok"
    assert len(calls) == 3
    assert [(message, number) for message, number, _ in reported] == [("502", 1), ("502", 2)]
    assert sleeps == [delay for _, _, delay in reported]


def test_gives_up_after_max_retries_with_the_last_error() -> None:
    error = AigcServerError("still down")
    calls, attempt = _flaky(100, error)
    with pytest.raises(AigcServerError) as raised:
        call_with_retries(
            attempt,
            RetryPolicy(max_retries=2),
            sleep=Sleeps(),
            rng=random.Random(0),
            on_retry=lambda *_: None,
        )
    assert raised.value is error
    assert len(calls) == 3


def test_other_exceptions_propagate_without_retry() -> None:
    calls: list[int] = []

    def attempt() -> str:
        calls.append(1)
        raise AigcError("not retryable")

    with pytest.raises(AigcError, match="not retryable"):
        call_with_retries(
            attempt, RetryPolicy(), sleep=Sleeps(), rng=random.Random(0), on_retry=lambda *_: None
        )
    assert calls == [1]


async def test_async_retries_pause_with_the_injected_sleep() -> None:
    _, attempt_sync = _flaky(1, AigcRateLimitError("429", retry_after=4.0))
    sleeps = Sleeps()

    async def attempt() -> str:
        return attempt_sync()

    result = await acall_with_retries(
        attempt,
        RetryPolicy(max_retries=1),
        sleep=sleeps.pause,
        rng=random.Random(0),
        on_retry=lambda *_: None,
    )
    assert result == "ok"
    assert sleeps == [4.0]
