"""Poll scheduling: per-app defaults, jitter seeded by the job id, capped backoff."""

from __future__ import annotations

import pytest

from airflow_provider_aigc.triggers.polling import (
    JITTER_FRACTION,
    MAX_BACKOFF_SECONDS,
    PollSchedule,
    default_poll_interval,
)
from airflow_provider_aigc.vendors import baidu, jumdata, zhipu


@pytest.mark.parametrize(
    ("vendor", "app", "expected"),
    [
        ("zhipu", "cogview", zhipu.DEFAULT_POLL_INTERVAL["cogview"]),
        ("zhipu", "news_generate", zhipu.DEFAULT_POLL_INTERVAL["news_generate"]),
        ("baidu", "txt2imgv2", baidu.DEFAULT_POLL_INTERVAL["txt2imgv2"]),
        ("jumdata", "ai_draw", jumdata.DEFAULT_POLL_INTERVAL["ai_draw"]),
    ],
)
def test_default_poll_interval_is_the_vendor_modules(vendor: str, app: str, expected: float) -> None:
    assert default_poll_interval(vendor, app) == expected


def test_cogview_polls_far_less_often_than_news() -> None:
    assert default_poll_interval("zhipu", "cogview") >= 5 * default_poll_interval("zhipu", "news_generate")


def test_the_same_job_id_gives_the_same_schedule_after_a_restart() -> None:
    first, again, other = (
        PollSchedule(10.0, "job-a"),
        PollSchedule(10.0, "job-a"),
        PollSchedule(10.0, "job-b"),
    )

    sequence = [first.next_poll() for _ in range(20)]

    assert sequence == [again.next_poll() for _ in range(20)]
    assert sequence != [other.next_poll() for _ in range(20)]


def test_next_poll_is_jittered_but_never_longer_than_the_interval() -> None:
    schedule = PollSchedule(10.0, "job-a")

    waits = [schedule.next_poll() for _ in range(200)]

    assert all(10.0 * (1 - JITTER_FRACTION) <= wait <= 10.0 for wait in waits)
    assert max(waits) - min(waits) > 10.0 * JITTER_FRACTION / 2


@pytest.mark.parametrize(("failures", "base"), [(1, 4.0), (2, 8.0), (3, 16.0), (5, 64.0)])
def test_backoff_doubles_per_consecutive_failure(failures: int, base: float) -> None:
    wait = PollSchedule(2.0, "job-a").after_failure(failures)

    assert base * (1 - JITTER_FRACTION) <= wait <= base * (1 + JITTER_FRACTION)


def test_backoff_is_capped_even_after_very_many_failures() -> None:
    wait = PollSchedule(2.0, "job-a").after_failure(10_000)

    assert wait <= MAX_BACKOFF_SECONDS * (1 + JITTER_FRACTION)


def test_a_poll_interval_longer_than_the_cap_is_kept() -> None:
    wait = PollSchedule(600.0, "job-a").after_failure(3)

    assert wait >= 600.0 * (1 - JITTER_FRACTION)


def test_retry_after_sets_the_minimum_wait() -> None:
    schedule = PollSchedule(2.0, "job-a")

    assert schedule.after_failure(1, retry_after=30.0) == 30.0
    assert schedule.after_failure(5, retry_after=1.0) > 30.0
