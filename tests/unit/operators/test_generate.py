"""The one-task mode (CogViewToS3Operator & co.): submit, defer, archive, and every retry resuming
from task state: never buying again, never waiting again for a finished job, bounded resubmits.

The vendor is a fake hook (it counts purchases and status reads), the task state store a fake
that keeps what is written as JSON, and the archive step's copy is replaced by a recorder (the
copier's own reuse is tested in tests/unit/archive and, end to end, in tests/integration).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import pytest
from airflow.sdk import DAG
from airflow.sdk.bases.operator import ExecutorSafeguard
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout, TaskDeferred
from airflow.sdk.execution_time.context import OutletEventAccessors
from airflow.serialization.serialized_objects import DagSerialization

from airflow_provider_aigc.archive.copier import ArchiveResult
from airflow_provider_aigc.exceptions import (
    AigcConcurrencyLimitError,
    AigcJobFailedError,
    AigcServerError,
    AigcSubmitUnconfirmedError,
)
from airflow_provider_aigc.models import ArchivedObject, JobError, JobRef, JobState, JobStatus, Output
from airflow_provider_aigc.operators.archive import AigcArchiveToS3Operator
from airflow_provider_aigc.operators.generate import (
    GENERATE_STATE_KEY,
    PURCHASES_XCOM_KEY,
    CogViewToS3Operator,
    JumdataDrawToS3Operator,
)
from airflow_provider_aigc.operators.job_state import JOB_STATE_KEY
from airflow_provider_aigc.operators.links import MANIFEST_URI_XCOM_KEY
from airflow_provider_aigc.triggers.capacity import AigcCapacityTrigger
from airflow_provider_aigc.triggers.events import JobEvent
from airflow_provider_aigc.triggers.job import AigcJobTrigger
from tests.unit.operators.fakes import FakeTaskStateStore

if TYPE_CHECKING:
    from airflow.sdk import Context

pytestmark = pytest.mark.usefixtures("vendor_connections")

NOW = 1_700_000_000.0
PROMPT = "荷塘月色"


@pytest.fixture(autouse=True)
def _executor_safeguard_test_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ExecutorSafeguard, "test_mode", True)


class FakeProtocol:
    def describe_request(self, app: str, request: dict[str, Any]) -> dict[str, Any]:
        return dict(request)


@dataclass
class FakeVendor:
    """A Zhipu that counts purchases and status reads; statuses are scripted per job, in order."""

    purchases: list[str] = field(default_factory=list)
    status_reads: list[str] = field(default_factory=list)
    script: dict[str, list[JobState | JobStatus | Exception]] = field(default_factory=dict)
    store: FakeTaskStateStore | None = None
    store_at_purchase: list[Any] = field(default_factory=list)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    vendor: str = "zhipu"
    concurrency_refusals: int = 0
    protocol: FakeProtocol = field(default_factory=FakeProtocol)
    can_cancel: bool = True  # a vendor with a cancel call (DashScope)
    cancelled: list[str] = field(default_factory=list)

    def cancel(self, job_id: str) -> None:
        self.cancelled.append(job_id)

    def validate(self, app: str, params: dict[str, Any]) -> dict[str, Any]:
        return {name: value for name, value in params.items() if value is not None}

    def max_running_jobs(self) -> int | None:
        return None

    def submit_request(self, app: str, request: dict[str, Any]) -> JobRef:
        if self.concurrency_refusals:
            self.concurrency_refusals -= 1
            raise AigcConcurrencyLimitError("the account runs its jobs", vendor="zhipu", refused=True)
        job_id = f"job{next(self.ids)}"
        self.purchases.append(job_id)
        self.store_at_purchase.append(None if self.store is None else self.store.get(GENERATE_STATE_KEY))
        return JobRef("zhipu", app, "aigc_zhipu_default", job_id, "2024-05-01T08:00:00+00:00", dict(request))

    def get_status(self, job_id: str, app: str, *, deadline: float | None = None) -> JobStatus:
        self.status_reads.append(job_id)
        queue = self.script.get(job_id) or [JobState.RUNNING]
        step = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(step, Exception):
            raise step
        return step if isinstance(step, JobStatus) else status(job_id, step)


def status(job_id: str, state: JobState, error: JobError | None = None) -> JobStatus:
    outputs = (Output(0, "image", url=f"http://127.0.0.1:9/{job_id}/0.png"),)
    done = state is JobState.SUCCEEDED
    result = JobStatus(
        "zhipu", "cogview", job_id, state, 1.0 if done else 0.4, outputs if done else (), error
    )
    return result.billed(1, "job", "one job per request") if state.is_terminal() else result


def model_failure(job_id: str) -> JobStatus:
    return status(job_id, JobState.FAILED, JobError("AigcJobFailedError", "model failed", "201"))


def moderated(job_id: str) -> JobStatus:
    return status(job_id, JobState.FAILED, JobError("AigcContentRejectedError", "text blocked", "501"))


class RecordingTi:
    def __init__(self, try_number: int) -> None:
        self.try_number = try_number
        self.pushed: dict[str, Any] = {}
        self.dag_id, self.run_id, self.task_id, self.map_index = "d", "r", "generate", -1

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


@dataclass
class Archives:
    """Stands in for the copy into S3: records each job the archive step was given."""

    jobs: list[JobStatus] = field(default_factory=list)

    def __call__(self, operator: AigcArchiveToS3Operator, job: JobStatus) -> ArchiveResult:
        self.jobs.append(job)
        key = f"cogview/zhipu/cogview/{job.job_id}"
        objects = [ArchivedObject("b", f"{key}/0.png", 3, "ab" * 32, "image/png", 0, "image")]
        return ArchiveResult(objects, f"{key}/manifest.json")


@dataclass
class Task:
    """One task instance across its tries: its state store survives, each try gets a new operator."""

    vendor: FakeVendor
    archives: Archives
    kwargs: dict[str, Any]
    store: FakeTaskStateStore = field(default_factory=FakeTaskStateStore)
    tries: int = 0
    last_ti: RecordingTi | None = None
    sleeps: list[float] = field(default_factory=list)

    def operator(self) -> CogViewToS3Operator:
        with DAG("d", schedule=None):
            op = CogViewToS3Operator(
                task_id="generate", query=PROMPT, s3_bucket="b", s3_key_prefix="cogview", **self.kwargs
            )
        op.__dict__["hook"] = self.vendor
        clock = itertools.count(NOW, 1.0)
        op._clock = lambda: next(clock)
        op._sleep = self.sleeps.append
        return op

    def context(self) -> Context:
        self.tries += 1
        self.last_ti = RecordingTi(self.tries)
        return cast(
            "Context",
            {"task_state_store": self.store, "ti": self.last_ti, "outlet_events": OutletEventAccessors()},
        )

    def start(self) -> TaskDeferred:
        """A try that defers; the deferral it raised."""
        with pytest.raises(TaskDeferred) as deferred:
            self.operator().execute(self.context())
        return deferred.value

    def resume(self, deferral: TaskDeferred, event: JobEvent) -> Any:
        """The same try, resumed by its trigger's event in a new process (a new operator)."""
        assert deferral.method_name == "execute_complete"
        context = self.context()
        self.tries -= 1  # a resume is not a new try
        # As `airflow dags test` does, the event alone: the job comes from the task state.
        return self.operator().execute_complete(context, event=event.to_payload())

    def record(self) -> dict[str, Any]:
        return cast("dict[str, Any]", self.store.values[GENERATE_STATE_KEY])


@pytest.fixture
def archives(monkeypatch: pytest.MonkeyPatch) -> Archives:
    recorder = Archives()
    monkeypatch.setattr(AigcArchiveToS3Operator, "_archive", lambda self, job: recorder(self, job))
    return recorder


@pytest.fixture
def task(archives: Archives) -> Task:
    vendor = FakeVendor()
    made = Task(vendor, archives, {})
    vendor.store = made.store
    return made


def with_kwargs(task: Task, **kwargs: Any) -> Task:
    task.kwargs.update(kwargs)
    return task


def test_the_first_try_buys_one_job_checks_it_once_and_defers_with_an_absolute_deadline(task: Task) -> None:
    deferral = task.start()

    assert task.vendor.purchases == ["job1"]
    assert task.vendor.status_reads == ["job1"]  # checked once before deferring
    trigger = deferral.trigger
    assert isinstance(trigger, AigcJobTrigger)
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_aigc.triggers.job.AigcJobTrigger"
    assert (kwargs["job_id"], kwargs["vendor"], kwargs["app"]) == ("job1", "zhipu", "cogview")
    assert kwargs["end_time"] == NOW + 3600  # the try's start + timeout, absolute
    assert deferral.timeout is None
    assert JobRef.from_dict((deferral.kwargs or {})["job"]).job_id == "job1"
    assert task.store.values[JOB_STATE_KEY]["job"]["job_id"] == "job1"
    assert task.record()["purchases"] == [
        {"job_id": "job1", "state": None, "billed_units": None, "billed_unit": None}
    ]


def test_a_concurrency_refusal_waits_for_capacity_then_buys_and_waits_for_the_job(
    task: Task, archives: Archives
) -> None:
    task.vendor.concurrency_refusals = 1
    waiting = task.start()
    assert isinstance(waiting.trigger, AigcCapacityTrigger)
    assert (task.vendor.purchases, task.tries) == ([], 1)

    context = task.context()
    task.tries -= 1  # a resume is not a new try
    capacity = {"status": "capacity", "waited": 5.0, "running": 0, "ahead": 0}
    with pytest.raises(TaskDeferred) as watching:
        task.operator().execute_after_capacity(context, event=capacity, **(waiting.kwargs or {}))

    assert isinstance(watching.value.trigger, AigcJobTrigger)
    assert task.vendor.purchases == ["job1"]
    assert task.resume(watching.value, JobEvent.success(status("job1", JobState.SUCCEEDED)))
    assert [job.job_id for job in archives.jobs] == ["job1"]


def test_resuming_with_success_archives_the_finished_job_and_returns_the_objects(
    task: Task, archives: Archives
) -> None:
    deferral = task.start()

    objects = task.resume(deferral, JobEvent.success(status("job1", JobState.SUCCEEDED)))

    assert [item["key"] for item in objects] == ["cogview/zhipu/cogview/job1/0.png"]
    (archived,) = archives.jobs
    assert (archived.job_id, archived.state) == ("job1", JobState.SUCCEEDED)
    assert archived.request == {"query": PROMPT}  # the JobRef's request, for the manifest
    assert archived.conn_id == "aigc_zhipu_default"
    assert task.vendor.purchases == ["job1"]
    assert task.record()["finished"]["state"] == "SUCCEEDED"
    assert task.last_ti is not None
    assert task.last_ti.pushed[PURCHASES_XCOM_KEY] == {
        "jobs": [{"job_id": "job1", "state": "SUCCEEDED", "billed_units": 1, "billed_unit": "job"}],
        "resubmits": 0,
        "billed_units": 1,
        "billed_unit": "job",
    }
    assert task.last_ti.pushed[MANIFEST_URI_XCOM_KEY] == "s3://b/cogview/zhipu/cogview/job1/manifest.json"


def test_a_retry_after_the_archive_buys_nothing_and_asks_the_vendor_nothing(
    task: Task, archives: Archives
) -> None:
    first = task.resume(task.start(), JobEvent.success(status("job1", JobState.SUCCEEDED)))
    reads = list(task.vendor.status_reads)

    again = task.operator().execute(task.context())  # e.g. a later step of the try failed

    assert again == first
    assert task.vendor.purchases == ["job1"]
    assert task.vendor.status_reads == reads  # the finished status came from task state
    assert [job.job_id for job in archives.jobs] == ["job1", "job1"]  # the copier finds its manifest


def test_a_retry_after_a_failed_archive_archives_without_waiting(task: Task) -> None:
    deferral = task.start()

    def failing(operator: AigcArchiveToS3Operator, job: JobStatus) -> ArchiveResult:
        raise AigcServerError("S3 answered 503")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(AigcArchiveToS3Operator, "_archive", failing)
        with pytest.raises(AigcServerError):
            task.resume(deferral, JobEvent.success(status("job1", JobState.SUCCEEDED)))

    objects = task.operator().execute(task.context())

    assert [item["key"] for item in objects] == ["cogview/zhipu/cogview/job1/0.png"]
    assert task.vendor.purchases == ["job1"]
    assert task.vendor.status_reads == ["job1"]  # only the first try's check before deferring


def test_a_retry_of_a_try_lost_while_deferred_waits_for_the_same_job(task: Task) -> None:
    task.start()  # the worker or triggerer is lost: no event ever arrives

    deferral = task.start()

    assert task.vendor.purchases == ["job1"]
    assert deferral.trigger.serialize()[1]["job_id"] == "job1"
    assert task.vendor.status_reads == ["job1", "job1"]  # one check per try, none extra


def test_a_retry_finding_the_job_finished_archives_at_once(task: Task, archives: Archives) -> None:
    task.start()
    task.vendor.script["job1"] = [JobState.SUCCEEDED]

    objects = task.operator().execute(task.context())

    assert objects
    assert [job.job_id for job in archives.jobs] == ["job1"]
    assert task.vendor.purchases == ["job1"]
    assert task.vendor.status_reads == ["job1", "job1"]


def test_a_job_finished_before_the_first_check_is_archived_without_deferring(
    task: Task, archives: Archives
) -> None:
    task.vendor.script["job1"] = [JobState.SUCCEEDED]

    objects = task.operator().execute(task.context())

    assert objects
    assert [job.job_id for job in archives.jobs] == ["job1"]


def test_an_unconfirmed_earlier_submit_is_never_followed_by_a_purchase(task: Task) -> None:
    task.store.values[JOB_STATE_KEY] = {
        "intent": {"vendor": "zhipu", "app": "cogview", "conn_id": "aigc_zhipu_default", "sent_at": "t"},
        "request_sha256": "x",
    }

    with pytest.raises(AirflowFailException) as failed:
        task.operator().execute(task.context())

    assert isinstance(failed.value.__cause__, AigcSubmitUnconfirmedError)
    assert task.vendor.purchases == []


def test_a_failed_job_is_not_bought_again_by_default(task: Task, archives: Archives) -> None:
    deferral = task.start()

    with pytest.raises(AirflowFailException, match="resubmit_failed_jobs=0"):
        task.resume(deferral, JobEvent.job_failed(model_failure("job1")))
    with pytest.raises(AirflowFailException, match="model failed"):
        task.operator().execute(task.context())  # cleared: still no new job

    assert task.vendor.purchases == ["job1"]
    assert archives.jobs == []


def test_a_failed_job_is_bought_again_on_a_later_try_within_the_bound(task: Task) -> None:
    with_kwargs(task, resubmit_failed_jobs=1, retries=3)
    deferral = task.start()

    with pytest.raises(AigcJobFailedError, match="next try of this task buys a new job"):
        task.resume(deferral, JobEvent.job_failed(model_failure("job1")))  # uses a retry
    assert task.vendor.purchases == ["job1"]
    second = task.start()
    assert task.vendor.purchases == ["job1", "job2"]
    # The resubmit was counted in task state before the paid call.
    assert task.vendor.store_at_purchase[1]["resubmits"] == 1
    with pytest.raises(AirflowFailException, match="replaced 1 failed job"):
        task.resume(second, JobEvent.job_failed(model_failure("job2")))
    with pytest.raises(AirflowFailException):
        task.operator().execute(task.context())

    assert task.vendor.purchases == ["job1", "job2"]
    assert task.record()["resubmits"] == 1
    assert [(item["job_id"], item["state"], item["billed_units"]) for item in task.record()["purchases"]] == [
        ("job1", "FAILED", 1),
        ("job2", "FAILED", 1),
    ]


def test_every_purchase_is_counted_in_the_billed_units(task: Task) -> None:
    with_kwargs(task, resubmit_failed_jobs=1, retries=1)
    with pytest.raises(AigcJobFailedError):
        task.resume(task.start(), JobEvent.job_failed(model_failure("job1")))

    task.resume(task.start(), JobEvent.success(status("job2", JobState.SUCCEEDED)))

    assert task.last_ti is not None
    purchases = task.last_ti.pushed[PURCHASES_XCOM_KEY]
    assert [item["job_id"] for item in purchases["jobs"]] == ["job1", "job2"]
    assert (purchases["billed_units"], purchases["resubmits"]) == (2, 1)


def test_a_failure_seen_only_by_the_retry_is_replaced_within_the_bound(task: Task) -> None:
    with_kwargs(task, resubmit_failed_jobs=1, retries=1)
    task.start()  # lost while deferred; the job then fails at the vendor
    task.vendor.script["job1"] = [model_failure("job1")]

    task.start()

    assert task.vendor.purchases == ["job1", "job2"]
    assert task.record()["resubmits"] == 1


def test_a_moderated_job_is_never_bought_again(task: Task) -> None:
    with_kwargs(task, resubmit_failed_jobs=2, retries=2)
    deferral = task.start()

    with pytest.raises(AirflowFailException, match="AigcContentRejectedError"):
        task.resume(deferral, JobEvent.job_failed(moderated("job1")))
    with pytest.raises(AirflowFailException, match="AigcContentRejectedError"):
        task.operator().execute(task.context())

    assert task.vendor.purchases == ["job1"]


def test_an_unreadable_record_replaces_no_failed_job(task: Task) -> None:
    with_kwargs(task, resubmit_failed_jobs=1, retries=1)
    task.start()
    task.store.values[GENERATE_STATE_KEY] = {"resubmits": "many"}
    task.vendor.script["job1"] = [model_failure("job1")]

    with pytest.raises(AirflowFailException):
        task.operator().execute(task.context())

    assert task.vendor.purchases == ["job1"]


def test_without_deferral_the_worker_polls_until_the_job_ends(task: Task, archives: Archives) -> None:
    with_kwargs(task, deferrable=False, poll_interval=2.0)
    task.vendor.script["job1"] = [JobState.QUEUED, JobState.RUNNING, JobState.RUNNING, JobState.SUCCEEDED]

    objects = task.operator().execute(task.context())

    assert objects
    assert [job.job_id for job in archives.jobs] == ["job1"]
    assert task.vendor.status_reads == ["job1"] * 4
    assert task.sleeps == [2.0, 2.0, 2.0]


def test_without_deferral_the_wait_ends_at_the_deadline(task: Task) -> None:
    with_kwargs(task, deferrable=False, poll_interval=1.0, timeout=4)

    with pytest.raises(AirflowSensorTimeout):
        task.operator().execute(task.context())

    assert task.vendor.purchases == ["job1"]
    assert sum(task.sleeps) <= 4


def test_the_cancel_option_is_rendered_checked_and_carried_by_the_trigger(task: Task) -> None:
    with_kwargs(task, cancel_pending_on_kill="true")

    assert task.start().trigger.serialize()[1]["cancel_pending_on_kill"] is True
    assert "cancel_pending_on_kill" in CogViewToS3Operator.template_fields

    with_kwargs(task, cancel_pending_on_kill="maybe")
    with pytest.raises(AirflowFailException, match="cancel_pending_on_kill must be true or false"):
        task.operator().execute(task.context())


@pytest.mark.parametrize(("opted_in", "cancelled"), [(True, ["job1"]), (False, [])])
def test_killed_while_waiting_in_the_worker_cancels_the_job_only_when_opted_in(
    task: Task, opted_in: bool, cancelled: list[str]
) -> None:
    with_kwargs(task, deferrable=False, poll_interval=1.0, timeout=3, cancel_pending_on_kill=opted_in)
    waiting = task.operator()
    with pytest.raises(AirflowSensorTimeout):  # stands in for the wait the kill interrupts
        waiting.execute(task.context())

    waiting.on_kill()

    assert task.vendor.cancelled == cancelled


def test_killed_before_buying_cancels_nothing(task: Task) -> None:
    with_kwargs(task, cancel_pending_on_kill=True)

    task.operator().on_kill()

    assert task.vendor.cancelled == []


def test_a_timeout_event_fails_without_retries_and_buys_nothing(task: Task) -> None:
    deferral = task.start()

    with pytest.raises(AirflowSensorTimeout):
        task.resume(deferral, JobEvent.timeout("job1", "deadline passed", status("job1", JobState.RUNNING)))

    assert task.vendor.purchases == ["job1"]


def test_without_task_state_the_job_comes_from_the_deferral(task: Task, archives: Archives) -> None:
    deferral = task.start()
    context = cast("Context", {**task.context(), "task_state_store": None})
    event = JobEvent.success(status("job1", JobState.SUCCEEDED)).to_payload()

    task.operator().execute_complete(context, event=event, **(deferral.kwargs or {}))

    assert [job.job_id for job in archives.jobs] == ["job1"]


def test_an_event_for_another_job_is_refused(task: Task, archives: Archives) -> None:
    deferral = task.start()

    with pytest.raises(Exception, match="reported on job job9"):
        task.resume(deferral, JobEvent.success(status("job9", JobState.SUCCEEDED)))
    assert archives.jobs == []


def test_resubmits_need_as_many_retries() -> None:
    with pytest.raises(ValueError, match="needs retries >= 2"):
        CogViewToS3Operator(task_id="t", query="q", s3_bucket="b", resubmit_failed_jobs=2, retries=1)
    with pytest.raises(ValueError, match="buys its own job"):
        CogViewToS3Operator(task_id="t", query="q", s3_bucket="b", job={})


def test_one_task_operators_template_both_halves_declare_the_asset_and_serialize() -> None:
    with DAG("one_task", schedule=None) as dag:
        op = JumdataDrawToS3Operator(
            task_id="draw", text="{{ params.t }}", style="油画", s3_bucket="b", s3_key_prefix="j/{{ ds }}"
        )
        JumdataDrawToS3Operator.partial(task_id="mapped", style="油画", s3_bucket="b").expand(text=["a", "b"])

    assert set(op.template_fields) >= {"text", "style", "conn_id", "s3_bucket", "s3_key_prefix"}
    assert [asset.uri for asset in op.outlets] == ["s3://b/j"]
    assert op.operator_extra_links
    restored = DagSerialization.from_dict(DagSerialization.to_dict(dag))
    assert set(restored.task_dict) == {"draw", "mapped"}
