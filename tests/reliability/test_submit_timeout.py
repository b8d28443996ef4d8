"""``execution_timeout`` firing during the paid submit, in real Airflow (``airflow dags test``).

The first try dies with ``AirflowTaskTimeout`` while the simulator holds the submit's answer; the
retry finds the intent Airflow's own task_state_store kept, refuses without any vendor call, and
fails without using further retries.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.reliability.helpers import fault, injected, stats, submissions

if TYPE_CHECKING:
    from tests.conftest import SimulatorServer
    from tests.integration.conftest import AirflowHarness

pytestmark = pytest.mark.integration

RELIABILITY_DAGS = Path(__file__).resolve().parent / "dags"


@pytest.mark.scenario("pipeline.worker-killed")
def test_execution_timeout_during_the_submit_is_followed_by_no_second_purchase(
    airflow: AirflowHarness, sim: SimulatorServer
) -> None:
    # Held 4 s: past the task's 2 s execution_timeout, inside the connection's 5 s client timeout.
    sim.config(fault("zhipu", "submit", "slow", next=1, delay=4.0))
    prompt = f"荷塘月色 {uuid.uuid4().hex[:8]}"

    run = airflow.run_dag("rel_submit_timeout", {"prompt": prompt}, dags_folder=RELIABILITY_DAGS)

    assert run.try_numbers() == {("submit", -1): 2}, run.output_tail()  # of 4 allowed
    assert run.task_states() == {("submit", -1): "failed"}
    assert "AirflowTaskTimeout" in run.stdout
    assert "AigcSubmitUnconfirmedError" in run.stdout
    assert "try 1 of this task instance sent a zhipu cogview submit" in run.stdout
    saved = run.task_state_store("submit")["aigc_job"]
    assert saved["intent"]["try_number"] == 1
    assert "job" not in saved
    assert injected(sim, "zhipu", "submit.slow") == 1  # the first try's request reached the vendor
    assert stats(sim, "zhipu")["polls"] == 0  # the retry asked nothing
    assert len(submissions(sim, "zhipu")) <= 1  # and bought nothing
