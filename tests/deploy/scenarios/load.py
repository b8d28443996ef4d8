"""Load: 72 concurrent jobs over five vendors and six apps, mapped, each archived: five chains (a
CogVideoX batch among them) and a one-task DashScope Wan image batch."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from tests.deploy.airflow_api import deferred_triggers
from tests.deploy.checks import sim_call
from tests.deploy.scenarios.common import finish, start

if TYPE_CHECKING:
    from tests.deploy.deployment import Deployment
    from tests.deploy.report import Result

DAG_ID = "deploy_load"
VENDOR_SECONDS = 75.0  # long enough for all 72 submits to land while the first jobs still run
MIN_CONCURRENT = 60


def run(deploy: Deployment, result: Result) -> None:
    started = time.monotonic()
    run_id = start(deploy, DAG_ID, "load", latency=VENDOR_SECONDS)
    holders: dict[int, str] = {}
    peak = {"waits": 0, "vendor": 0}

    def observe() -> None:
        triggers = deferred_triggers(deploy, DAG_ID, run_id)
        vendors = sim_call(deploy, "/_sim/stats")["vendors"].values()
        peak["waits"] = max(peak["waits"], len(triggers))
        peak["vendor"] = max(peak["vendor"], sum(vendor["active_jobs"] for vendor in vendors))
        holders.update({tid: host for tid, host, _ in triggers if host})

    finish(deploy, DAG_ID, run_id, result, started, observe=observe)
    by_triggerer = {host: list(holders.values()).count(host) for host in set(holders.values())}
    result.notes.append(
        f"peak {peak['vendor']} jobs running at the vendors at once, {peak['waits']} waits deferred at once; "
        f"triggers per triggerer {by_triggerer}"
    )
    assert peak["vendor"] >= MIN_CONCURRENT, f"only {peak['vendor']} jobs ran at once"
    assert len(by_triggerer) == 2, f"triggers were not spread over both triggerers: {by_triggerer}"
