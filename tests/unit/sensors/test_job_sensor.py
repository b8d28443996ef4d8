"""AigcJobSensor: check-then-defer, resuming from events, poke mode, and the failure semantics."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from airflow.sdk import PokeReturnValue
from airflow.sdk.bases.operator import ExecutorSafeguard
from airflow.sdk.exceptions import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    TaskDeferred,
)

from airflow_provider_aigc.exceptions import (
    AigcAuthError,
    AigcContentRejectedError,
    AigcInvalidRequestError,
    AigcJobFailedError,
    AigcQuotaExceededError,
    AigcServerError,
    AigcUnknownJobError,
)
from airflow_provider_aigc.hooks.baidu import BaiduHook
from airflow_provider_aigc.hooks.dashscope import DashScopeHook
from airflow_provider_aigc.hooks.zhipu import ZhipuHook
from airflow_provider_aigc.models import JobState
from airflow_provider_aigc.sensors.job import AigcJobSensor
from airflow_provider_aigc.triggers.events import JobEvent
from airflow_provider_aigc.triggers.job import AigcJobTrigger
from tests.unit.triggers.factories import (
    CONN_ID,
    JOB_ID,
    Script,
    captured_logs,
    failed_status,
    job_ref,
    job_status,
)

REF = job_ref()
RUNNING = job_status(JobState.RUNNING, 0.37)
SUCCEEDED = job_status(JobState.SUCCEEDED, 1.0)
EXPECTED_RESULT = {
    **SUCCEEDED.to_dict(),
    "conn_id": CONN_ID,
    "request": REF.request,
    "submitted_at": REF.submitted_at,
}


@pytest.fixture(autouse=True)
def as_in_the_task_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    """Call execute() directly without Airflow's "outside of the Task Runner" warning."""
    monkeypatch.setattr(ExecutorSafeguard, "test_mode", True)


@pytest.fixture
def statuses(monkeypatch: pytest.MonkeyPatch) -> Script:
    """ZhipuHook.get_status answers from this script."""
    script = Script([])

    def get_status(hook: ZhipuHook, job_id: str, app: str, *, deadline: float | None = None) -> Any:
        return script.next(job_id, app, hook.conn_id)

    monkeypatch.setattr(ZhipuHook, "get_status", get_status)
    return script


def sensor(**kwargs: Any) -> AigcJobSensor:
    return AigcJobSensor(task_id="wait", **({"job": REF.to_dict()} | kwargs))


def deferral(sensor: AigcJobSensor) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as raised:
        sensor.execute({})
    return raised.value


# --- construction ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "needs either job"),
        ({"job": REF.to_dict(), "job_id": JOB_ID, "vendor": "zhipu"}, "needs either job"),
        ({"job": REF.to_dict(), "conn_id": "other"}, "do not pass them"),
        ({"job_id": JOB_ID}, "job_id needs its vendor"),
        ({"job": REF.to_dict(), "poll_interval": 0}, "poll_interval must be positive"),
    ],
)
def test_bad_arguments_fail_when_the_dag_is_parsed(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AigcJobSensor(task_id="wait", **kwargs)


def test_defaults_defer_with_a_one_hour_deadline() -> None:
    waiting = sensor()

    assert waiting.deferrable is True
    assert waiting.timeout == timedelta(hours=1).total_seconds()
    assert set(waiting.template_fields) == {
        "job",
        "conn_id",
        "job_id",
        "vendor",
        "app",
        "cancel_pending_on_kill",
    }
    assert waiting.cancel_pending_on_kill is False


# --- execute: check once, then defer ---------------------------------------------------------


def test_a_job_already_done_returns_at_once_without_deferring(statuses: Script) -> None:
    statuses.items = [SUCCEEDED]

    assert sensor().execute({}) == EXPECTED_RESULT
    assert statuses.calls == [(JOB_ID, "cogview", CONN_ID)]


def test_a_running_job_defers_with_an_absolute_deadline_in_the_trigger(statuses: Script) -> None:
    statuses.items = [RUNNING]

    before = time.time()
    deferred = deferral(sensor(timeout=600))
    after = time.time()

    assert deferred.method_name == "execute_complete"
    assert deferred.timeout is None
    assert isinstance(deferred.trigger, AigcJobTrigger)
    _classpath, kwargs = deferred.trigger.serialize()
    end_time = kwargs.pop("end_time")
    assert before + 600 <= end_time <= after + 600
    assert kwargs == {
        "conn_id": CONN_ID,
        "vendor": "zhipu",
        "job_id": JOB_ID,
        "poll_interval": 15.0,
        "app": "cogview",
        "max_consecutive_failures": 5,
        "cancel_pending_on_kill": False,
    }


def test_the_rendered_cancel_option_travels_to_the_trigger_and_a_bad_one_fails_fast(statuses: Script) -> None:
    statuses.items = [RUNNING]

    deferred = deferral(sensor(cancel_pending_on_kill="True"))

    assert deferred.trigger.serialize()[1]["cancel_pending_on_kill"] is True
    assert "cancel_pending_on_kill" in AigcJobSensor.template_fields
    with pytest.raises(AirflowFailException, match="cancel_pending_on_kill must be true or false"):
        sensor(cancel_pending_on_kill="sometimes").execute({})


def test_the_trigger_never_sees_the_request(statuses: Script) -> None:
    statuses.items = [RUNNING]
    secret_prompt = "do not put me in the trigger table"

    deferred = deferral(sensor(job=job_ref(request={"query": secret_prompt}).to_dict(), poll_interval=0.5))

    assert secret_prompt not in repr(deferred.trigger)
    assert deferred.trigger.serialize()[1]["poll_interval"] == 0.5


def test_a_vendor_briefly_down_at_the_first_check_still_defers(statuses: Script) -> None:
    statuses.items = [AigcServerError("zhipu answered HTTP 503", vendor="zhipu")]

    with captured_logs() as logs:
        deferred = deferral(sensor())

    assert isinstance(deferred.trigger, AigcJobTrigger)
    assert any("the trigger keeps trying" in line.message for line in logs)


def test_a_job_given_by_id_uses_the_vendors_default_connection_and_single_app(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[str, str, str]] = []
    done = job_status(JobState.SUCCEEDED, job_id="1659384536691865192")

    def get_status(hook: BaiduHook, job_id: str, app: str, *, deadline: float | None = None) -> Any:
        calls.append((hook.conn_id, job_id, app))
        return done

    monkeypatch.setattr(BaiduHook, "get_status", get_status)

    result = AigcJobSensor(task_id="wait", job_id="1659384536691865192", vendor="baidu").execute({})

    assert calls == [("aigc_baidu_default", "1659384536691865192", "txt2imgv2")]
    assert result["conn_id"] == "aigc_baidu_default"
    assert result["request"] == {}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"job_id": JOB_ID, "vendor": "zhipu"}, "zhipu has no app None"),
        ({"job_id": JOB_ID, "vendor": "openai"}, "unknown vendor 'openai'"),
        ({"job": "{'vendor': 'zhipu'}"}, "job must be the JobRef dict"),
        ({"job": {"vendor": "zhipu"}}, "job is not a JobRef dict"),
    ],
)
def test_a_job_that_cannot_be_identified_fails_without_retries(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(AirflowFailException, match=message) as raised:
        AigcJobSensor(task_id="wait", **kwargs).execute({})

    assert isinstance(raised.value.__cause__, AigcInvalidRequestError)


def test_a_job_the_vendor_failed_fails_without_retries_and_says_how_to_resubmit(statuses: Script) -> None:
    statuses.items = [failed_status("AigcJobFailedError", "the model failed", "201")]

    with pytest.raises(AirflowFailException) as raised:
        sensor().execute({})

    message = str(raised.value)
    assert message.startswith(f"AigcJobFailedError: zhipu job {JOB_ID} failed: the model failed.")
    assert "clear the submit task together with its downstream tasks" in message
    cause = raised.value.__cause__
    assert isinstance(cause, AigcJobFailedError)
    assert (cause.vendor, cause.code) == ("zhipu", "201")


def test_a_moderated_job_fails_without_retries_saying_why(statuses: Script) -> None:
    statuses.items = [failed_status("AigcContentRejectedError", "the prompt was blocked", "501")]

    with pytest.raises(AirflowFailException, match="same prompt gets the same verdict") as raised:
        sensor().execute({})

    assert isinstance(raised.value.__cause__, AigcContentRejectedError)


@pytest.mark.parametrize(
    "error",
    [
        AigcAuthError("zhipu error 10002", vendor="zhipu"),
        AigcUnknownJobError("task not found", vendor="zhipu"),
        # A usage quota does not come back by waiting for a retry (issue #20).
        AigcQuotaExceededError("zhipu error 10004", vendor="zhipu"),
    ],
)
def test_status_errors_no_retry_can_fix_fail_fast(statuses: Script, error: Exception) -> None:
    statuses.items = [error]

    with pytest.raises(AirflowFailException) as raised:
        sensor().execute({})

    assert raised.value.__cause__ is error


# --- execute_complete ------------------------------------------------------------------------


def test_a_success_event_returns_the_job_with_the_refs_connection_and_request() -> None:
    event = JobEvent.success(SUCCEEDED).to_payload()

    assert sensor().execute_complete({}, event) == EXPECTED_RESULT


def test_a_failed_job_event_fails_like_the_first_check_would() -> None:
    event = JobEvent.job_failed(failed_status("AigcContentRejectedError", "blocked", "501")).to_payload()

    with pytest.raises(AirflowFailException, match="same prompt gets the same verdict") as raised:
        sensor().execute_complete({}, event)

    assert isinstance(raised.value.__cause__, AigcContentRejectedError)


def test_a_polling_error_event_no_retry_can_fix_fails_fast() -> None:
    error = AigcAuthError("zhipu error 10002: bad keys", vendor="zhipu", code=10002)
    event = JobEvent.polling_failed(JOB_ID, error, error.message).to_payload()

    with pytest.raises(AirflowFailException, match="AigcAuthError: zhipu error 10002: bad keys") as raised:
        sensor().execute_complete({}, event)

    assert isinstance(raised.value.__cause__, AigcAuthError)


def test_a_transient_polling_error_event_uses_the_tasks_retries() -> None:
    error = AigcServerError("zhipu answered HTTP 503", vendor="zhipu", code=503)
    event = JobEvent.polling_failed(JOB_ID, error, "gave up after 5 failed polls in a row").to_payload()

    with pytest.raises(AigcServerError, match="gave up after 5 failed polls") as raised:
        sensor().execute_complete({}, event)

    assert raised.value.code == "503"


def test_a_timeout_event_raises_the_sensor_timeout() -> None:
    event = JobEvent.timeout(JOB_ID, "job was not finished by noon", RUNNING).to_payload()

    with pytest.raises(AirflowSensorTimeout, match="job was not finished by noon"):
        sensor().execute_complete({}, event)


@pytest.mark.parametrize(
    "event",
    [
        None,
        {"status": "success"},
        {**JobEvent.success(SUCCEEDED).to_payload(), "status": "cancelled"},
        JobEvent.success(job_status(JobState.SUCCEEDED, job_id="someone-else")).to_payload(),
    ],
)
def test_unknown_or_foreign_events_raise(event: dict[str, Any] | None) -> None:
    with pytest.raises(AirflowException):
        sensor().execute_complete({}, event)


# --- poke / non-deferrable -------------------------------------------------------------------


def test_poke_reports_not_done_while_the_job_runs(statuses: Script) -> None:
    statuses.items = [RUNNING]

    with captured_logs() as logs:
        result = sensor(deferrable=False).poke({})

    assert isinstance(result, PokeReturnValue)
    assert not result.is_done
    assert [line.message for line in logs] == [f"Job {JOB_ID}: RUNNING 37%"]


def test_poke_returns_the_same_result_as_the_deferred_path(statuses: Script) -> None:
    statuses.items = [SUCCEEDED]

    result = sensor(deferrable=False).poke({})

    assert result.is_done
    assert (
        result.xcom_value
        == EXPECTED_RESULT
        == sensor().execute_complete({}, JobEvent.success(SUCCEEDED).to_payload())
    )


def test_poke_fails_fast_on_a_failed_job(statuses: Script) -> None:
    statuses.items = [failed_status("AigcContentRejectedError", "blocked")]

    with pytest.raises(AirflowFailException):
        sensor(deferrable=False).poke({})


def test_non_deferrable_execute_pokes_at_the_apps_interval_until_done(
    statuses: Script, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr("airflow.sdk.bases.sensor.time.sleep", slept.append)
    statuses.items = [RUNNING, RUNNING, SUCCEEDED]

    result = sensor(deferrable=False).execute({})

    assert result == EXPECTED_RESULT
    assert slept == [15.0, 15.0]


def test_non_deferrable_execute_uses_the_given_poll_interval(
    statuses: Script, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr("airflow.sdk.bases.sensor.time.sleep", slept.append)
    statuses.items = [RUNNING, SUCCEEDED]

    sensor(deferrable=False, poll_interval=3.0).execute({})

    assert slept == [3.0]


def test_non_deferrable_execute_keeps_an_explicit_poke_interval(
    statuses: Script, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr("airflow.sdk.bases.sensor.time.sleep", slept.append)
    statuses.items = [RUNNING, SUCCEEDED]

    sensor(deferrable=False, poke_interval=7).execute({})

    assert slept == [7.0]


# --- on_kill ---------------------------------------------------------------------------------


def test_on_kill_says_the_job_keeps_running_at_the_vendor() -> None:
    with captured_logs() as logs:
        sensor().on_kill()

    assert len(logs) == 1
    assert f"cogview job {JOB_ID} keeps running" in logs[0].message
    assert "no way to cancel" in logs[0].message


def test_on_kill_in_the_worker_cancels_a_dashscope_task_when_opted_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cancelled: list[str] = []
    monkeypatch.setattr(DashScopeHook, "cancel", lambda hook, job_id: cancelled.append(job_id))
    wan = AigcJobSensor(task_id="wait", vendor="dashscope", job_id="task-1", app="wan_video")
    wan.cancel_pending_on_kill = True  # as execute leaves it, rendered and checked

    with captured_logs() as logs:
        wan.on_kill()
        AigcJobSensor(task_id="w2", vendor="dashscope", job_id="task-2", app="wan_video").on_kill()

    assert cancelled == ["task-1"]
    assert "dashscope cancelled wan_video job task-1" in logs[1].message
    assert "task-2 keeps running" in logs[2].message
