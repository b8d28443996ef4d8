"""A fresh simulator per test, on a free loopback port, with time under the test's control."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from airflow_provider_aigc.simulator import ManualClock, SimulatorConfig, run_in_background
from tests.unit.simulator.helpers import Sim

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def sim() -> Iterator[Sim]:
    clock = ManualClock()
    with run_in_background(config=SimulatorConfig(seed=7), clock=clock) as handle:
        yield Sim(url=handle.url, clock=clock)
