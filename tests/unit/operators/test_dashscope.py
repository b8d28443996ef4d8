"""Wan operators: the vendor's field names one to one, all templated, n=1 by default; an
unconfirmed submit names the listing's candidates (evidence, not proof) or says none was seen."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from airflow_provider_aigc.exceptions import AigcServerError
from airflow_provider_aigc.hooks.dashscope import DashScopeHook
from airflow_provider_aigc.operators.dashscope import (
    WanImageSubmitOperator,
    WanImageToS3Operator,
    WanVideoSubmitOperator,
    WanVideoToS3Operator,
)
from airflow_provider_aigc.vendors.dashscope import IMAGE_PARAMETERS, VIDEO_PARAMETERS, ListedTask, validate

if TYPE_CHECKING:
    import pytest

SENT = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)


class FakeListing(DashScopeHook):
    """A hook whose listing answers ``tasks`` (or raises ``error``) and records the window."""

    def __init__(self, tasks: list[ListedTask], error: Exception | None = None) -> None:
        super().__init__("aigc_dashscope_default")
        self.tasks, self.error = tasks, error
        self.asked: list[tuple[str, datetime, datetime | None]] = []

    def list_tasks(self, model: str, start: datetime, end: datetime | None = None) -> list[ListedTask]:
        self.asked.append((model, start, end))
        if self.error is not None:
            raise self.error
        return self.tasks


def test_image_operator_sends_n_1_unless_asked_and_templates_every_field() -> None:
    operator = WanImageSubmitOperator(task_id="t", prompt="a fox")

    assert set(IMAGE_PARAMETERS) <= set(operator.template_fields)
    assert validate("wan_image", operator.params_for_request())["n"] == 1
    assert set(WanImageToS3Operator.template_fields) >= {
        *IMAGE_PARAMETERS,
        "s3_bucket",
        "s3_key_prefix",
        "cancel_pending_on_kill",
    }
    assert WanImageToS3Operator(task_id="g", prompt="p", s3_bucket="b").cancel_pending_on_kill is False


def test_video_operator_maps_its_arguments_one_to_one() -> None:
    operator = WanVideoSubmitOperator(task_id="t", prompt="p", model="wan2.7-t2v", ratio="9:16", duration=8)

    assert set(VIDEO_PARAMETERS) <= set(operator.template_fields)
    assert validate("wan_video", operator.params_for_request())["ratio"] == "9:16"
    assert set(WanVideoToS3Operator.template_fields) >= {*VIDEO_PARAMETERS, "s3_bucket"}


def test_candidates_are_named_as_evidence_with_how_to_adopt_them(monkeypatch: pytest.MonkeyPatch) -> None:
    operator = WanImageSubmitOperator(task_id="t", prompt="p", model="wan2.2-t2i-flash")
    hook = FakeListing([ListedTask("task-1", "PENDING", "wan2.2-t2i-flash", "2026-03-02T02:00:01+00:00")])
    monkeypatch.setattr(WanImageSubmitOperator, "hook", hook)

    text = operator._candidates("wan2.2-t2i-flash", SENT)

    assert "task-1 (PENDING, created 2026-03-02T02:00:01+00:00)" in text
    assert "evidence, not proof" in text
    assert "AigcJobSensor(vendor='dashscope', app='wan_image'" in text
    ((model, start, end),) = hook.asked
    assert model == "wan2.2-t2i-flash"
    assert start < SENT < end


def test_an_empty_or_failed_listing_is_said_plainly(monkeypatch: pytest.MonkeyPatch) -> None:
    operator = WanImageSubmitOperator(task_id="t", prompt="p")
    monkeypatch.setattr(WanImageSubmitOperator, "hook", FakeListing([]))
    assert "shows no wan2.6-t2i task" in operator._candidates("wan2.6-t2i", SENT)

    monkeypatch.setattr(WanImageSubmitOperator, "hook", FakeListing([], AigcServerError("down")))
    assert "listing failed (AigcServerError: down)" in operator._candidates("wan2.6-t2i", SENT)
