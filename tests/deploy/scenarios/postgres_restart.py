"""PostgreSQL restarted (fast shutdown: connections cut) while waits are deferred: the runs complete.

The scheduler, dag-processor and triggerers exit by design when they lose the metadata database;
the suite restarts whatever exited, as a process supervisor would, and reports which did.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from tests.deploy.scenarios.common import finish, start
from tests.deploy.scenarios.waits import DAG_ID, WAIT_SECONDS, check_deadlines, wait_until_deferred

if TYPE_CHECKING:
    from tests.deploy.deployment import Deployment
    from tests.deploy.report import Result

OUTAGE_SECONDS = 5.0


def run(deploy: Deployment, result: Result) -> None:
    started = time.monotonic()
    run_id = start(deploy, DAG_ID, "pgrestart", latency=WAIT_SECONDS)
    assigned = wait_until_deferred(deploy, run_id)
    before = dict(deploy.restarts)
    deploy.postgres.child.stop()
    time.sleep(OUTAGE_SECONDS)
    deploy.postgres.start()
    outage = time.monotonic() - started
    finish(deploy, DAG_ID, run_id, result, started)
    compared = check_deadlines(deploy, run_id, assigned)
    restarted = {name: count - before.get(name, 0) for name, count in deploy.restarts.items()}
    restarted = {name: count for name, count in restarted.items() if count}
    result.notes.append(
        f"database down {OUTAGE_SECONDS:.0f} s with {len(assigned)} waits deferred; "
        f"restarted after the outage: {restarted or 'none'}; deadlines compared {compared}"
    )
    del outage
