"""Submit operators: templating, validation before any paid call, one job per task instance."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, cast

import pytest
from airflow.sdk import DAG, NEVER_EXPIRE
from airflow.sdk.bases.operator import ExecutorSafeguard
from airflow.sdk.definitions.mappedoperator import MappedOperator
from airflow.sdk.exceptions import AirflowFailException
from airflow.serialization.serialized_objects import DagSerialization

from airflow_provider_aigc.exceptions import (
    AigcAuthError,
    AigcContentRejectedError,
    AigcJobConflictError,
    AigcServerError,
    AigcUnknownJobError,
)
from airflow_provider_aigc.hooks.baidu import BaiduHook
from airflow_provider_aigc.hooks.jumdata import JumdataHook
from airflow_provider_aigc.hooks.zhipu import ZhipuHook
from airflow_provider_aigc.models import JobRef, JobState
from airflow_provider_aigc.operators.submit import (
    JOB_STATE_KEY,
    AigcSubmitOperator,
    CogViewSubmitOperator,
    ErnieVilgSubmitOperator,
    JumdataDrawSubmitOperator,
    NewsGenerateSubmitOperator,
    request_fingerprint,
)
from tests.unit.operators.fakes import FakeTaskStateStore, context_with
from tests.unit.triggers.factories import Script, captured_logs, failed_status, job_status

pytestmark = pytest.mark.usefixtures("vendor_connections")

PROMPT = "a lotus pond at dawn"
VALIDATED = {"key": "queue1", "query": PROMPT}
FINGERPRINT = request_fingerprint("zhipu", "cogview", "aigc_zhipu_default", VALIDATED)


def accepted(job_id: str = "job-1") -> JobRef:
    return JobRef(
        vendor="zhipu",
        app="cogview",
        conn_id="aigc_zhipu_default",
        job_id=job_id,
        submitted_at="2024-05-01T08:00:00+00:00",
        request=VALIDATED,
    )


class ZhipuCalls:
    """ZhipuHook.submit_request / get_status answer from scripts; every call is recorded."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.submits = Script([])
        self.statuses = Script([])
        monkeypatch.setattr(
            ZhipuHook, "submit_request", lambda hook, app, request: self.submits.next(app, dict(request))
        )
        monkeypatch.setattr(
            ZhipuHook, "get_status", lambda hook, job_id, app: self.statuses.next(job_id, app)
        )


@pytest.fixture(autouse=True)
def as_in_the_task_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    """Call execute() directly without Airflow's "outside of the Task Runner" warning."""
    monkeypatch.setattr(ExecutorSafeguard, "test_mode", True)


@pytest.fixture
def zhipu(monkeypatch: pytest.MonkeyPatch) -> ZhipuCalls:
    return ZhipuCalls(monkeypatch)


def saved(job: JobRef, fingerprint: str = FINGERPRINT) -> dict[str, Any]:
    return {JOB_STATE_KEY: {"job": job.to_dict(), "request_sha256": fingerprint}}


def cogview(**kwargs: Any) -> CogViewSubmitOperator:
    return CogViewSubmitOperator(**{"task_id": "submit", "query": PROMPT, **kwargs})


# --- arguments and templates -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator_class", "fields"),
    [
        (CogViewSubmitOperator, {"query", "zhipu_queue", "conn_id"}),
        (NewsGenerateSubmitOperator, {"content", "max_length", "zhipu_queue", "conn_id"}),
        (
            ErnieVilgSubmitOperator,
            {
                "prompt",
                "version",
                "width",
                "height",
                "image_num",
                "image",
                "url",
                "pdf_file",
                "pdf_file_num",
                "change_degree",
                "conn_id",
            },
        ),
        (JumdataDrawSubmitOperator, {"text", "style", "resolution", "num", "conn_id"}),
    ],
)
def test_every_prompt_and_parameter_is_templated(
    operator_class: type[AigcSubmitOperator], fields: set[str]
) -> None:
    assert set(operator_class.template_fields) == fields


def test_fields_render_from_the_context_before_validation(zhipu: ZhipuCalls) -> None:
    operator = NewsGenerateSubmitOperator(
        task_id="submit",
        content="{{ params.topic }}",
        max_length="{{ params.size }}",
        zhipu_queue="{{ 'q2' }}",
    )
    operator.render_template_fields({"params": {"topic": "春天的故事", "size": "300"}})
    zhipu.submits.items = [accepted()]

    operator.execute(context_with(FakeTaskStateStore()))

    assert zhipu.submits.calls == [
        ("news_generate", {"content": "春天的故事", "max_length": 300, "key": "q2"})
    ]


def test_the_zhipu_queue_does_not_touch_airflows_executor_queue() -> None:
    operator = cogview(zhipu_queue="queue2", queue="celery-gpu")

    assert (operator.zhipu_queue, operator.queue) == ("queue2", "celery-gpu")


@pytest.mark.parametrize(
    ("operator", "request_params"),
    [
        (cogview(), {"query": PROMPT, "key": None}),
        (
            NewsGenerateSubmitOperator(task_id="s", content="topic", max_length=300),
            {"content": "topic", "max_length": 300, "key": None},
        ),
        (
            ErnieVilgSubmitOperator(task_id="s", prompt="睡莲", image_num=2),
            {
                "prompt": "睡莲",
                "version": "v2",
                "width": 1024,
                "height": 1024,
                "image_num": 2,
                "image": None,
                "url": None,
                "pdf_file": None,
                "pdf_file_num": None,
                "change_degree": None,
            },
        ),
        (
            JumdataDrawSubmitOperator(task_id="s", text="睡莲", style="油画"),
            {"text": "睡莲", "style": "油画", "resolution": "1024*1024", "num": 1},
        ),
    ],
)
def test_params_for_request_maps_arguments_onto_the_vendor_fields(
    operator: AigcSubmitOperator, request_params: dict[str, Any]
) -> None:
    assert operator.params_for_request() == request_params


@pytest.mark.parametrize(
    ("operator_class", "partial_kwargs", "field", "values"),
    [
        (CogViewSubmitOperator, {}, "query", ["a cat", "a dog", "a fox"]),
        (NewsGenerateSubmitOperator, {"max_length": 200}, "content", ["春天", "秋天"]),
        (ErnieVilgSubmitOperator, {"image_num": 2}, "prompt", ["睡莲", "荷花"]),
        (JumdataDrawSubmitOperator, {"style": "油画"}, "text", ["睡莲", "荷花"]),
    ],
)
def test_every_operator_maps_with_partial_expand(
    operator_class: type[AigcSubmitOperator], partial_kwargs: dict[str, Any], field: str, values: list[str]
) -> None:
    with DAG("mapped_submit", schedule=None, start_date=datetime(2024, 1, 1, tzinfo=timezone.utc)) as dag:
        mapped = operator_class.partial(task_id="submit", **partial_kwargs).expand(**{field: values})

    assert isinstance(mapped, MappedOperator)
    assert DagSerialization.from_dict(DagSerialization.to_dict(dag)).task_dict["submit"].is_mapped
    unmapped = [cast("AigcSubmitOperator", mapped.unmap({field: value})) for value in values]
    assert all(type(operator) is operator_class for operator in unmapped)
    requests = [operator.hook.validate(operator.app, operator.params_for_request()) for operator in unmapped]
    assert [request[field] for request in requests] == values


# --- validation before any paid call ---------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "hook_class", "message"),
    [
        (JumdataDrawSubmitOperator(task_id="s", text="x" * 101, style="油画"), JumdataHook, "text"),
        (JumdataDrawSubmitOperator(task_id="s", text="睡莲", style="印象派"), JumdataHook, "style"),
        (JumdataDrawSubmitOperator(task_id="s", text="睡莲", style="油画", num=7), JumdataHook, "num"),
        (ErnieVilgSubmitOperator(task_id="s", prompt="睡莲", width=999), BaiduHook, "width"),
        (ErnieVilgSubmitOperator(task_id="s", prompt="睡莲", image_num=9), BaiduHook, "image_num"),
        (
            NewsGenerateSubmitOperator(task_id="s", content="topic", max_length="many"),
            ZhipuHook,
            "max_length",
        ),
        (cogview(query=""), ZhipuHook, "query"),
    ],
)
def test_invalid_parameters_fail_before_any_paid_call_and_skip_retries(
    operator: AigcSubmitOperator, hook_class: type[Any], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_call(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("no vendor call may happen for invalid parameters")

    monkeypatch.setattr(hook_class, "submit_request", no_call)
    monkeypatch.setattr(hook_class, "get_status", no_call)
    store = FakeTaskStateStore()

    with pytest.raises(AirflowFailException, match=message) as raised:
        operator.execute(context_with(store))

    assert type(raised.value.__cause__).__name__ == "AigcInvalidRequestError"
    assert store.writes == []


def test_a_context_without_a_task_state_store_buys_nothing(zhipu: ZhipuCalls) -> None:
    """Without the store a later try could not see this one's job: refuse, classified, unpaid."""
    with pytest.raises(AirflowFailException, match="task_state_store") as raised:
        cogview().execute(cast("Any", {"task_state_store": None}))

    assert type(raised.value.__cause__).__name__ == "AigcInvalidRequestError"
    assert zhipu.submits.calls == []


@pytest.mark.parametrize(
    "error",
    [AigcAuthError("zhipu error 10002", vendor="zhipu"), AigcContentRejectedError("blocked", vendor="zhipu")],
)
def test_submit_errors_no_retry_can_fix_fail_fast(zhipu: ZhipuCalls, error: Exception) -> None:
    zhipu.submits.items = [error]

    with pytest.raises(AirflowFailException) as raised:
        cogview().execute(context_with(FakeTaskStateStore()))

    assert raised.value.__cause__ is error


def test_transient_submit_errors_use_the_tasks_retries(zhipu: ZhipuCalls) -> None:
    error = AigcServerError("zhipu answered HTTP 503", vendor="zhipu")
    zhipu.submits.items = [error]
    store = FakeTaskStateStore()

    with pytest.raises(AigcServerError):
        cogview().execute(context_with(store))

    # The vendor's answer proved it refused: the intent is withdrawn, so the retry may submit.
    assert [key for key, _, _ in store.writes] == [JOB_STATE_KEY]
    assert store.deletes == [JOB_STATE_KEY]
    assert store.values == {}


# --- one job per task instance ---------------------------------------------------------------


def test_a_first_try_submits_and_saves_the_job_for_good_before_returning(zhipu: ZhipuCalls) -> None:
    zhipu.submits.items = [accepted()]
    store = FakeTaskStateStore()

    result = cogview().execute(context_with(store))

    assert result == accepted().to_dict()
    assert zhipu.submits.calls == [("cogview", VALIDATED)]
    assert zhipu.statuses.calls == []
    (intent_key, intent, intent_retention), job_write = store.writes
    assert (intent_key, intent["request_sha256"], intent_retention) == (
        JOB_STATE_KEY,
        FINGERPRINT,
        NEVER_EXPIRE,
    )
    assert "job" not in intent
    assert job_write == (
        JOB_STATE_KEY,
        {"job": accepted().to_dict(), "request_sha256": FINGERPRINT},
        NEVER_EXPIRE,
    )


def test_a_job_that_could_not_be_saved_is_still_returned_not_bought_again(zhipu: ZhipuCalls) -> None:
    class BrokenStore(FakeTaskStateStore):
        """Takes the intent, then loses the API server."""

        def set(self, key: str, value: Any, *, retention: object = None) -> None:
            if "job" in value:
                raise RuntimeError("API server unreachable")
            super().set(key, value, retention=retention)

    zhipu.submits.items = [accepted()]

    with captured_logs() as logs:
        result = cogview().execute(context_with(BrokenStore()))

    assert result == accepted().to_dict()
    assert len(zhipu.submits.calls) == 1
    assert [line.level for line in logs if "Could not save job job-1" in line.message] == ["error"]


@pytest.mark.parametrize("state", [JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED])
def test_a_retry_reuses_the_earlier_job_while_it_can_deliver(zhipu: ZhipuCalls, state: JobState) -> None:
    zhipu.statuses.items = [job_status(state, job_id="job-1")]
    store = FakeTaskStateStore(saved(accepted("job-1")))

    with captured_logs() as logs:
        result = cogview().execute(context_with(store))

    assert result == accepted("job-1").to_dict()
    assert zhipu.submits.calls == []
    assert zhipu.statuses.calls == [("job-1", "cogview")]
    assert store.writes == []
    assert f"Reusing job job-1 ({state.value})" in logs[0].message


def test_a_retry_resubmits_when_the_earlier_job_failed_and_says_why(zhipu: ZhipuCalls) -> None:
    zhipu.statuses.items = [failed_status("AigcJobFailedError", "model crashed")]
    zhipu.submits.items = [accepted("job-2")]
    store = FakeTaskStateStore(saved(accepted("job-1")))

    with captured_logs() as logs:
        result = cogview().execute(context_with(store))

    assert result["job_id"] == "job-2"
    assert len(zhipu.submits.calls) == 1
    assert store.values[JOB_STATE_KEY]["job"]["job_id"] == "job-2"
    warnings = [line.message for line in logs if line.level == "warning"]
    assert warnings == [
        "An earlier try submitted job job-1, which failed at zhipu (AigcJobFailedError: model crashed); "
        "submitting a new job."
    ]


def test_a_retry_resubmits_when_the_vendor_no_longer_knows_the_job(zhipu: ZhipuCalls) -> None:
    zhipu.statuses.items = [AigcUnknownJobError("task not found", vendor="zhipu")]
    zhipu.submits.items = [accepted("job-2")]

    result = cogview().execute(context_with(FakeTaskStateStore(saved(accepted("job-1")))))

    assert result["job_id"] == "job-2"


@pytest.mark.parametrize("state", [JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED])
def test_a_retry_with_other_parameters_never_buys_over_a_live_job(zhipu: ZhipuCalls, state: JobState) -> None:
    zhipu.statuses.items = [job_status(state, job_id="job-1")]
    store = FakeTaskStateStore(saved(accepted("job-1")))

    with pytest.raises(AirflowFailException) as raised:
        cogview(query="a different prompt").execute(context_with(store))

    assert isinstance(raised.value.__cause__, AigcJobConflictError)
    message = str(raised.value)
    assert "job job-1" in message
    assert f"query: {PROMPT!r} -> 'a different prompt'" in message
    assert "state-store/aigc_job" in message
    assert zhipu.submits.calls == []
    assert store.writes == []
    assert store.deletes == []
    assert store.values == saved(accepted("job-1"))


def test_a_retry_with_other_parameters_buys_when_the_earlier_job_failed(zhipu: ZhipuCalls) -> None:
    zhipu.statuses.items = [failed_status("AigcJobFailedError", "model crashed")]
    zhipu.submits.items = [accepted("job-2")]
    store = FakeTaskStateStore(saved(accepted("job-1")))

    result = cogview(query="a different prompt").execute(context_with(store))

    assert result["job_id"] == "job-2"


def test_a_transient_error_checking_the_earlier_job_does_not_resubmit(zhipu: ZhipuCalls) -> None:
    zhipu.statuses.items = [AigcServerError("zhipu answered HTTP 503", vendor="zhipu")]

    with pytest.raises(AigcServerError):
        cogview().execute(context_with(FakeTaskStateStore(saved(accepted("job-1")))))

    assert zhipu.submits.calls == []


@pytest.mark.parametrize(
    "entry",
    ["job-1", {"job": {"vendor": "zhipu"}, "request_sha256": FINGERPRINT}, {"job": accepted().to_dict()}],
)
def test_an_unreadable_saved_entry_is_ignored(zhipu: ZhipuCalls, entry: object) -> None:
    zhipu.submits.items = [accepted("job-2")]

    result = cogview().execute(context_with(FakeTaskStateStore({JOB_STATE_KEY: entry})))

    assert result["job_id"] == "job-2"


def test_the_fingerprint_changes_with_the_request_and_the_connection() -> None:
    base = request_fingerprint("zhipu", "cogview", "c1", {"query": "a", "key": "queue1"})

    assert base == request_fingerprint("zhipu", "cogview", "c1", {"key": "queue1", "query": "a"})
    assert base != request_fingerprint("zhipu", "cogview", "c1", {"query": "b", "key": "queue1"})
    assert base != request_fingerprint("zhipu", "cogview", "c2", {"query": "a", "key": "queue1"})
