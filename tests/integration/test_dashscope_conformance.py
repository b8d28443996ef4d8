"""Conformance for DashScope Wan: the simulator, driven through the provider's own
``vendors/dashscope`` code and ``DashScopeHook`` (sync as on a worker, async as in the trigger),
behaves as the documents (../shared/vendors/dashscope_wan_async.md) describe, except for its host:
task states by the clock, 24-hour URLs, per-image partial failure, the per-model concurrency and
submit rate, and cancel (free, PENDING only) through the trigger's ``on_kill``.

Time is the simulator's (``/_sim/clock``), moved by the test; like the main conformance module,
this one runs its own simulator so moving the clock cannot disturb other tests.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import pytest
import requests

from airflow_provider_aigc import exceptions
from airflow_provider_aigc.hooks.dashscope import DashScopeHook
from airflow_provider_aigc.models import JobState
from airflow_provider_aigc.simulator import DEMO_CREDENTIALS
from airflow_provider_aigc.triggers.job import AigcJobTrigger
from tests.integration import conformance_helpers as h
from tests.integration.conformance_helpers import SimClock, Sleeps
from tests.unit.triggers.factories import captured_logs

if TYPE_CHECKING:
    from tests.conftest import SimulatorServer

pytestmark = pytest.mark.integration

KEY = DEMO_CREDENTIALS["dashscope"]["api_key"]
LATENCY = 600.0  # PENDING for the first tenth, then RUNNING
URL_SECONDS = 86400  # result URLs and task records: 24 hours
MODES = ("sync", "async")
GOOD, WRONG = "conf_dashscope", "conf_dashscope_wrong"
FLASH = {"prompt": "一只狐狸", "model": "wan2.2-t2i-flash", "size": "1024*1024", "n": 2}
VIDEO = {"prompt": "纸船顺着雨水漂流", "model": "wan2.6-t2v", "size": "1280*720", "duration": 5}
# The documents' examples (§3, §9): the create answer and a finished image-synthesis task.
SUBMIT_FIELDS = {"output", "request_id"}
DONE_OUTPUT_FIELDS = {"task_id", "task_status", "submit_time", "scheduled_time", "end_time", "results"}


# This module's own simulator (moving its clock cannot disturb other tests), its clock, and
# session cleanup.
simulator = h.simulator
clock = h.clock
close_http_sessions = h.close_http_sessions


@pytest.fixture(autouse=True)
def conformance(simulator: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    private = {"allow_private_output_hosts": True, "timeout": 10}
    connections = {
        GOOD: {"host": f"{simulator.url}/api/v1", "password": KEY, "extra": private},
        WRONG: {"host": f"{simulator.url}/api/v1", "password": "sk-not-the-key", "extra": private},
    }
    env = h.connection_vars(
        {conn_id: {"conn_type": "aigc_dashscope", **fields} for conn_id, fields in connections.items()}
    )
    h.start_fresh(simulator, monkeypatch, dict.fromkeys(("wan_image", "wan_video"), LATENCY), env)


def hook(clock: SimClock, conn_id: str = GOOD, sleeps: Sleeps | None = None) -> DashScopeHook:
    return h.hook_on(DashScopeHook, conn_id, clock, sleeps)


@pytest.mark.parametrize("mode", MODES)
async def test_an_image_task_runs_finishes_and_its_urls_expire_after_24_hours(
    mode: str, simulator: SimulatorServer, clock: SimClock
) -> None:
    made = hook(clock)
    ref = made.submit("wan_image", FLASH)
    submitted_at = float(h.submission(simulator, "dashscope", ref.job_id)["submitted_at"])
    seen = []
    for fraction in (0.0, 0.05, 0.5, 0.99):
        clock.advance_to(submitted_at + fraction * LATENCY)
        seen.append((await h.get_status(made, ref.job_id, "wan_image", mode)).state)
    clock.advance_to(submitted_at + LATENCY + 1)
    done = await h.get_status(made, ref.job_id, "wan_image", mode)

    assert seen == [JobState.QUEUED, JobState.QUEUED, JobState.RUNNING, JobState.RUNNING]
    assert done.state is JobState.SUCCEEDED
    assert [(o.index, o.kind) for o in done.outputs] == [(0, "image"), (1, "image")]
    assert (done.billed_units, done.billed_unit) == (2, "image")
    code, body = await h.fetch(str(done.outputs[0].url), mode)
    assert (code, h.read_png(body).width, h.read_png(body).height) == (200, 1024, 1024)
    expires_at = h.parse_time(done.outputs[0].expires_at).timestamp()
    assert expires_at <= submitted_at + LATENCY + URL_SECONDS + 1  # never later than the vendor's
    clock.advance_to(submitted_at + LATENCY + URL_SECONDS + 60)
    assert (await h.fetch(str(done.outputs[0].url), mode))[0] == 403
    # The task record is gone too: the vendor answers UNKNOWN, classified, not polled forever.
    with pytest.raises(exceptions.AigcUnknownJobError):
        await h.get_status(made, ref.job_id, "wan_image", mode)
    assert KEY not in json.dumps([ref.to_dict(), done.to_dict()])


@pytest.mark.parametrize("mode", MODES)
async def test_a_partial_image_task_bills_and_lists_only_what_came_back(
    mode: str, simulator: SimulatorServer, clock: SimClock
) -> None:
    simulator.config({"faults": {"dashscope": {"submit": {"partial_failure": {"next": 1}}}}})
    made = hook(clock)
    ref = made.submit("wan_image", {**FLASH, "n": 3})
    clock.advance(LATENCY + 1)

    done = await h.get_status(made, ref.job_id, "wan_image", mode)

    assert done.state is JobState.SUCCEEDED
    assert [o.url is not None for o in done.outputs] == [True, True, False]
    assert done.billed_units == 2


@pytest.mark.parametrize("mode", MODES)
async def test_a_video_task_gives_one_mp4_billed_by_the_second(
    mode: str, simulator: SimulatorServer, clock: SimClock
) -> None:
    made = hook(clock)
    ref = made.submit("wan_video", VIDEO)
    clock.advance(LATENCY + 1)

    done = await h.get_status(made, ref.job_id, "wan_video", mode)

    (video,) = done.outputs
    assert video.kind == "video"
    assert (done.billed_units, done.billed_unit) == (5, "second")
    code, body = await h.fetch(str(video.url), mode)
    assert code == 200
    assert body[4:8] == b"ftyp"


def test_test_connection_tells_a_good_key_from_a_bad_one(simulator: SimulatorServer, clock: SimClock) -> None:
    assert hook(clock).test_connection()[0] is True
    ok, message = hook(clock, WRONG).test_connection()
    assert ok is False
    assert "sk-not-the-key" not in message
    assert h.vendor_stats(simulator, "dashscope")["submissions"]["count"] == 0


def test_refusals_are_classified_without_retry_or_purchase(
    simulator: SimulatorServer, clock: SimClock
) -> None:
    sleeps = Sleeps()
    with pytest.raises(exceptions.AigcAuthError):
        hook(clock, WRONG, sleeps).submit("wan_image", FLASH)
    with pytest.raises(exceptions.AigcContentRejectedError):
        hook(clock, sleeps=sleeps).submit("wan_image", {**FLASH, "prompt": "违禁的画面"})

    stats = h.vendor_stats(simulator, "dashscope")
    assert stats["submissions"]["count"] == 0
    assert stats["rejections"] == {"InvalidApiKey": 1, "DataInspectionFailed": 1}
    assert sleeps.delays == []


def test_a_third_flash_task_in_progress_is_refused_for_concurrency_and_another_model_is_not(
    simulator: SimulatorServer, clock: SimClock
) -> None:
    """wan2.2-t2i-flash: 2 tasks in progress (and 2 submits per second) per account."""
    made = hook(clock)
    made.submit("wan_image", FLASH)
    clock.advance(1.0)
    made.submit("wan_image", FLASH)
    clock.advance(1.0)

    with pytest.raises(exceptions.AigcConcurrencyLimitError) as busy:
        made.submit("wan_image", FLASH)
    other = made.submit("wan_image", {**FLASH, "model": "wan2.5-t2i-preview", "size": "1280*1280"})

    assert busy.value.refused
    assert not busy.value.retryable  # the capacity wait, not the hook's backoff, waits for a slot
    assert other.job_id
    assert h.vendor_stats(simulator, "dashscope")["rejections"] == {"Throttling": 1}


def test_a_rate_refusal_is_retried_with_backoff_and_buys_once(
    simulator: SimulatorServer, clock: SimClock
) -> None:
    """Throttling.RateQuota is a refusal (nothing bought) that a pause can fix: the hook retries.
    (The per-model rate itself is counted in the simulator's unit tests, on a clock that stands
    still; over HTTP the simulator's clock runs.)"""
    simulator.config({"faults": {"dashscope": {"submit": {"rate_limit": {"next": 1, "code": 429}}}}})
    sleeps = Sleeps()

    ref = hook(clock, sleeps=sleeps).submit("wan_image", FLASH)

    assert len(sleeps.delays) == 1
    stats = h.vendor_stats(simulator, "dashscope")
    assert [job["job_id"] for job in stats["submissions"]["jobs"]] == [ref.job_id]
    assert stats["rejections"] == {"Throttling.RateQuota": 1}


def test_a_rate_refusal_that_persists_is_raised_as_a_rate_limit(
    simulator: SimulatorServer, clock: SimClock
) -> None:
    simulator.config({"faults": {"dashscope": {"submit": {"rate_limit": {"probability": 1.0, "code": 429}}}}})

    with pytest.raises(exceptions.AigcRateLimitError) as limited:
        hook(clock).submit("wan_image", FLASH)

    assert limited.value.refused
    assert h.vendor_stats(simulator, "dashscope")["submissions"]["count"] == 0


def _trigger(clock: SimClock, job_id: str) -> AigcJobTrigger:
    return AigcJobTrigger(
        conn_id=GOOD,
        vendor="dashscope",
        app="wan_image",
        job_id=job_id,
        poll_interval=1.0,
        end_time=time.time() + 600,
        cancel_pending_on_kill=True,
        clock=clock,
    )


async def test_on_kill_cancels_a_pending_task_and_leaves_a_running_one(
    simulator: SimulatorServer, clock: SimClock
) -> None:
    made = hook(clock)
    running = made.submit("wan_image", FLASH)
    clock.advance(0.5 * LATENCY)
    pending = made.submit("wan_image", FLASH)

    with captured_logs() as logs:
        await _trigger(clock, pending.job_id).on_kill()
        await _trigger(clock, running.job_id).on_kill()

    cancelled = made.get_status(pending.job_id, "wan_image")
    assert cancelled.state is JobState.FAILED
    assert cancelled.error is not None
    assert "cancelled while PENDING" in cancelled.error.message
    results = [line.message for line in logs if line.level == "warning"]
    assert len(results) == 2
    assert f"cancelled wan_image job {pending.job_id}" in results[0]
    assert f"did not cancel wan_image job {running.job_id}" in results[1]
    assert "UnsupportedOperation" in results[1]
    clock.advance(LATENCY)
    assert made.get_status(running.job_id, "wan_image").state is JobState.SUCCEEDED
    assert h.vendor_stats(simulator, "dashscope")["rejections"] == {"UnsupportedOperation": 1}


def test_raw_answers_carry_the_documented_fields(simulator: SimulatorServer, clock: SimClock) -> None:
    headers = {"Authorization": f"Bearer {KEY}", "X-DashScope-Async": "enable"}
    body = {"model": "wan2.2-t2i-flash", "input": {"prompt": "p"}, "parameters": {"n": 1}}
    created = requests.post(
        f"{simulator.url}/api/v1/services/aigc/text2image/image-synthesis",
        json=body,
        headers=headers,
        timeout=10,
    ).json()
    clock.advance(LATENCY + 1)
    task_id = created["output"]["task_id"]
    done = requests.get(f"{simulator.url}/api/v1/tasks/{task_id}", headers=headers, timeout=10).json()

    assert set(created) == SUBMIT_FIELDS
    assert created["output"]["task_status"] == "PENDING"
    assert set(done["output"]) >= DONE_OUTPUT_FIELDS
    assert set(done["output"]["results"][0]) == {"url", "orig_prompt"}
    assert done["usage"] == {"image_count": 1}
