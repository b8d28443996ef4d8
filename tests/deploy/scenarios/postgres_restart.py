"""PostgreSQL restarted (fast shutdown: connections cut) while waits are deferred: the runs complete.

The scheduler, dag-processor and triggerers exit by design when they lose the metadata database;
the suite restarts whatever exited, as a process supervisor would, and reports which did.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from tests.deploy.airflow_api import alive_triggerers, wait_for
from tests.deploy.scenarios.common import finish, start
from tests.deploy.scenarios.waits import DAG_ID, WAIT_SECONDS, check_deadlines, wait_until_deferred
from tests.deploy.settings import TRIGGERER_HEALTH_CHECK_THRESHOLD

if TYPE_CHECKING:
    from tests.deploy.deployment import Deployment
    from tests.deploy.report import Result

OUTAGE_SECONDS = 5.0
REASSIGN_TIMEOUT = 180.0


def _triggerer_jobs(deploy: Deployment) -> set[int]:
    rows = deploy.query("SELECT id FROM job WHERE job_type = 'TriggererJob'")
    return {int(job_id) for (job_id,) in rows}


def _reassigned(deploy: Deployment, run_id: str, old_jobs: set[int]) -> bool:
    """Every wait of the run still deferred is held by a triggerer started after the outage."""
    rows = deploy.query(
        "SELECT t.triggerer_id FROM task_instance ti JOIN trigger t ON t.id = ti.trigger_id "
        "WHERE ti.dag_id = %s AND ti.run_id = %s AND ti.state = 'deferred'",
        DAG_ID,
        run_id,
    )
    holders = {job_id for (job_id,) in rows}
    alive = set(alive_triggerers(deploy, TRIGGERER_HEALTH_CHECK_THRESHOLD))
    return None not in holders and holders <= alive - old_jobs


def run(deploy: Deployment, result: Result) -> None:
    started = time.monotonic()
    run_id = start(deploy, DAG_ID, "pgrestart", latency=WAIT_SECONDS)
    assigned = wait_until_deferred(deploy, run_id)
    before = dict(deploy.restarts)
    old_jobs = _triggerer_jobs(deploy)
    deploy.postgres.child.stop()
    time.sleep(OUTAGE_SECONDS)
    deploy.postgres.start()
    # The triggerers exit with the database and are restarted; the waits they held must come back
    # with their deadlines (compared on those still deferred).
    wait_for(deploy, lambda: _reassigned(deploy, run_id, old_jobs), REASSIGN_TIMEOUT, "waits reassigned")
    compared = check_deadlines(deploy, run_id, assigned)
    finish(deploy, DAG_ID, run_id, result, started)
    restarted = {name: count - before.get(name, 0) for name, count in deploy.restarts.items()}
    restarted = {name: count for name, count in restarted.items() if count}
    result.notes.append(
        f"database down {OUTAGE_SECONDS:.0f} s with {len(assigned)} waits deferred; "
        f"restarted after the outage: {restarted or 'none'}; deadlines compared {compared}"
    )
