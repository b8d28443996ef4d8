"""A triggerer SIGKILLed while it holds most waits: the other takes them over, nothing bought twice."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from tests.deploy.airflow_api import deferred_triggers, wait_for
from tests.deploy.scenarios.common import finish, start
from tests.deploy.scenarios.waits import DAG_ID, WAIT_SECONDS, busiest, check_deadlines, wait_until_deferred
from tests.deploy.settings import TRIGGERER_HEALTH_CHECK_THRESHOLD

if TYPE_CHECKING:
    from tests.deploy.deployment import Deployment
    from tests.deploy.report import Result

TAKEOVER_TIMEOUT = 120.0


def run(deploy: Deployment, result: Result) -> None:
    started = time.monotonic()
    run_id = start(deploy, DAG_ID, "tkill", latency=WAIT_SECONDS)
    assigned = wait_until_deferred(deploy, run_id)
    victim, held = busiest(assigned)
    deploy[victim].kill()
    killed_at = time.monotonic()

    def taken_over() -> bool:
        now = deferred_triggers(deploy, DAG_ID, run_id)
        return all(host not in (None, victim) for _, host, _ in now)

    wait_for(deploy, taken_over, TAKEOVER_TIMEOUT, "takeover", skip=(victim,), interval=0.2)
    takeover = time.monotonic() - killed_at
    compared = check_deadlines(deploy, run_id, assigned)
    deploy.start(victim)  # back to two triggerers, as a supervisor would bring it back
    result.figures["takeover s"] = takeover
    result.notes.append(
        f"{victim} held {held}/{len(assigned)} waits; deadlines unchanged on {compared}; "
        f"health-check threshold {TRIGGERER_HEALTH_CHECK_THRESHOLD:.0f} s"
    )
    finish(deploy, DAG_ID, run_id, result, started)
