"""AigcJobTrigger: serialization, each event path, poll scheduling and backoff, progress logs, restarts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from airflow.triggers.base import TriggerEvent

from airflow_provider_aigc.exceptions import (
    AigcAuthError,
    AigcInvalidRequestError,
    AigcRateLimitError,
    AigcServerError,
    AigcUnknownJobError,
)
from airflow_provider_aigc.hooks.baidu import BaiduHook
from airflow_provider_aigc.hooks.dashscope import DashScopeHook
from airflow_provider_aigc.hooks.zhipu import ZhipuHook
from airflow_provider_aigc.models import JobState
from airflow_provider_aigc.triggers.capacity_room import room_for
from airflow_provider_aigc.triggers.events import JobEvent
from airflow_provider_aigc.triggers.job import AigcJobTrigger
from airflow_provider_aigc.triggers.polling import MAX_BACKOFF_SECONDS, PollSchedule
from tests.unit.triggers.factories import (
    CONN_ID,
    JOB_ID,
    FakeClock,
    Script,
    captured_logs,
    failed_status,
    job_status,
)

CLASSPATH = "airflow_provider_aigc.triggers.job.AigcJobTrigger"
RUNNING = job_status(JobState.RUNNING, 0.37)
SUCCEEDED = job_status(JobState.SUCCEEDED, 1.0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def polls(monkeypatch: pytest.MonkeyPatch) -> Script:
    """ZhipuHook.aget_status answers from this script; submitting is an error."""
    script = Script([])

    async def aget_status(hook: ZhipuHook, job_id: str, app: str, *, deadline: float | None = None) -> Any:
        return script.next(job_id, app, hook.conn_id)

    async def no_submit(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the trigger must never submit")

    monkeypatch.setattr(ZhipuHook, "aget_status", aget_status)
    monkeypatch.setattr(ZhipuHook, "submit", no_submit)
    return script


def make_trigger(clock: FakeClock, **overrides: Any) -> AigcJobTrigger:
    kwargs: dict[str, Any] = {
        "conn_id": CONN_ID,
        "vendor": "zhipu",
        "job_id": JOB_ID,
        "poll_interval": 10.0,
        "end_time": clock.now + 600,
        "app": "cogview",
        **overrides,
    }
    return AigcJobTrigger(**kwargs, clock=clock, sleep=clock.sleep)


def fired(payload: dict[str, Any]) -> TriggerEvent:
    return TriggerEvent(payload)  # type: ignore[no-untyped-call]


async def collect(trigger: AigcJobTrigger) -> list[TriggerEvent]:
    return [event async for event in trigger.run()]


# --- serialization and construction ----------------------------------------------------------


def test_serialize_is_the_classpath_and_json_primitives_only(clock: FakeClock) -> None:
    trigger = make_trigger(clock, end_time=1_700_000_600.5)

    assert trigger.serialize() == (
        CLASSPATH,
        {
            "conn_id": CONN_ID,
            "vendor": "zhipu",
            "job_id": JOB_ID,
            "poll_interval": 10.0,
            "end_time": 1_700_000_600.5,
            "app": "cogview",
            "max_consecutive_failures": 5,
            "cancel_pending_on_kill": False,
        },
    )


def test_a_trigger_rebuilt_from_its_serialized_form_is_the_same_trigger(clock: FakeClock) -> None:
    classpath, kwargs = make_trigger(
        clock, max_consecutive_failures=2, cancel_pending_on_kill="true"
    ).serialize()

    rebuilt = AigcJobTrigger(**kwargs)

    assert rebuilt.serialize() == (classpath, kwargs)
    assert kwargs["cancel_pending_on_kill"] is True


def test_default_poll_interval_comes_from_the_vendor_app_and_is_serialized(clock: FakeClock) -> None:
    cogview = make_trigger(clock, poll_interval=None)
    news = make_trigger(clock, poll_interval=None, app="news_generate")

    assert cogview.serialize()[1]["poll_interval"] == 15.0
    assert news.serialize()[1]["poll_interval"] == 2.0


def test_the_app_of_a_single_app_vendor_may_be_omitted(clock: FakeClock) -> None:
    trigger = make_trigger(clock, vendor="baidu", conn_id="aigc_baidu_default", app=None, poll_interval=None)

    assert trigger.serialize()[1]["app"] == "txt2imgv2"
    assert trigger.serialize()[1]["poll_interval"] == 5.0


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"job_id": ""}, "job_id"),
        ({"conn_id": None}, "conn_id"),
        ({"app": None}, "no app None"),
        ({"app": "txt2imgv2"}, "no app 'txt2imgv2'"),
        ({"poll_interval": 0}, "poll_interval"),
        ({"poll_interval": "10"}, "poll_interval"),
        ({"end_time": float("inf")}, "end_time"),
        ({"end_time": "tomorrow"}, "end_time"),
        ({"max_consecutive_failures": 0}, "at least 1"),
        ({"max_consecutive_failures": 2.5}, "must be an int"),
    ],
)
def test_bad_kwargs_fail_at_construction(clock: FakeClock, overrides: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        make_trigger(clock, **overrides)


def test_an_unknown_vendor_fails_at_construction(clock: FakeClock) -> None:
    with pytest.raises(AigcInvalidRequestError, match="unknown vendor 'openai'"):
        make_trigger(clock, vendor="openai")


# --- events ----------------------------------------------------------------------------------


async def test_success_after_progress_fires_one_success_event(clock: FakeClock, polls: Script) -> None:
    polls.items = [job_status(JobState.QUEUED, 0.0), RUNNING, SUCCEEDED]

    events = await collect(make_trigger(clock))

    assert events == [fired(JobEvent.success(SUCCEEDED).to_payload())]
    assert events[0].payload["job"]["outputs"][0]["url"] == "http://127.0.0.1:8765/a/0.png"
    assert polls.calls == [(JOB_ID, "cogview", CONN_ID)] * 3


async def test_the_watched_job_counts_as_running_on_its_connection_until_it_ends(
    clock: FakeClock, polls: Script
) -> None:
    """Tasks waiting for capacity on the connection see the job while it runs, and its end."""
    room = room_for(CONN_ID)
    seen: list[set[str]] = []

    async def record(seconds: float) -> None:
        seen.append(set(room.running))
        await clock.sleep(seconds)

    polls.items = [RUNNING, SUCCEEDED]
    trigger = AigcJobTrigger(**make_trigger(clock).serialize()[1], clock=clock, sleep=record)
    await collect(trigger)
    assert seen == [{JOB_ID}]
    assert room.running == set()


async def test_a_job_already_done_fires_at_once_without_sleeping(clock: FakeClock, polls: Script) -> None:
    polls.items = [SUCCEEDED]

    events = await collect(make_trigger(clock))

    assert [event.payload["status"] for event in events] == ["success"]
    assert clock.sleeps == []


async def test_a_failed_job_fires_an_error_event_with_its_class_name(clock: FakeClock, polls: Script) -> None:
    failed = failed_status("AigcContentRejectedError", "the prompt was blocked by moderation", "501")
    polls.items = [RUNNING, failed]

    events = await collect(make_trigger(clock))

    assert events == [
        fired(
            {
                "status": "error",
                "job_id": JOB_ID,
                "message": "the prompt was blocked by moderation",
                "job": failed.to_dict(),
                "error_type": "AigcContentRejectedError",
                "code": "501",
            }
        )
    ]


async def test_an_error_no_retry_can_fix_fires_an_error_event_at_once(
    clock: FakeClock, polls: Script
) -> None:
    polls.items = [RUNNING, AigcAuthError("zhipu error 10002: bad keys", vendor="zhipu", code=10002)]

    events = await collect(make_trigger(clock))

    assert events == [
        fired(
            {
                "status": "error",
                "job_id": JOB_ID,
                "message": "zhipu error 10002: bad keys",
                "job": None,
                "error_type": "AigcAuthError",
                "code": "10002",
            }
        )
    ]
    assert len(clock.sleeps) == 1


async def test_an_unknown_job_is_an_error_event_not_a_retry(clock: FakeClock, polls: Script) -> None:
    polls.items = [AigcUnknownJobError("task not found", vendor="zhipu", code=404)]

    events = await collect(make_trigger(clock))

    assert events[0].payload["error_type"] == "AigcUnknownJobError"
    assert clock.sleeps == []


async def test_an_unfinished_job_at_the_deadline_fires_a_timeout(clock: FakeClock, polls: Script) -> None:
    polls.items = [RUNNING] * 4
    trigger = make_trigger(clock, poll_interval=10.0, end_time=clock.now + 25)

    events = await collect(trigger)

    assert events == [
        fired(
            {
                "status": "timeout",
                "job_id": JOB_ID,
                "message": (
                    f"job {JOB_ID} was not finished by 2023-11-14T22:13:45+00:00 (last seen: RUNNING 37%)"
                ),
                "job": RUNNING.to_dict(),
                "error_type": None,
                "code": None,
            }
        )
    ]
    # Two jittered polls, then a short sleep that ends exactly at the deadline for a last poll.
    assert len(polls.calls) == 4
    assert clock.now == trigger.end_time
    assert clock.sleeps[-1] < 10.0 * 0.9


async def test_a_job_finishing_at_the_deadline_still_succeeds(clock: FakeClock, polls: Script) -> None:
    polls.items = [RUNNING, SUCCEEDED]

    events = await collect(make_trigger(clock, poll_interval=10.0, end_time=clock.now + 3))

    assert [event.payload["status"] for event in events] == ["success"]
    assert clock.sleeps == [3.0]


# --- scheduling, backoff, bounded failures ---------------------------------------------------


async def test_polls_follow_the_jittered_interval_seeded_by_the_job_id(
    clock: FakeClock, polls: Script
) -> None:
    polls.items = [RUNNING] * 5 + [SUCCEEDED]

    await collect(make_trigger(clock, poll_interval=10.0))

    expected = PollSchedule(10.0, seed=JOB_ID)
    assert clock.sleeps == [expected.next_poll() for _ in range(5)]
    assert all(9.0 <= sleep <= 11.0 for sleep in clock.sleeps)
    assert len(set(clock.sleeps)) > 1


async def test_transient_errors_back_off_and_the_job_still_succeeds(clock: FakeClock, polls: Script) -> None:
    polls.items = [
        AigcServerError("zhipu answered HTTP 503", vendor="zhipu", code=503),
        AigcServerError("zhipu answered HTTP 502", vendor="zhipu", code=502),
        AigcRateLimitError("zhipu error 10003", vendor="zhipu", code=10003, retry_after=90.0),
        SUCCEEDED,
    ]

    events = await collect(make_trigger(clock, poll_interval=10.0))

    assert [event.payload["status"] for event in events] == ["success"]
    first, second, third = clock.sleeps
    assert 18.0 <= first <= 22.0  # 2 x interval, +-10 %
    assert 36.0 <= second <= 44.0  # 4 x interval
    assert third == 90.0  # the vendor's Retry-After wins over 80 s of backoff


async def test_backoff_is_capped(clock: FakeClock, polls: Script) -> None:
    polls.items = [AigcServerError("down", vendor="zhipu")] * 7 + [SUCCEEDED]

    await collect(
        make_trigger(clock, poll_interval=10.0, max_consecutive_failures=8, end_time=clock.now + 9999)
    )

    assert max(clock.sleeps) <= MAX_BACKOFF_SECONDS * 1.1
    assert clock.sleeps[-1] >= MAX_BACKOFF_SECONDS * 0.9


async def test_a_bounded_run_of_failures_gives_up_with_an_error_event(
    clock: FakeClock, polls: Script
) -> None:
    polls.items = [AigcServerError("zhipu answered HTTP 503", vendor="zhipu", code=503)] * 3

    events = await collect(make_trigger(clock, max_consecutive_failures=3))

    assert events == [
        fired(
            {
                "status": "error",
                "job_id": JOB_ID,
                "message": "gave up after 3 failed polls in a row; the last: zhipu answered HTTP 503",
                "job": None,
                "error_type": "AigcServerError",
                "code": "503",
            }
        )
    ]
    assert len(clock.sleeps) == 2


async def test_a_successful_poll_resets_the_failure_count(clock: FakeClock, polls: Script) -> None:
    down = AigcServerError("down", vendor="zhipu")
    polls.items = [down, down, RUNNING, down, down, SUCCEEDED]

    events = await collect(make_trigger(clock, max_consecutive_failures=3))

    assert [event.payload["status"] for event in events] == ["success"]


# --- logs, restarts, kill --------------------------------------------------------------------


async def test_states_are_logged_at_info_and_progress_at_most_every_five_minutes(
    clock: FakeClock, polls: Script
) -> None:
    # Polls about every 100 s (jittered down to 90): t=0, 90-100, 180-200, ... Each line a trigger
    # logs costs Airflow's triggerer supervisor a database loop, so progress is not logged per poll.
    polls.items = [
        job_status(JobState.QUEUED, 0.0),
        job_status(JobState.RUNNING, 0.1),  # a new state: INFO
        job_status(JobState.RUNNING, 0.2),  # 80-110 s after the last INFO line: DEBUG only
        job_status(JobState.RUNNING, 0.3),  # 170-210 s: DEBUG only
        job_status(JobState.RUNNING, 0.3),  # unchanged: nothing
        job_status(JobState.RUNNING, 0.4),  # 350-410 s: INFO
        job_status(JobState.RUNNING, 0.5),  # 80-110 s after that: DEBUG only
        SUCCEEDED,
    ]
    with captured_logs() as logs:  # at the default INFO level, DEBUG lines are dropped at the source
        await collect(make_trigger(clock, poll_interval=100.0, end_time=clock.now + 2000))

    assert [line.message for line in logs if line.message.startswith("Job ")] == [
        f"Job {JOB_ID}: QUEUED 0%",
        f"Job {JOB_ID}: RUNNING 10%",
        f"Job {JOB_ID}: RUNNING 40%",
        f"Job {JOB_ID}: SUCCEEDED 100%",
    ]


async def test_transient_failures_are_logged_as_warnings(clock: FakeClock, polls: Script) -> None:
    polls.items = [AigcServerError("zhipu answered HTTP 503", vendor="zhipu"), SUCCEEDED]

    with captured_logs() as logs:
        await collect(make_trigger(clock))

    warnings = [line.message for line in logs if line.level == "warning"]
    assert len(warnings) == 1
    assert "(1 of at most 5 in a row; AigcServerError: zhipu answered HTTP 503)" in warnings[0]


async def test_a_restarted_trigger_keeps_the_deadline_and_only_reads_status(
    clock: FakeClock, polls: Script
) -> None:
    """A triggerer restart rebuilds the trigger from its kwargs, later; the deadline does not move."""
    _, kwargs = make_trigger(clock, end_time=clock.now + 30).serialize()
    clock.now += 45  # the triggerer was down past the deadline
    polls.items = [RUNNING]

    events = await collect(AigcJobTrigger(**kwargs, clock=clock, sleep=clock.sleep))

    assert [event.payload["status"] for event in events] == ["timeout"]
    assert polls.calls == [(JOB_ID, "cogview", CONN_ID)]  # one last look, no submit


async def test_two_copies_of_a_trigger_fire_the_same_event(clock: FakeClock, polls: Script) -> None:
    """A second triggerer picking the trigger up only polls the same job again."""
    polls.items = [SUCCEEDED, SUCCEEDED]
    _, kwargs = make_trigger(clock).serialize()

    first = await collect(AigcJobTrigger(**kwargs, clock=clock, sleep=clock.sleep))
    second = await collect(AigcJobTrigger(**kwargs, clock=clock, sleep=clock.sleep))

    assert first == second == [fired(JobEvent.success(SUCCEEDED).to_payload())]


async def test_the_async_hook_is_built_from_the_connection_of_the_job(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, str, str]] = []

    async def aget_status(hook: BaiduHook, job_id: str, app: str, *, deadline: float | None = None) -> Any:
        seen.append((hook.conn_id, job_id, app))
        return job_status(JobState.SUCCEEDED)

    monkeypatch.setattr(BaiduHook, "aget_status", aget_status)
    trigger = make_trigger(
        clock, vendor="baidu", conn_id="baidu_prod", app=None, job_id="1659384536691865192"
    )

    await collect(trigger)

    assert seen == [("baidu_prod", "1659384536691865192", "txt2imgv2")]


@pytest.mark.parametrize("opted_in", [False, True])
async def test_on_kill_says_the_job_keeps_running_remotely(clock: FakeClock, opted_in: bool) -> None:
    """Zhipu has no cancel call: the opt-in changes nothing there."""
    with captured_logs() as logs:
        await make_trigger(clock, cancel_pending_on_kill=opted_in).on_kill()

    assert len(logs) == 1
    assert logs[0].level == "warning"
    assert "zhipu offers no way to cancel jobs" in logs[0].message
    assert f"cogview job {JOB_ID} keeps running" in logs[0].message


@dataclass
class Cancels:
    """The job ids DashScopeHook.acancel was called with; it raises ``errors`` in order."""

    sent: list[str] = field(default_factory=list)
    errors: list[Exception] = field(default_factory=list)


@pytest.fixture
def cancels(monkeypatch: pytest.MonkeyPatch) -> Cancels:
    recorded = Cancels()

    async def acancel(hook: DashScopeHook, job_id: str) -> None:
        recorded.sent.append(job_id)
        if recorded.errors:
            raise recorded.errors.pop(0)

    monkeypatch.setattr(DashScopeHook, "acancel", acancel)
    return recorded


def wan_trigger(clock: FakeClock, opted_in: bool) -> AigcJobTrigger:
    return make_trigger(
        clock,
        vendor="dashscope",
        conn_id="aigc_dashscope_default",
        app="wan_image",
        cancel_pending_on_kill=opted_in,
    )


async def test_on_kill_cancels_the_job_at_the_vendor_when_opted_in(
    clock: FakeClock, cancels: Cancels
) -> None:
    trigger = wan_trigger(clock, opted_in=True)
    with captured_logs() as logs:
        await trigger.on_kill()
        await trigger.cleanup()  # follows on_kill in the triggerer: no promise of a resumed watch

    assert cancels.sent == [JOB_ID]
    assert len(logs) == 2
    assert "dashscope cancelled wan_image job" in logs[-1].message
    assert "nothing is billed" in logs[-1].message


@pytest.mark.parametrize(
    ("error", "said"),
    [
        # The task left PENDING: the vendor refuses, the job runs on.
        (
            AigcInvalidRequestError("UnsupportedOperation: Failed to cancel the task"),
            "did not cancel wan_image job",
        ),
        (AigcServerError("HTTP 500"), "failed (AigcServerError: HTTP 500): it may keep running"),
    ],
)
async def test_on_kill_whose_cancel_is_refused_or_fails_logs_it_and_raises_nothing(
    clock: FakeClock, cancels: Cancels, error: Exception, said: str
) -> None:
    cancels.errors.append(error)

    with captured_logs() as logs:
        await wan_trigger(clock, opted_in=True).on_kill()

    assert cancels.sent == [JOB_ID]
    assert logs[-1].level == "warning"
    assert said in logs[-1].message
    assert "keep" in logs[-1].message  # says the job may still run (and be billed)


async def test_on_kill_without_the_opt_in_sends_no_cancel_and_names_the_option(
    clock: FakeClock, cancels: Cancels
) -> None:
    with captured_logs() as logs:
        await wan_trigger(clock, opted_in=False).on_kill()

    assert cancels.sent == []
    assert "cancel_pending_on_kill=True" in logs[-1].message


def test_the_option_must_be_a_boolean(clock: FakeClock) -> None:
    with pytest.raises(AigcInvalidRequestError, match="cancel_pending_on_kill must be true or false"):
        make_trigger(clock, cancel_pending_on_kill="yes")


async def test_cleanup_logs_only_when_the_trigger_stopped_before_the_job_finished(
    clock: FakeClock, polls: Script
) -> None:
    polls.items = [SUCCEEDED]
    finished = make_trigger(clock)
    await collect(finished)

    with captured_logs() as logs:
        await make_trigger(clock).cleanup()
        await finished.cleanup()

    assert [line.message for line in logs] == [
        f"Stopped watching zhipu job {JOB_ID} before it finished; it keeps running at the vendor and a "
        "re-started trigger resumes watching it with the same deadline."
    ]
