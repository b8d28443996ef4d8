"""The deadline is absolute: a vendor answering every status call with a rate limit and
``Retry-After: 120`` cannot stretch the wait, for the trigger, the sensor's first check and poke mode.

Time is a fake clock that moves only when the code under test pauses (the pauses are recorded, not
slept), so the assertions read the clock, never the wall time. Every request the hooks send is
recorded with the timeout it was given.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest
from airflow.sdk.bases import sensor as airflow_sensor
from airflow.sdk.bases.operator import ExecutorSafeguard
from airflow.sdk.exceptions import AirflowSensorTimeout

from airflow_provider_aigc.hooks import base as hook_base
from airflow_provider_aigc.hooks import hook_class_for
from airflow_provider_aigc.sensors.job import AigcJobSensor
from airflow_provider_aigc.triggers.events import JobEvent
from airflow_provider_aigc.triggers.job import AigcJobTrigger
from tests.reliability.conftest import CALL_TIMEOUT, connection_env
from tests.reliability.gateway import Gateway, gateway_for
from tests.reliability.helpers import VENDORS, VendorCase, fault, make_hook

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_provider_aigc.hooks.base import AigcHook
    from airflow_provider_aigc.models import JobRef
    from tests.conftest import SimulatorServer

by_vendor = pytest.mark.parametrize("case", VENDORS, ids=str)
DEADLINE = 30.0
# Only a guard against a hang on broken code; nothing is asserted about wall time.
HANG_GUARD = 30.0


@dataclass
class FakeClock:
    """Epoch seconds (starting now, so signatures and tokens stay valid) that move on pauses only."""

    now: float = field(default_factory=time.time)
    sleeps: list[float] = field(default_factory=list)
    requests: list[tuple[float, float]] = field(default_factory=list)  # (time left, timeout)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)
        await asyncio.sleep(0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def storm(sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    """Connections through a gateway that adds ``Retry-After: 120`` to every answer."""
    for gateway in gateway_for(sim.url):
        gateway.headers["Retry-After"] = "120"
        for name, value in connection_env(gateway.url).items():
            monkeypatch.setenv(name, value)
        yield gateway


@pytest.fixture
def deadline_of(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> dict[str, float]:
    """Record each request's timeout next to the time left before the current deadline."""
    current: dict[str, float] = {"at": clock.now + DEADLINE}
    real_send, real_asend = hook_base.send, hook_base.asend

    def send(session: Any, base_url: str, request: Any, timeout: float) -> Any:
        clock.requests.append((current["at"] - clock.now, timeout))
        return real_send(session, base_url, request, timeout)

    async def asend(session: Any, base_url: str, request: Any, timeout: float) -> Any:
        clock.requests.append((current["at"] - clock.now, timeout))
        return await real_asend(session, base_url, request, timeout)

    monkeypatch.setattr(hook_base, "send", send)
    monkeypatch.setattr(hook_base, "asend", asend)
    return current


def submitted(case: VendorCase) -> JobRef:
    return make_hook(case.vendor).submit(case.app, case.params(f"雪山 {uuid.uuid4().hex[:8]}"))


def rate_limit_every_status_call(sim: SimulatorServer, case: VendorCase) -> None:
    sim.config(fault(case.vendor, "status", "rate_limit", probability=1.0, code=case.rate_limit_codes[0]))


def assert_ended_at_the_deadline(clock: FakeClock, started: float, deadline: float) -> None:
    # Within one second of the deadline plus one request timeout; every request timeout was cut
    # to the time left, and no pause reached past the deadline.
    assert clock.now <= deadline + 1.0  # requests take no fake time: the bound without their timeout
    assert max(timeout for _, timeout in clock.requests) <= CALL_TIMEOUT
    assert clock.requests, "the vendor was asked at least once"
    assert all(timeout <= left for left, timeout in clock.requests), clock.requests
    assert sum(clock.sleeps) == pytest.approx(clock.now - started)
    assert max(clock.sleeps) < 120.0  # the Retry-After was cut to the time left


@pytest.mark.scenario("trigger.deadline-retry-after")
@by_vendor
async def test_the_trigger_yields_its_timeout_at_the_deadline(
    sim: SimulatorServer, storm: Gateway, clock: FakeClock, deadline_of: dict[str, float], case: VendorCase
) -> None:
    """Regression: one poll spent Retry-After 120 s three times before the deadline was looked at."""
    job = submitted(case)
    rate_limit_every_status_call(sim, case)
    started = clock.now
    trigger = AigcJobTrigger(
        conn_id=job.conn_id,
        vendor=case.vendor,
        app=case.app,
        job_id=job.job_id,
        poll_interval=5.0,
        end_time=deadline_of["at"],
        clock=clock,
        sleep=clock.asleep,
    )

    async def run() -> list[Any]:
        return [event async for event in trigger.run()]

    events = await asyncio.wait_for(run(), HANG_GUARD)
    assert len(events) == 1
    event = JobEvent.from_payload(events[0].payload)
    assert event.status == "timeout"
    assert event.job_id == job.job_id
    assert_ended_at_the_deadline(clock, started, deadline_of["at"])


@pytest.fixture
def as_in_the_task_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ExecutorSafeguard, "test_mode", True)


def storm_sensor(case: VendorCase, job: JobRef, clock: FakeClock, **kwargs: Any) -> AigcJobSensor:
    waiting = AigcJobSensor(task_id="wait", job=job.to_dict(), timeout=DEADLINE, **kwargs)
    waiting._clock = clock
    hook: AigcHook[Any] = hook_class_for(case.vendor)(conn_id=job.conn_id, sleep=clock.sleep, clock=clock)
    waiting.hook = hook
    return waiting


@pytest.mark.scenario("trigger.deadline-retry-after")
@by_vendor
def test_the_sensors_first_check_ends_at_the_deadline(
    sim: SimulatorServer,
    storm: Gateway,
    clock: FakeClock,
    deadline_of: dict[str, float],
    case: VendorCase,
    as_in_the_task_runner: None,
) -> None:
    job = submitted(case)
    rate_limit_every_status_call(sim, case)
    started = clock.now
    with pytest.raises(AirflowSensorTimeout, match="deadline"):
        storm_sensor(case, job, clock).execute({})
    assert_ended_at_the_deadline(clock, started, deadline_of["at"])


@pytest.mark.scenario("trigger.deadline-retry-after")
@by_vendor
def test_poke_mode_ends_at_the_deadline(
    sim: SimulatorServer,
    storm: Gateway,
    clock: FakeClock,
    deadline_of: dict[str, float],
    case: VendorCase,
    as_in_the_task_runner: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # BaseSensorOperator's own loop measures and sleeps with the time module: the same fake clock.
    monkeypatch.setattr(airflow_sensor, "time", SimpleNamespace(monotonic=clock, sleep=clock.sleep))
    job = submitted(case)
    rate_limit_every_status_call(sim, case)
    started = clock.now
    with pytest.raises(AirflowSensorTimeout):
        storm_sensor(case, job, clock, deferrable=False, poke_interval=5.0).execute({})
    assert_ended_at_the_deadline(clock, started, deadline_of["at"])
