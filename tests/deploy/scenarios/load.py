"""Load: 60 concurrent jobs over three vendors and four apps, mapped, each archived."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from tests.deploy.airflow_api import deferred_triggers
from tests.deploy.scenarios.common import finish, start

if TYPE_CHECKING:
    from tests.deploy.deployment import Deployment
    from tests.deploy.report import Result

DAG_ID = "deploy_load"


def run(deploy: Deployment, result: Result) -> None:
    started = time.monotonic()
    run_id = start(deploy, DAG_ID, "load")
    holders: dict[int, str] = {}
    peak = [0]

    def observe() -> None:
        triggers = deferred_triggers(deploy, DAG_ID, run_id)
        peak[0] = max(peak[0], len(triggers))
        holders.update({tid: host for tid, host, _ in triggers if host})

    finish(deploy, DAG_ID, run_id, result, started, observe=observe)
    by_triggerer = {host: list(holders.values()).count(host) for host in set(holders.values())}
    result.notes.append(f"peak concurrent waits {peak[0]}; triggers per triggerer {by_triggerer}")
    assert len(by_triggerer) == 2, f"triggers were not spread over both triggerers: {by_triggerer}"
