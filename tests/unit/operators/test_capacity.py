"""A submit refused for concurrency waits for capacity deferred, then submits again (submit mode).

The one-task mode runs the same code (``job_or_wait``); tests/unit/operators/test_generate.py
covers its resume into the job's wait.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from airflow.sdk import DAG
from airflow.sdk.bases.operator import ExecutorSafeguard
from airflow.sdk.exceptions import AirflowException, AirflowFailException, TaskDeferred

from airflow_provider_aigc.exceptions import AigcCapacityTimeoutError, AigcConcurrencyLimitError
from airflow_provider_aigc.models import JobRef, JobState, JobStatus
from airflow_provider_aigc.operators.submit import JOB_STATE_KEY, ErnieVilgSubmitOperator
from airflow_provider_aigc.triggers.capacity import AigcCapacityTrigger
from tests.unit.operators.fakes import FakeTaskInstance, FakeTaskStateStore, context_with

NOW = 1_700_000_000.0
CONN = "aigc_baidu_default"


@dataclass
class RefusingBaidu:
    """Refuses the first ``refusals`` submits with Baidu's 15, then sells jobs; records what it saw."""

    refusals: int
    store: FakeTaskStateStore
    sent: int = 0
    bought: list[str] = field(default_factory=list)
    intent_at_send: list[bool] = field(default_factory=list)

    def validate(self, app: str, params: dict[str, Any]) -> dict[str, Any]:
        return {name: value for name, value in params.items() if value is not None}

    def max_running_jobs(self) -> int:
        return 2

    def get_status(self, job_id: str, app: str) -> JobStatus:
        return JobStatus("baidu", app, job_id, JobState.RUNNING)

    def submit_request(self, app: str, request: dict[str, Any]) -> JobRef:
        self.sent += 1
        self.intent_at_send.append(JOB_STATE_KEY in self.store.values)
        if self.sent <= self.refusals:
            raise AigcConcurrencyLimitError("baidu error 15: 并发超限", vendor="baidu", code=15, refused=True)
        self.bought.append(f"job{self.sent}")
        return JobRef("baidu", app, CONN, f"job{self.sent}", "2024-05-01T08:00:00+00:00", dict(request))


@dataclass
class Task:
    """One mapped task instance; each start or resume runs a new operator, as Airflow does."""

    vendor: RefusingBaidu
    store: FakeTaskStateStore
    clock: itertools.count[float] = field(default_factory=lambda: itertools.count(NOW, 10.0))
    map_index: int = 1  # among the first max_running_jobs (2) of the batch: submits at once

    def operator(self) -> ErnieVilgSubmitOperator:
        with DAG("d", schedule=None):
            op = ErnieVilgSubmitOperator(task_id="submit", prompt="荷塘月色", capacity_timeout=600)
        op.__dict__["hook"] = self.vendor
        op._capacity_clock = lambda: next(self.clock)
        return op

    def context(self) -> Any:
        return context_with(self.store, FakeTaskInstance(map_index=self.map_index))

    def start(self) -> TaskDeferred:
        with pytest.raises(TaskDeferred) as deferred:
            self.operator().execute(self.context())
        return deferred.value

    def resume(self, deferral: TaskDeferred, payload: dict[str, Any]) -> Any:
        assert deferral.method_name == "execute_after_capacity"
        kwargs = cast("dict[str, Any]", deferral.kwargs)
        return self.operator().execute_after_capacity(self.context(), event=payload, **kwargs)


@pytest.fixture(autouse=True)
def as_in_the_task_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ExecutorSafeguard, "test_mode", True)


def make_task(refusals: int, map_index: int = 1) -> Task:
    store = FakeTaskStateStore()
    return Task(RefusingBaidu(refusals, store), store, map_index=map_index)


def capacity(**values: Any) -> dict[str, Any]:
    return {"status": "capacity", "waited": 5.0, "running": 1, "ahead": 0, **values}


def test_a_concurrency_refusal_defers_to_the_capacity_trigger_and_withdraws_the_intent() -> None:
    task = make_task(refusals=1)

    deferral = task.start()

    assert isinstance(deferral.trigger, AigcCapacityTrigger)
    assert deferral.trigger.serialize()[1] == {
        "conn_id": CONN,
        "vendor": "baidu",
        "app": "txt2imgv2",
        "end_time": NOW + 600,
        "waiting_since": NOW,
        "refused_at": NOW,
        "refusals": 1,
        "map_index": 1,
        "max_running_jobs": 2,
    }
    assert deferral.timeout is None  # the deadline is the trigger's end_time
    assert task.vendor.intent_at_send == [True]  # recorded before the paid call, as always
    assert JOB_STATE_KEY not in task.store.values  # a refusal proves nothing was bought


def test_resumed_with_capacity_the_task_submits_again_and_returns_its_one_job() -> None:
    task = make_task(refusals=1)

    result = task.resume(task.start(), capacity())

    assert task.vendor.bought == ["job2"]
    assert result["job_id"] == "job2"
    assert task.store.values[JOB_STATE_KEY]["job"]["job_id"] == "job2"
    assert task.vendor.intent_at_send == [True, True]


def test_refused_again_it_keeps_its_place_and_deadline_and_counts_the_refusal() -> None:
    task = make_task(refusals=2)

    first = task.start()
    with pytest.raises(TaskDeferred) as again:
        task.resume(first, capacity())

    kwargs = again.value.trigger.serialize()[1]
    assert (kwargs["waiting_since"], kwargs["end_time"], kwargs["refusals"]) == (NOW, NOW + 600, 2)
    assert kwargs["refused_at"] > NOW
    assert again.value.kwargs == {"waiting_since": NOW, "refusals": 2}
    assert task.resume(again.value, capacity())["job_id"] == "job3"
    assert task.vendor.bought == ["job3"]


def test_a_task_beyond_the_limit_queues_before_its_first_submit_and_then_submits_once() -> None:
    task = make_task(refusals=0, map_index=2)

    deferral = task.start()

    assert isinstance(deferral.trigger, AigcCapacityTrigger)
    kwargs = deferral.trigger.serialize()[1]
    assert (kwargs["refusals"], kwargs["waiting_since"], kwargs["map_index"]) == (0, NOW, 2)
    assert task.vendor.sent == 0  # nothing sent, nothing bought
    assert JOB_STATE_KEY not in task.store.values  # and no intent recorded
    assert task.resume(deferral, capacity())["job_id"] == "job1"
    assert task.vendor.intent_at_send == [True]  # the admitted submit records its intent first


def test_a_task_admitted_without_a_refusal_that_is_refused_waits_again() -> None:
    task = make_task(refusals=1, map_index=5)

    first = task.start()
    with pytest.raises(TaskDeferred) as again:
        task.resume(first, capacity())

    kwargs = again.value.trigger.serialize()[1]
    assert (kwargs["waiting_since"], kwargs["refusals"]) == (NOW, 1)  # keeps its place
    assert JOB_STATE_KEY not in task.store.values
    assert task.resume(again.value, capacity())["job_id"] == "job2"
    assert task.vendor.bought == ["job2"]


@pytest.mark.parametrize(("map_index", "limit"), [(-1, 2), (0, 2), (1, 2), (7, None)])
def test_unmapped_tasks_the_first_of_a_batch_and_unknown_limits_submit_at_once(
    map_index: int, limit: int | None
) -> None:
    task = make_task(refusals=0, map_index=map_index)
    task.vendor.max_running_jobs = lambda: limit  # type: ignore[method-assign]

    assert task.operator().execute(task.context())["job_id"] == "job1"


def test_a_later_try_reuses_its_job_without_queueing() -> None:
    task = make_task(refusals=0, map_index=4)
    task.resume(task.start(), capacity())

    assert task.operator().execute(task.context())["job_id"] == "job1"  # a retry: no new wait
    assert task.vendor.sent == 1


def test_the_deadline_fails_with_how_long_it_waited_and_how_many_were_ahead() -> None:
    task = make_task(refusals=1)
    deferral = task.start()

    with pytest.raises(AirflowFailException) as failed:
        task.resume(deferral, {"status": "timeout", "waited": 600.0, "running": 2, "ahead": 5})

    assert isinstance(failed.value.__cause__, AigcCapacityTimeoutError)
    message = str(failed.value)
    assert "waited 600 s for capacity on connection 'aigc_baidu_default'" in message
    assert "2 job(s) on it were watched here and 5 task(s) waited ahead of this one" in message
    assert "nothing was bought" in message
    assert task.vendor.bought == []


def test_an_unknown_event_is_refused() -> None:
    task = make_task(refusals=1)
    with pytest.raises(AirflowException, match="does not know"):
        task.resume(task.start(), {"status": "success"})


def test_capacity_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity_timeout must be positive"):
        ErnieVilgSubmitOperator(task_id="submit", prompt="x", capacity_timeout=0)
