"""AigcJobSensor's deadline: one absolute deadline per try, handed to every wait on the way to it.

Semantics across task retries (docs/operators.md, "Timeout across retries"), as Airflow's own
``BaseSensorOperator`` counts: the deadline starts when a try starts (poke and deferrable mode) or
at the try's first reschedule (reschedule mode); a retry (after an error, never after the timeout,
which skips retries) starts a new one.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from airflow.sdk.bases.operator import ExecutorSafeguard
from airflow.sdk.exceptions import AirflowSensorTimeout, AirflowSkipException, TaskDeferred

from airflow_provider_aigc.exceptions import DeadlineReached
from airflow_provider_aigc.hooks.zhipu import ZhipuHook
from airflow_provider_aigc.models import JobState
from airflow_provider_aigc.sensors.job import AigcJobSensor
from airflow_provider_aigc.triggers.job import AigcJobTrigger
from tests.unit.triggers.factories import JOB_ID, FakeClock, Script, job_ref, job_status

REF = job_ref()
RUNNING = job_status(JobState.RUNNING, 0.37)


@pytest.fixture(autouse=True)
def as_in_the_task_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ExecutorSafeguard, "test_mode", True)


@pytest.fixture
def statuses(monkeypatch: pytest.MonkeyPatch) -> Script:
    """ZhipuHook.get_status answers from this script and records the deadline it was given."""
    script = Script([])

    def get_status(hook: ZhipuHook, job_id: str, app: str, *, deadline: float | None = None) -> Any:
        return script.next(job_id, app, deadline)

    monkeypatch.setattr(ZhipuHook, "get_status", get_status)
    return script


class FakeTaskInstance:
    def __init__(self, try_number: int, first_reschedule: datetime | None = None) -> None:
        self.try_number = try_number
        self.first_reschedule = first_reschedule

    def get_first_reschedule_date(self, context: Any) -> datetime | None:
        return self.first_reschedule


def sensor(clock: FakeClock, **kwargs: Any) -> AigcJobSensor:
    waiting = AigcJobSensor(task_id="wait", job=REF.to_dict(), **kwargs)
    waiting._clock = clock
    return waiting


@pytest.mark.parametrize("try_number", [1, 2, 5])
def test_each_try_defers_with_one_deadline_counted_from_its_own_start(
    statuses: Script, try_number: int
) -> None:
    clock = FakeClock()
    statuses.items = [RUNNING]
    with pytest.raises(TaskDeferred) as deferred:
        sensor(clock, timeout=600).execute({"ti": FakeTaskInstance(try_number)})
    trigger = deferred.value.trigger
    assert isinstance(trigger, AigcJobTrigger)
    assert trigger.end_time == clock.now + 600
    # the first check was bounded by the very deadline the trigger carries
    assert statuses.calls == [(JOB_ID, "cogview", clock.now + 600)]


def test_a_first_check_cut_short_by_the_deadline_is_the_sensor_timeout(statuses: Script) -> None:
    clock = FakeClock()
    statuses.items = [DeadlineReached("the deadline passed while retrying: 429")]
    with pytest.raises(AirflowSensorTimeout, match="deadline"):
        sensor(clock, timeout=5).execute({})


def test_soft_fail_skips_instead(statuses: Script) -> None:
    statuses.items = [DeadlineReached("the deadline passed")]
    with pytest.raises(AirflowSkipException):
        sensor(FakeClock(), timeout=5, soft_fail=True).execute({})


def test_reschedule_mode_counts_from_the_tries_first_reschedule(statuses: Script) -> None:
    """A try rescheduled for longer than its timeout hands the hook a deadline already past (the
    hook then sends nothing: tests/unit/hooks/test_deadline.py) and ends as the sensor timeout."""
    clock = FakeClock()
    first = datetime.fromtimestamp(clock.now - 100, tz=timezone.utc)
    waiting = sensor(clock, timeout=60, deferrable=False, mode="reschedule")
    statuses.items = [DeadlineReached("the deadline passed before the call could be made")]
    with pytest.raises(AirflowSensorTimeout):
        waiting.execute({"ti": FakeTaskInstance(1, first), "task_reschedule_count": 3})
    assert statuses.calls == [(JOB_ID, "cogview", clock.now - 100 + 60)]


def test_poke_passes_the_tries_deadline_to_the_hook(statuses: Script) -> None:
    clock = FakeClock()
    waiting = sensor(clock, timeout=90, deferrable=False, poke_interval=5)
    statuses.items = [job_status(JobState.SUCCEEDED, 1.0)]
    waiting.execute({})
    assert statuses.calls == [(JOB_ID, "cogview", clock.now + 90)]
