"""BigModel submit operators: the documented fields as arguments, and a request_id stable per task
instance, so a submit bought again after a lost answer meets BigModel's duplicate check (1231)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_aigc.operators.generate import CogVideoXToS3Operator, GlmImageToS3Operator
from airflow_provider_aigc.operators.job_state import Intent, read_state
from airflow_provider_aigc.operators.submit import (
    JOB_STATE_KEY,
    CogVideoXSubmitOperator,
    GlmImageSubmitOperator,
    task_request_id,
)
from tests.unit.hooks.fakes import FakeVendor, Reply
from tests.unit.operators.fakes import FakeTaskInstance, FakeTaskStateStore, context_with, define_connection

if TYPE_CHECKING:
    from collections.abc import Iterator

SUBMIT = "/paas/v4/videos/generations"
ACCEPTED = {"model": "cogvideox-3", "id": "T-1", "request_id": "r", "task_status": "PROCESSING"}


@pytest.fixture
def vendor(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeVendor]:
    server = FakeVendor()
    server.start()
    define_connection(
        monkeypatch, "aigc_bigmodel_default", conn_type="aigc_bigmodel", host=server.url, password="id.secret"
    )
    try:
        yield server
    finally:
        server.stop()


def video(**kwargs: Any) -> CogVideoXSubmitOperator:
    return CogVideoXSubmitOperator(task_id="submit", prompt="a paper boat", **kwargs)


def sent_request_ids(vendor: FakeVendor) -> list[str]:
    return [seen.json["request_id"] for seen in vendor.seen(SUBMIT)]


def test_request_id_is_stable_per_task_instance_and_differs_between_them() -> None:
    ti = FakeTaskInstance()
    assert task_request_id(ti) == task_request_id(FakeTaskInstance(try_number=3))
    assert task_request_id(ti) != task_request_id(FakeTaskInstance(map_index=0))
    assert task_request_id(ti) != task_request_id(FakeTaskInstance(run_id="scheduled__2024-05-02"))
    identifier = task_request_id(ti) or ""
    assert 6 <= len(identifier) <= 64
    assert task_request_id(None) is None


def test_submit_sends_the_documented_fields_and_the_stable_request_id(vendor: FakeVendor) -> None:
    vendor.script(SUBMIT, Reply(ACCEPTED))
    ref = video(duration="10", fps=60, with_audio=True).execute(
        context_with(FakeTaskStateStore(), FakeTaskInstance())
    )
    (seen,) = vendor.seen(SUBMIT)
    assert seen.json == {
        "model": "cogvideox-3",
        "prompt": "a paper boat",
        "with_audio": True,
        "fps": 60,
        "duration": 10,
        "request_id": task_request_id(FakeTaskInstance()),
    }
    assert (ref["vendor"], ref["app"], ref["job_id"]) == ("bigmodel", "cogvideox", "T-1")
    assert ref["request"]["request_id"] == seen.json["request_id"]


def test_an_explicit_request_id_wins(vendor: FakeVendor) -> None:
    vendor.script(SUBMIT, Reply(ACCEPTED))
    video(request_id="my-own-request-0001").execute(context_with(FakeTaskStateStore(), FakeTaskInstance()))
    assert sent_request_ids(vendor) == ["my-own-request-0001"]


def test_buying_again_after_a_lost_answer_meets_the_duplicate_check_and_stops(vendor: FakeVendor) -> None:
    """Try 1's answer is lost (a gateway 504 after the platform took the job); the user deletes the
    intent to buy again; the resubmit carries the same request_id, BigModel answers 1231, and the
    task stops without a second purchase, keeping the intent for the next look."""
    vendor.script(
        SUBMIT,
        Reply(b"<html>504 Gateway Time-out</html>", 504),
        Reply({"error": {"code": "1231", "message": "您已有请求"}}, 400),
    )
    store = FakeTaskStateStore()
    with pytest.raises(AirflowFailException, match="AigcSubmitUnconfirmedError"):
        video().execute(context_with(store, FakeTaskInstance()))
    assert isinstance(read_state(store.get(JOB_STATE_KEY)), Intent)

    store.delete(JOB_STATE_KEY)  # the user's "buy again" (docs/operators.md)
    with pytest.raises(AirflowFailException, match="reached BigModel, so it was not bought again"):
        video().execute(context_with(store, FakeTaskInstance(try_number=2)))
    assert isinstance(read_state(store.get(JOB_STATE_KEY)), Intent)
    first, second = sent_request_ids(vendor)
    assert first == second


def test_invalid_arguments_fail_before_any_call(vendor: FakeVendor) -> None:
    with pytest.raises(AirflowFailException, match="fps must be one of 30, 60"):
        video(fps=24).execute(context_with(FakeTaskStateStore(), FakeTaskInstance()))
    with pytest.raises(AirflowFailException, match="size must be"):
        GlmImageSubmitOperator(task_id="s", prompt="p", size="1280*1280").execute(
            context_with(FakeTaskStateStore(), FakeTaskInstance())
        )
    assert vendor.requests == []


def test_arguments_are_templated_and_mappable() -> None:
    assert set(CogVideoXSubmitOperator.template_fields) >= {
        "prompt",
        "image_url",
        "quality",
        "with_audio",
        "size",
        "fps",
        "duration",
        "request_id",
        "conn_id",
    }
    assert {"prompt", "size", "quality", "s3_bucket", "s3_key_prefix"} <= set(
        GlmImageToS3Operator.template_fields
    )
    assert {"prompt", "duration", "s3_key_prefix"} <= set(CogVideoXToS3Operator.template_fields)
    mapped = CogVideoXSubmitOperator.partial(task_id="m", duration=10).expand(prompt=["a", "b"])
    assert mapped.partial_kwargs["duration"] == 10
