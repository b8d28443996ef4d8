"""Benchmark 8: a batch larger than the vendor allows, on the distributed deployment (issue #20).

tests/deploy's stack (PostgreSQL, Redis, api-server, scheduler, dag-processor, two triggerers, two
Celery workers with 4 slots each, simulator, moto S3) is started once. ``PROMPTS`` Baidu prompts are
mapped (``benchmarks/batch_dag.py``) in one-task mode and as the chain (one task group per prompt);
each job takes ``JOB_SECONDS`` at the simulator. Each mode runs twice, one phase after the other:
with the account limited to ``LIMIT`` unfinished jobs (the simulator answers Baidu 15 beyond it) on
the connection that declares it (``aigc_baidu_capacity``, ``max_running_jobs`` 2, Baidu's documented
default), then without a limit on the connection that declares none (``aigc_baidu_default``,
``max_running_jobs`` 0): the baseline. Per phase, with the workers idle before and after:

- **archived**: complete manifests in S3 per prompt, and purchases per prompt (tests/deploy/checks.py);
- **failed task instances**: every task instance not ``success`` (retries are 0);
- **makespan**: the DAG run's start to end (metadata database), against the vendor-bound ideal
  ``ceil(PROMPTS / LIMIT) x (JOB_SECONDS + POLL_INTERVAL)``: each of the account's ``LIMIT`` lanes
  runs its jobs one after the other, and each job is seen finished up to one poll interval late;
- **refused submits per job**: Baidu 15 refusals in the simulator's stats during the phase;
- **worker-slot seconds per job**: the integral of Celery pool processes holding a task process
  (``deployment.Sampler``). Not the task instances' durations: Airflow keeps a task's
  ``start_date`` across its deferrals, so those would count the waits in the triggerer;
- **triggerer CPU**: user + system CPU of both triggerers' process trees (``/proc`` via psutil).

``AIGC_BENCH_BATCH_JOB_SECONDS`` sets another job length (results in ``batches-<T>s-jobs.json``);
``AIGC_BENCH_BATCH_PROMPTS`` overrides the batch size: the full run takes about 50 minutes on the
shared 2-core machine, as each triggerer admits at most one waiting task per 10 s (docs/performance.md,
"Batches at capacity").
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any

from benchmarks.batch_dag import MODES, dag_id
from benchmarks.common import SCRATCH
from benchmarks.deployment import (
    WORKER_NAMES,
    Sampler,
    integrate,
    outcome,
    snapshot,
    wait_idle,
)
from benchmarks.report import BenchResult, Row, at_least, at_most, ratio

if TYPE_CHECKING:
    from benchmarks.common import Settings
    from tests.deploy.deployment import Deployment

NAME = "batches"
PROMPTS = 200
QUICK_PROMPTS = 10  # the smoke run: about 4 minutes, half of it starting the deployment
LIMIT = 2  # Baidu's documented default concurrency, which VendorSpec.max_running_jobs also holds
JOB_SECONDS = 3.0
POLL_INTERVAL = 5.0  # ERNIE-ViLG's default poll interval
RUN_TIMEOUT = 3600.0
MAKESPAN_TARGET = 1.15
REFUSAL_TARGET = 0.2
SLOT_TARGET = 1.1
CONCURRENCY_REFUSAL = "15"  # Baidu's 并发超限
DAG_FILE = '''"""airflow DAGs of benchmark 8 (benchmarks/batches.py, benchmarks/batch_dag.py)."""

from benchmarks.batch_dag import MODES, build, dag_id

for mode in MODES:
    for limited in (True, False):
        globals()[dag_id(mode, limited)] = build(mode, limited, jobs={jobs!r}, poll_interval={poll!r})
'''


def ideal_makespan(prompts: int, limit: int, job_seconds: float, poll_interval: float) -> float:
    """The vendor-bound makespan: ``limit`` lanes of jobs, each seen finished one poll late."""
    return math.ceil(prompts / limit) * (job_seconds + poll_interval)


def account(deploy: Deployment, limit: int, job_seconds: float) -> None:
    """Jobs of ``job_seconds``; at most ``limit`` unfinished per account (0: no limit)."""
    from tests.deploy.checks import sim_call

    speed = float(sim_call(deploy, "/_sim/config")["speed"])
    sim_call(
        deploy,
        "/_sim/config",
        {"latency": {"txt2imgv2": job_seconds * speed}, "concurrency": {"baidu": limit}},
    )


def refusals(deploy: Deployment) -> int:
    from tests.deploy.checks import sim_call

    rejections = sim_call(deploy, "/_sim/stats")["vendors"]["baidu"]["rejections"]
    return int(rejections.get(CONCURRENCY_REFUSAL, 0))


def phase(deploy: Deployment, mode: str, limit: int, prompts: int, job_seconds: float) -> dict[str, Any]:
    """Run the batch once in ``mode`` with the account limited to ``limit`` jobs; the raw figures."""
    from tests.deploy.airflow_api import trigger_run, wait_for_run

    dag, tag = dag_id(mode, bool(limit)), f"{mode}-{'limit' if limit else 'free'}"
    account(deploy, limit, job_seconds)
    wait_idle(deploy)
    before, refused = snapshot(deploy), refusals(deploy)
    with Sampler(tuple(deploy[name].pid for name in WORKER_NAMES)) as sampler:
        run_id = trigger_run(deploy, dag, tag)
        state = wait_for_run(deploy, dag, run_id, RUN_TIMEOUT)
        wait_idle(deploy)
    after = snapshot(deploy)
    if after.roots != before.roots:
        raise RuntimeError(f"{tag}: a worker or triggerer was restarted during the phase")
    ((makespan,),) = deploy.query(
        "SELECT extract(epoch FROM end_date - start_date) FROM dag_run WHERE dag_id = %s AND run_id = %s",
        dag,
        run_id,
    )
    return {
        "mode": mode,
        "limit": limit,
        "prompts": prompts,
        "job_seconds": job_seconds,
        "state": state,
        "makespan_s": float(makespan),
        "seconds": after.at - before.at,
        "refused_submits": refusals(deploy) - refused,
        "worker_slot_s": integrate(sampler.busy),
        "peak_slots_held": max((value for _, value in sampler.busy), default=0.0),
        "worker_cpu_s": after.worker_cpu - before.worker_cpu,
        "triggerer_cpu_s": after.triggerer_cpu - before.triggerer_cpu,
        "celery_tasks": after.celery_tasks - before.celery_tasks,
        **outcome(deploy, dag, run_id),
    }


def rows_for(phases: dict[str, dict[str, Any]]) -> list[Row]:
    """Per mode: archives, purchases, failures, makespan, refusals, slot time and triggerer CPU."""
    rows: list[Row] = []
    for mode in MODES:
        limited, free = phases[f"{mode}-limit"], phases[f"{mode}-free"]
        prompts, job_seconds = limited["prompts"], limited["job_seconds"]
        case = (
            f"{prompts} Baidu prompts, {mode.replace('_', '-')}, {job_seconds:g} s jobs, "
            f"{LIMIT} at a time, Celery 2x4 slots, 2 triggerers"
        )
        archived = limited["manifests"] / max(limited["jobs_bought"], 1)
        once = limited["prompts_bought"] == prompts and limited["max_purchases_per_prompt"] == 1
        ideal = ideal_makespan(prompts, LIMIT, job_seconds, POLL_INTERVAL)
        refused = limited["refused_submits"] / prompts
        slots, free_slots = limited["worker_slot_s"] / prompts, free["worker_slot_s"] / prompts
        cpu = limited["triggerer_cpu_s"]
        rows += [
            Row(NAME, case, "jobs archived", 100 * archived, "%", target="100 %",
                met=bool(at_least(archived, 1.0)) and not limited["archive_problems"] and once,
                note=f"{limited['manifests']} manifests / {limited['jobs_bought']} jobs bought, "
                f"{limited['prompts_bought']} of {prompts} prompts, at most "
                f"{limited['max_purchases_per_prompt']} purchase per prompt"),
            Row(NAME, case, "failed task instances", len(limited["failed_tasks"]), "", target="0",
                met=not limited["failed_tasks"], note=f"of {limited['task_instances']}, retries 0"),
            Row(NAME, case, "makespan", limited["makespan_s"], "s", "vendor-bound ideal", ideal,
                f"<= {MAKESPAN_TARGET}x", at_most(ratio(limited["makespan_s"], ideal), MAKESPAN_TARGET),
                note=f"ideal ceil({prompts}/{LIMIT}) x ({job_seconds:g} s + {POLL_INTERVAL:g} s poll); "
                f"without a limit {free['makespan_s']:.0f} s"),
            Row(NAME, case, "refused submits per job", refused, "", target=f"<= {REFUSAL_TARGET}",
                met=at_most(refused, REFUSAL_TARGET),
                note=f"{limited['refused_submits']} Baidu 15 refusals (simulator stats)"),
            Row(NAME, case, "worker-slot seconds per job", slots, "s", "the batch without a limit",
                free_slots, f"<= {SLOT_TARGET}x", at_most(ratio(slots, free_slots), SLOT_TARGET),
                note="Celery pool processes holding a task process, sampled every 0.25 s"),
            Row(NAME, case, "triggerer CPU-seconds per job", cpu / prompts, "s", "the batch without a limit",
                free["triggerer_cpu_s"] / prompts,
                note=f"both triggerers' process trees; {100 * cpu / limited['seconds']:.1f} % of one core "
                f"over the {limited['seconds']:.0f} s phase"),
        ]  # fmt: skip
    return rows


def run(settings: Settings) -> BenchResult:
    from tests.deploy.deployment import deployment

    prompts = int(os.environ.get("AIGC_BENCH_BATCH_PROMPTS") or settings.pick(PROMPTS, QUICK_PROMPTS))
    job_seconds = float(os.environ.get("AIGC_BENCH_BATCH_JOB_SECONDS") or JOB_SECONDS)
    # Another job length is another case: its results file sits beside the default one.
    result = BenchResult(NAME if job_seconds == JOB_SECONDS else f"{NAME}-{job_seconds:g}s-jobs")
    result.details = {
        "prompts": prompts,
        "limit": LIMIT,
        "job_seconds": job_seconds,
        "poll_interval_s": POLL_INTERVAL,
        "phases": {},
    }
    dags = SCRATCH / "batches_dags"
    dags.mkdir(parents=True, exist_ok=True)
    (dags / "aigc_bench_batches.py").write_text(
        DAG_FILE.format(jobs=prompts, poll=POLL_INTERVAL), encoding="utf-8"
    )
    with deployment(SCRATCH / "batches", dags_folder=dags) as deploy:
        for mode in MODES:
            for limit in (LIMIT, 0):
                figures = phase(deploy, mode, limit, prompts, job_seconds)
                print(f"[batches] {mode} limit={limit}: {figures['makespan_s']:.0f} s", flush=True)
                result.details["phases"][f"{mode}-{'limit' if limit else 'free'}"] = figures
    result.rows += rows_for(result.details["phases"])
    return result
