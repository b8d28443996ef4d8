"""hooks.retry: the tenacity predicate, wait and stop the hooks share, run by ``calls.retried`` on a
fake clock."""

from __future__ import annotations

import random
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import TYPE_CHECKING

import pytest

from airflow_provider_aigc.exceptions import (
    AigcAuthError,
    AigcError,
    AigcRateLimitError,
    AigcServerError,
    AigcSubmitUnconfirmedError,
    DeadlineReached,
)
from airflow_provider_aigc.hooks.calls import Done, Pause, advance, local, retried
from airflow_provider_aigc.hooks.retry import Deadline, RetryPolicy, parse_retry_after, retrying

if TYPE_CHECKING:
    from collections.abc import Callable

    from tenacity import Retrying

NOW = 1_700_000_000.0


class FakeClock:
    """Epoch seconds that move only when a pause is taken: pauses are recorded, not slept."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _options(
    clock: FakeClock,
    *,
    deadline: float | None = None,
    policy: RetryPolicy | None = None,
    reported: list[tuple[str, int, float]] | None = None,
) -> Retrying:
    def report(error: AigcError, number: int, delay: float) -> None:
        if reported is not None:
            reported.append((error.message, number, delay))

    return retrying(policy or RetryPolicy(), Deadline(deadline, clock), random.Random(0), report)


def _drive(policy: Retrying, attempt: Callable[[], str], sleep: Callable[[float], None]) -> str:
    """``attempt`` through ``calls.retried``, driven as the hook drives it, pausing with ``sleep``."""
    call = retried(policy, lambda: local(attempt()))
    step = advance(call, None)
    while not isinstance(step, Done):
        assert isinstance(step, Pause)
        sleep(step.seconds)
        step = advance(call, None)
    return step.value


def _flaky(failures: int, error: AigcError) -> tuple[list[int], Callable[[], str]]:
    calls: list[int] = []

    def attempt() -> str:
        calls.append(1)
        if len(calls) <= failures:
            raise error
        return "ok"

    return calls, attempt


def test_full_jitter_stays_below_the_growing_cap() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    rng = random.Random(7)
    error = AigcServerError("boom")
    for retry_number, cap in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        delays = [policy.delay(retry_number, error, rng) for _ in range(200)]
        assert all(0.0 <= delay <= cap for delay in delays)
        assert max(delays) > cap / 2  # jittered over the whole range, not a fixed pause


def test_a_rate_limited_call_never_comes_back_before_the_floor() -> None:
    """Regression: full jitter from zero resent about one rate-limited call in four within 250 ms."""
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    rng = random.Random(3)
    delays = [
        policy.delay(retry_number, AigcRateLimitError("QPS 超限", vendor="baidu", code=18), rng)
        for retry_number in (1, 2, 3, 4)
        for _ in range(500)
    ]
    assert min(delays) >= policy.rate_limit_floor == 1.0
    assert len(set(delays)) > 100  # still jittered above the floor, not in lockstep
    # A Retry-After shorter than the floor does not beat it either.
    assert policy.delay(1, AigcRateLimitError("slow down", retry_after=0.1), rng) == 1.0


def test_retry_after_replaces_the_jitter_and_is_capped() -> None:
    policy = RetryPolicy(max_retry_after=60.0)
    rng = random.Random(1)
    assert policy.delay(1, AigcRateLimitError("slow down", retry_after=7.0), rng) == 7.0
    assert policy.delay(1, AigcRateLimitError("slow down", retry_after=3600.0), rng) == 60.0
    assert policy.delay(1, AigcServerError("busy", retry_after=0.0), rng) == 0.0


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
        ("inf", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_retries_until_success_and_reports_each_pause() -> None:
    clock = FakeClock()
    calls, attempt = _flaky(2, AigcServerError("502"))
    reported: list[tuple[str, int, float]] = []
    result = _drive(_options(clock, reported=reported), attempt, clock.sleep)
    assert result == "ok"
    assert len(calls) == 3
    assert [(message, number) for message, number, _ in reported] == [("502", 1), ("502", 2)]
    assert clock.sleeps == [delay for _, _, delay in reported]


def test_gives_up_after_max_retries_with_the_last_error() -> None:
    clock = FakeClock()
    error = AigcServerError("still down")
    calls, attempt = _flaky(100, error)
    with pytest.raises(AigcServerError) as raised:
        _drive(_options(clock, policy=RetryPolicy(max_retries=2)), attempt, clock.sleep)
    assert raised.value is error
    assert len(calls) == 3


@pytest.mark.parametrize(
    "error",
    [AigcAuthError("no"), AigcSubmitUnconfirmedError("maybe bought"), AigcError("plain")],
    ids=["auth", "unconfirmed", "base"],
)
def test_errors_the_taxonomy_calls_final_are_not_retried(error: AigcError) -> None:
    clock = FakeClock()
    calls, attempt = _flaky(100, error)
    with pytest.raises(type(error)):
        _drive(_options(clock), attempt, clock.sleep)
    assert calls == [1]
    assert clock.sleeps == []


def test_pauses_are_cut_to_the_deadline_then_it_is_reached() -> None:
    """Retry-After 120 with 5 s left: one 5 s pause, then DeadlineReached, not 120 s x 3."""
    clock = FakeClock()
    error = AigcRateLimitError("slow down", retry_after=120.0)
    calls, attempt = _flaky(100, error)
    with pytest.raises(DeadlineReached) as raised:
        _drive(_options(clock, deadline=NOW + 5), attempt, clock.sleep)
    assert clock.sleeps == [5.0]
    assert clock.now == NOW + 5
    assert len(calls) == 1
    assert not raised.value.retryable


def test_no_attempt_is_made_once_the_deadline_passed() -> None:
    with pytest.raises(DeadlineReached):
        Deadline(NOW - 1, FakeClock()).timeout(30.0)
    assert Deadline(NOW + 2.5, FakeClock()).timeout(30.0) == 2.5
    assert Deadline(None, FakeClock()).timeout(30.0) == 30.0


def test_a_failure_after_the_deadline_raises_deadline_reached_from_it() -> None:
    clock = FakeClock()
    error = AigcServerError("504")

    def slow_attempt() -> str:
        clock.now += 10  # the request itself used up the time left
        raise error

    with pytest.raises(DeadlineReached) as raised:
        _drive(_options(clock, deadline=NOW + 3), slow_attempt, clock.sleep)
    assert raised.value.__cause__ is error
    assert clock.sleeps == []


def test_pauses_are_handed_to_the_driver_not_slept() -> None:
    """One policy for the sync and the async driver: ``retried`` yields each pause, tenacity
    itself never sleeps."""
    clock = FakeClock()
    policy = _options(clock, policy=RetryPolicy(max_retries=1))
    policy.sleep = lambda seconds: pytest.fail("tenacity slept")
    _, attempt = _flaky(1, AigcRateLimitError("429", retry_after=4.0))

    call = retried(policy, lambda: local(attempt()))

    assert advance(call, None) == Pause(4.0)
    assert advance(call, None) == Done("ok")
    assert clock.sleeps == []
