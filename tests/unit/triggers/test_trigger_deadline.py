"""AigcJobTrigger hands its absolute end_time to every poll, and a poll cut short by it is the
timeout event (not a failed poll counted towards giving up)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_aigc.exceptions import DeadlineReached
from airflow_provider_aigc.hooks.zhipu import ZhipuHook
from airflow_provider_aigc.models import JobState
from airflow_provider_aigc.triggers.events import JobEvent
from airflow_provider_aigc.triggers.job import AigcJobTrigger
from tests.unit.triggers.factories import CONN_ID, JOB_ID, FakeClock, Script, job_status


@pytest.fixture
def polls(monkeypatch: pytest.MonkeyPatch) -> Script:
    script = Script([])

    async def aget_status(hook: ZhipuHook, job_id: str, app: str, *, deadline: float | None = None) -> Any:
        return script.next(job_id, deadline, hook._clock, hook._async_sleep)

    monkeypatch.setattr(ZhipuHook, "aget_status", aget_status)
    return script


async def run(clock: FakeClock, end_in: float) -> tuple[AigcJobTrigger, JobEvent]:
    trigger = AigcJobTrigger(
        conn_id=CONN_ID,
        vendor="zhipu",
        job_id=JOB_ID,
        poll_interval=10.0,
        end_time=clock.now + end_in,
        app="cogview",
        max_consecutive_failures=1,
        clock=clock,
        sleep=clock.sleep,
    )
    events = [event async for event in trigger.run()]
    assert len(events) == 1
    return trigger, JobEvent.from_payload(events[0].payload)


async def test_every_poll_is_bounded_by_the_end_time_on_the_triggers_clock(polls: Script) -> None:
    clock = FakeClock()
    polls.items = [job_status(JobState.RUNNING, 0.5), job_status(JobState.SUCCEEDED, 1.0)]
    trigger, event = await run(clock, 600)
    assert event.status == "success"
    # the hook polls with the trigger's deadline, clock and sleep (its retry pauses are the trigger's)
    assert [call[1:] for call in polls.calls] == [(trigger.end_time, clock, clock.sleep)] * 2


async def test_a_poll_cut_short_by_the_deadline_is_the_timeout_event(polls: Script) -> None:
    """Regression: the deadline was only looked at between polls (a 1 s deadline fired after 9 s)."""
    clock = FakeClock()
    polls.items = [DeadlineReached("the deadline passed while retrying: 429 slow down")]
    _, event = await run(clock, 1)
    assert event.status == "timeout"
    assert event.job_id == JOB_ID
    assert "429 slow down" in (event.message or "")
    assert clock.sleeps == []
