"""``AigcJobTrigger`` under vendor faults, triggerer restarts and duplicate runs, against the simulator.

The connections here set ``max_retries`` 0, so every injected fault reaches the trigger's own
tolerance (a bounded run of consecutive failed polls) instead of being absorbed by the hook.
The trigger's pauses are real but capped at 50 ms.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from airflow._shared.module_loading import import_string
from airflow.models.trigger import Trigger
from airflow.serialization.decoders import smart_decode_trigger_kwargs

from airflow_provider_aigc.models import JobState
from airflow_provider_aigc.triggers.events import JobEvent
from airflow_provider_aigc.triggers.job import AigcJobTrigger
from tests.reliability.conftest import connection_env
from tests.reliability.helpers import BAIDU, VENDORS, ZHIPU, LeakScanner, VendorCase, fault, make_hook, stats

if TYPE_CHECKING:
    from airflow.triggers.base import TriggerEvent

    from tests.conftest import SimulatorServer

by_vendor = pytest.mark.parametrize("case", VENDORS, ids=str)
RUN_LIMIT = 60.0


@pytest.fixture
def no_hook_retries(sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> SimulatorServer:
    for name, value in connection_env(sim.url, max_retries=0, timeout=1.0).items():
        monkeypatch.setenv(name, value)
    return sim


async def short_sleep(seconds: float) -> None:
    await asyncio.sleep(min(seconds, 0.05))


def make_trigger(case: VendorCase, job_id: str, *, end_in: float = 30.0, **kwargs: Any) -> AigcJobTrigger:
    return AigcJobTrigger(
        conn_id=f"aigc_{case.vendor}_default",
        vendor=case.vendor,
        app=case.app,
        job_id=job_id,
        poll_interval=0.05,
        end_time=time.time() + end_in,
        sleep=short_sleep,
        **kwargs,
    )


async def events_of(trigger: AigcJobTrigger) -> list[TriggerEvent]:
    async def collect() -> list[TriggerEvent]:
        return [event async for event in trigger.run()]

    return await asyncio.wait_for(collect(), RUN_LIMIT)


def rebuilt(trigger: AigcJobTrigger) -> AigcJobTrigger:
    """The trigger as a (re)started triggerer builds it from its database row."""
    row = Trigger.from_object(trigger)
    kwargs = {
        key: smart_decode_trigger_kwargs(value)  # type: ignore[no-untyped-call]
        for key, value in Trigger._decrypt_kwargs(row.encrypted_kwargs).items()
    }
    trigger_class = import_string(row.classpath)
    instance = trigger_class(**kwargs)
    assert isinstance(instance, AigcJobTrigger)
    instance._sleep = short_sleep
    return instance


def submit(case: VendorCase, text: str | None = None) -> str:
    return make_hook(case.vendor).submit(case.app, case.params(text or f"云海 {uuid.uuid4().hex[:8]}")).job_id


def only_event(events: list[TriggerEvent]) -> JobEvent:
    assert len(events) == 1, events
    payload = json.loads(json.dumps(events[0].payload))  # JSON primitives only
    return JobEvent.from_payload(payload)


# --- transient faults ----------------------------------------------------------------------------

TRANSIENT = [
    ("http_5xx", {"next": 2, "status": 503}),
    ("malformed", {"next": 2}),
    ("rate_limit", {"next": 2}),
    ("slow", {"next": 1, "delay": 2.0}),
]


@pytest.mark.scenario("trigger.faults")
@by_vendor
@pytest.mark.parametrize(("name", "rule"), TRANSIENT, ids=[name for name, _ in TRANSIENT])
async def test_transient_poll_faults_end_in_one_success(
    no_hook_retries: SimulatorServer, case: VendorCase, name: str, rule: dict[str, Any]
) -> None:
    job_id = submit(case)
    no_hook_retries.config(fault(case.vendor, "status", name, **rule))
    event = only_event(await events_of(make_trigger(case, job_id)))
    assert event.status == "success", event.message
    assert event.job is not None
    assert event.job.state is JobState.SUCCEEDED
    assert event.job.outputs
    assert stats(no_hook_retries, case.vendor)["errors_injected"].get(f"status.{name}") == rule["next"]


@pytest.mark.scenario("trigger.faults")
async def test_baidu_token_expiry_while_waiting(no_hook_retries: SimulatorServer) -> None:
    no_hook_retries.config({"token_max_calls": 2})
    job_id = submit(BAIDU)
    event = only_event(await events_of(make_trigger(BAIDU, job_id)))
    assert event.status == "success"
    assert stats(no_hook_retries, "baidu")["tokens_issued"] >= 2


# --- failures that end the wait ------------------------------------------------------------------


@pytest.mark.scenario("trigger.give-up")
@by_vendor
async def test_a_run_of_failed_polls_gives_up_with_one_error_event(
    no_hook_retries: SimulatorServer, case: VendorCase
) -> None:
    job_id = submit(case)
    no_hook_retries.config(fault(case.vendor, "status", "http_5xx", probability=1.0))
    before = stats(no_hook_retries, case.vendor)["errors_injected"].get("status.http_5xx", 0)
    event = only_event(await events_of(make_trigger(case, job_id, max_consecutive_failures=4)))
    assert (event.status, event.error_type) == ("error", "AigcServerError")
    assert "4 failed polls in a row" in event.message
    assert stats(no_hook_retries, case.vendor)["errors_injected"]["status.http_5xx"] - before == 4


@pytest.mark.scenario("trigger.give-up")
@pytest.mark.parametrize("case", [ZHIPU, BAIDU], ids=str)
async def test_quota_while_waiting_is_one_error_event(
    no_hook_retries: SimulatorServer, case: VendorCase
) -> None:
    job_id = submit(case)
    no_hook_retries.config(fault(case.vendor, "status", "quota", next=1, code=case.quota_codes[0]))
    event = only_event(await events_of(make_trigger(case, job_id)))
    assert (event.status, event.error_type, event.code) == (
        "error",
        "AigcQuotaExceededError",
        str(case.quota_codes[0]),
    )


@pytest.mark.scenario("vendor.job-failure")
@pytest.mark.parametrize("case", [ZHIPU, BAIDU], ids=str)
async def test_failed_job_is_one_classified_error_event(
    no_hook_retries: SimulatorServer, case: VendorCase
) -> None:
    no_hook_retries.config(fault(case.vendor, "submit", "job_failure", next=1))
    job_id = submit(case)
    event = only_event(await events_of(make_trigger(case, job_id)))
    assert (event.status, event.error_type) == ("error", "AigcJobFailedError")
    assert event.job is not None
    assert event.job.state is JobState.FAILED
    assert event.to_error().fail_fast is False  # a task-level resubmit may succeed


@pytest.mark.scenario("vendor.moderation-prompt")
async def test_moderated_prompt_is_one_content_rejected_event(no_hook_retries: SimulatorServer) -> None:
    job_id = submit(BAIDU, "违禁 的山水")
    event = only_event(await events_of(make_trigger(BAIDU, job_id)))
    assert (event.status, event.error_type, event.code) == ("error", "AigcContentRejectedError", "501")
    assert event.to_error().fail_fast


@pytest.mark.scenario("vendor.unknown-job")
@by_vendor
async def test_unknown_job_is_one_error_event(no_hook_retries: SimulatorServer, case: VendorCase) -> None:
    unknown = "1234567890123456789" if case.vendor == "baidu" else "0123456789abcdef0123456789abcdef"
    event = only_event(await events_of(make_trigger(case, unknown)))
    assert event.status == "error"
    assert event.error_type in ("AigcUnknownJobError", "AigcInvalidRequestError")


@pytest.mark.scenario("trigger.deadline")
async def test_deadline_passed_while_waiting_is_a_timeout_event(no_hook_retries: SimulatorServer) -> None:
    no_hook_retries.config({"latency": {"cogview": 600.0}})
    job_id = submit(ZHIPU)
    event = only_event(await events_of(make_trigger(ZHIPU, job_id, end_in=0.3)))
    assert event.status == "timeout"
    assert event.job is not None
    assert not event.job.is_terminal


# --- restarts and duplicates ---------------------------------------------------------------------


@pytest.mark.scenario("trigger.restart")
@by_vendor
async def test_trigger_rebuilt_after_a_restart_resumes_with_the_same_deadline(
    no_hook_retries: SimulatorServer, case: VendorCase
) -> None:
    no_hook_retries.config({"latency": {case.app: 30.0}})  # 1.5 s at speed 20
    job_id = submit(case)
    first = make_trigger(case, job_id)
    polls_before = stats(no_hook_retries, case.vendor)["polls"]
    task = asyncio.ensure_future(events_of(first))
    # the triggerer dies once the trigger has polled at least once
    for _ in range(200):
        if stats(no_hook_retries, case.vendor)["polls"] > polls_before:
            break
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await first.cleanup()
    second = rebuilt(first)
    assert second.serialize() == first.serialize()
    assert second.end_time == first.end_time
    submitted = len(stats(no_hook_retries, case.vendor)["submissions"]["jobs"])
    event = only_event(await events_of(second))
    assert event.status == "success"
    assert event.job_id == job_id
    assert len(stats(no_hook_retries, case.vendor)["submissions"]["jobs"]) == submitted  # never submits


@pytest.mark.scenario("trigger.restart")
async def test_restart_after_the_deadline_does_not_extend_it(no_hook_retries: SimulatorServer) -> None:
    no_hook_retries.config({"latency": {"cogview": 600.0}})
    job_id = submit(ZHIPU)
    first = make_trigger(ZHIPU, job_id, end_in=0.5)
    second = rebuilt(first)  # the triggerer comes back after the deadline
    await asyncio.sleep(0.6)
    event = only_event(await events_of(second))
    assert event.status == "timeout"
    assert second.end_time == first.end_time


@pytest.mark.scenario("trigger.restart")
@by_vendor
async def test_serialized_kwargs_are_primitives_without_secrets(
    sim: SimulatorServer, case: VendorCase
) -> None:
    trigger = make_trigger(case, submit(case))
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_aigc.triggers.job.AigcJobTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs
    text = json.dumps(kwargs) + repr(trigger)
    scanner = LeakScanner()
    assert not scanner.leaks(text), scanner.leaks(text)
    assert "password" not in text
    assert "des3" not in text


@pytest.mark.scenario("trigger.duplicate")
@by_vendor
async def test_the_same_trigger_running_twice_at_once_is_harmless(
    no_hook_retries: SimulatorServer, case: VendorCase
) -> None:
    no_hook_retries.config({"latency": {case.app: 10.0}})
    job_id = submit(case)
    submitted = len(stats(no_hook_retries, case.vendor)["submissions"]["jobs"])
    original = make_trigger(case, job_id)
    first, second = await asyncio.gather(events_of(rebuilt(original)), events_of(rebuilt(original)))
    one, other = only_event(first), only_event(second)
    assert one.status == other.status == "success"
    assert one.job == other.job
    assert len(stats(no_hook_retries, case.vendor)["submissions"]["jobs"]) == submitted


@pytest.mark.scenario("trigger.faults")
def test_a_poll_its_client_gave_up_on_is_answered_before_the_next_configuration(sim: SimulatorServer) -> None:
    # A ``slow`` poll sleeps before its remaining faults are drawn; one a client timed out on must
    # not draw them from the next test's configuration (that added a 5th injected 5xx to a count of 4).
    sim.config(fault("jumdata", "status", "slow", next=1, delay=1.0))
    request = urllib.request.Request(sim.url + "/ai/draw/query", data=b"taskId=x", method="POST")
    with pytest.raises(TimeoutError):  # the client gives up
        urllib.request.urlopen(request, timeout=0.2)
    assert sim.stats()["requests_in_flight"] == 1

    sim.wait_quiet()
    sim.config(fault("jumdata", "status", "http_5xx", probability=1.0))

    assert sim.stats()["requests_in_flight"] == 0
    assert stats(sim, "jumdata")["errors_injected"].get("status.http_5xx", 0) == 0
