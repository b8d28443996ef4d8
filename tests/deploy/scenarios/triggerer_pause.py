"""A triggerer paused (SIGSTOP) past the health-check threshold, then continued (SIGCONT).

The other triggerer takes the waits over; when the paused one wakes up it must not act on them
a second time: no task fails, no wait or archive runs twice, nothing is bought twice.
"""

from __future__ import annotations

import signal
import time
from typing import TYPE_CHECKING

from tests.deploy.airflow_api import deferred_triggers, task_instances, wait_for
from tests.deploy.scenarios.common import finish, start
from tests.deploy.scenarios.waits import DAG_ID, WAIT_SECONDS, busiest, wait_until_deferred
from tests.deploy.settings import TRIGGERER_HEALTH_CHECK_THRESHOLD

if TYPE_CHECKING:
    from tests.deploy.deployment import Deployment
    from tests.deploy.report import Result

PAUSE_PAST_THRESHOLD = 10.0


def run(deploy: Deployment, result: Result) -> None:
    started = time.monotonic()
    run_id = start(deploy, DAG_ID, "tpause", latency=WAIT_SECONDS)
    assigned = wait_until_deferred(deploy, run_id)
    paused, held = busiest(assigned)
    deploy[paused].signal_group(signal.SIGSTOP)
    stopped_at = time.monotonic()
    try:

        def taken_over() -> bool:
            return all(host not in (None, paused) for _, host, _ in deferred_triggers(deploy, DAG_ID, run_id))

        wait_for(
            deploy, taken_over, 120.0, "takeover from the paused triggerer", skip=(paused,), interval=0.2
        )
        result.figures["takeover s"] = time.monotonic() - stopped_at
        remaining = TRIGGERER_HEALTH_CHECK_THRESHOLD + PAUSE_PAST_THRESHOLD - (time.monotonic() - stopped_at)
        time.sleep(max(0.0, remaining))
    finally:
        deploy[paused].signal_group(signal.SIGCONT)
    paused_for = time.monotonic() - stopped_at
    restarts = deploy.restarts.get(paused, 0)
    finish(deploy, DAG_ID, run_id, result, started)
    tries = task_instances(deploy, DAG_ID, run_id)
    repeated = [f"{t.task_id}[{t.map_index}]" for t in tries if t.try_number != 1]
    exited = (
        "exited after SIGCONT (restarted)" if deploy.restarts.get(paused, 0) > restarts else "kept running"
    )
    result.notes.append(f"{paused} held {held}/{len(assigned)} waits, paused {paused_for:.0f} s, {exited}")
    assert not repeated, f"tasks ran more than once: {repeated}"
