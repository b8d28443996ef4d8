"""Batches at capacity (issue #20): a worker killed and a triggerer restarted while prompts wait.

Four mapped Baidu batches (chain and one-task, retries 0 and 2; 16 jobs) on an account the
simulator limits to 2 concurrent jobs: most submits are refused with Baidu's 15 and wait for
capacity in ``AigcCapacityTrigger``. While they wait, a Celery worker is SIGKILLed and restarted
(at a moment no task of the batches is queued or running, so the kill can only show that the
waits do not live in a worker), then the triggerer holding most waits is SIGKILLed and restarted:
its room is gone, the waits move (the deadline and place travel in the trigger) and refill a room.
Every prompt must be bought once and archived, no task may fail or run a second try.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tests.deploy.airflow_api import run_state, task_instances, trigger_run, wait_for
from tests.deploy.checks import sim_call
from tests.deploy.deployment import WORKERS
from tests.deploy.scenarios.common import CAPACITY_DAGS, JOBS, RUN_TIMEOUT, outcome, start
from tests.deploy.settings import CAPACITY_LIMIT

if TYPE_CHECKING:
    from tests.deploy.deployment import Deployment
    from tests.deploy.report import Result

JOB_SECONDS = 6.0
MIN_WAITING = 4  # capacity waits deferred when a component is killed
PHASE_TIMEOUT = 240.0
CAPACITY_TRIGGER = "airflow_provider_aigc.triggers.capacity.AigcCapacityTrigger"
# A task in one of these states is on a worker or about to be sent to one.
BUSY = ("scheduled", "queued", "running", "restarting", "up_for_retry")
RUNS = {dag_id: dag_id.removeprefix("deploy_").replace("_", "-") for dag_id in CAPACITY_DAGS}


@dataclass
class Snapshot:
    """The batches' task instances now: states, capacity waits and who holds them."""

    states: Counter[str | None] = field(default_factory=Counter)
    waits: list[tuple[str | None, int | None]] = field(default_factory=list)  # (triggerer, its job id)
    workers: Counter[str] = field(default_factory=Counter)  # task instances last run per worker

    @property
    def idle(self) -> bool:
        return not any(self.states[state] for state in BUSY)


def snapshot(deploy: Deployment) -> Snapshot:
    rows = deploy.query(
        "SELECT ti.state, ti.hostname, t.classpath, j.hostname, j.id FROM task_instance ti "
        "LEFT JOIN trigger t ON t.id = ti.trigger_id LEFT JOIN job j ON j.id = t.triggerer_id "
        "WHERE ti.dag_id = ANY(%s) AND ti.run_id = ANY(%s)",
        list(RUNS),
        list(RUNS.values()),
    )
    found = Snapshot()
    for state, worker, classpath, triggerer, job_id in rows:
        found.states[state] += 1
        if worker in WORKERS:
            found.workers[worker] += 1
        if state == "deferred" and classpath == CAPACITY_TRIGGER:
            found.waits.append((triggerer, job_id))
    return found


def refused(deploy: Deployment) -> int:
    """Baidu submits refused for concurrency (error 15) so far."""
    return int(sim_call(deploy, "/_sim/stats")["vendors"]["baidu"]["rejections"].get("15", 0))


def _kill_idle_worker(deploy: Deployment) -> str:
    """SIGKILL and restart the worker that ran most of the batches' tasks, once they all wait."""
    seen: list[Snapshot] = []

    def waiting_and_idle() -> bool:
        seen[:] = [snapshot(deploy)]
        return len(seen[0].waits) >= MIN_WAITING and seen[0].idle

    wait_for(deploy, waiting_and_idle, PHASE_TIMEOUT, "capacity waits, no task on a worker", interval=0.1)
    victim = seen[0].workers.most_common(1)[0][0] if seen[0].workers else WORKERS[0]
    deploy[victim].kill()
    deploy.start(victim)
    return f"{victim} killed with {len(seen[0].waits)} capacity waits deferred"


def _restart_busiest_triggerer(deploy: Deployment, result: Result) -> str:
    """SIGKILL and restart the triggerer holding most capacity waits; time until another job holds them."""
    seen: list[Snapshot] = []

    def assigned() -> bool:
        seen[:] = [snapshot(deploy)]
        return len(seen[0].waits) >= MIN_WAITING and all(host for host, _ in seen[0].waits)

    wait_for(deploy, assigned, PHASE_TIMEOUT, "capacity waits assigned to triggerers", interval=0.2)
    (host, old_job), held = Counter(seen[0].waits).most_common(1)[0]
    victim = str(host)
    deploy[victim].kill()
    deploy.start(victim)  # as a supervisor would: a new process, an empty room
    killed_at = time.monotonic()

    def moved() -> bool:
        return all(job_id not in (None, old_job) for _, job_id in snapshot(deploy).waits)

    wait_for(deploy, moved, PHASE_TIMEOUT, "capacity waits taken over", interval=0.2)
    result.figures["takeover s"] = time.monotonic() - killed_at
    return f"{victim} restarted holding {held}/{len(seen[0].waits)} capacity waits"


def run(deploy: Deployment, result: Result) -> None:
    started = time.monotonic()
    refused_before = refused(deploy)
    sim_call(deploy, "/_sim/config", {"concurrency": {"baidu": CAPACITY_LIMIT}})
    try:
        first, *others = RUNS.items()
        start(deploy, first[0], first[1], latency=JOB_SECONDS)
        for dag_id, tag in others:
            trigger_run(deploy, dag_id, tag)
        result.notes.append(_kill_idle_worker(deploy))
        refused_at_restart = refused(deploy)
        result.notes.append(_restart_busiest_triggerer(deploy, result))

        def finished() -> bool:
            return all(
                run_state(deploy, dag_id, tag) in ("success", "failed") for dag_id, tag in RUNS.items()
            )

        wait_for(deploy, finished, RUN_TIMEOUT, "the capacity batches", interval=2.0)
    finally:
        sim_call(deploy, "/_sim/config", {"concurrency": {"baidu": 0}})
    outcomes = [outcome(deploy, dag_id, tag) for dag_id, tag in RUNS.items()]
    refusals = refused(deploy) - refused_before
    jobs = sum(JOBS[dag_id] for dag_id in RUNS)
    result.figures.update(
        {
            "jobs": jobs,
            "purchases/prompt": max(max(o.bought.values(), default=0) for o in outcomes),
            "archived objects": sum(o.archives.objects for o in outcomes),
            "manifests": sum(o.archives.manifests for o in outcomes),
            "orphans": sum(o.archives.orphans for o in outcomes),
            "wall s": time.monotonic() - started,
        }
    )
    result.figures["refused"] = refusals
    result.notes.append(
        f"refused submits (Baidu 15): {refusals / jobs:.2f} per job, "
        f"{refused(deploy) - refused_at_restart} of them after the triggerer restart"
    )
    for found in outcomes:
        found.check()
    repeated = [
        f"{dag_id}/{t.task_id}[{t.map_index}]"
        for dag_id, tag in RUNS.items()
        for t in task_instances(deploy, dag_id, tag)
        if t.try_number != 1
    ]
    assert not repeated, f"tasks ran a second try: {repeated}"
    assert refusals >= 1, "no submit was refused: the batches never met the account's limit"
