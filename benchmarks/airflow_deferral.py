"""Benchmark 3: deferral at scale in real Airflow (scheduler, triggerer, dag-processor, api-server).

The same DAG (submit >> wait >> archive) runs R times on two worker slots, the runs arriving a
few seconds apart (the scheduler creates them from a short timedelta schedule), in three phases
on one deployment, one repetition each (a phase takes minutes):

- ``no-wait``: jobs are already finished when the sensor first looks, so nothing waits: the wall
  time is the scheduling and task overhead of R runs (the "scheduling overhead").
- ``deferrable``: each job takes 60 s (simulated), the sensor defers to ``AigcJobTrigger``.
- ``poke``: the same jobs with ``deferrable=False``: each wait holds a worker slot, so runs that
  arrive while both slots are held by waits cannot even submit their jobs.

Time is compressed (simulator ``--speed``; the sensor's poll interval scaled alike), so a 60 s job
takes 60/speed s of wall time. Wall time of a phase = last run's end - first run's start, from
the metadata database.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from benchmarks.airflow_stack import AirflowStack, airflow_stack
from benchmarks.common import s3_server, simulator
from benchmarks.report import BenchResult, Row, at_most

if TYPE_CHECKING:
    from benchmarks.common import Settings, Simulator

NAME = "airflow"
BUCKET = "aigc-bench"
JOB_SECONDS = 60.0  # simulated
COGVIEW_POLL = 15.0  # the sensor's default for CogView, scaled by the speed below
WITHIN = 1.5
# 100 runs do not fit in make bench's 20 minutes on 2 cores (each task start costs seconds, and
# poke mode holds a slot per waiting job): 10 runs, arriving one every 4 s, 60 s jobs run at 2x.
RUNS = 10
ARRIVAL = 4.0
SPEED = 2.0
PICK_UP = 15.0  # seconds for the dag-processor to find and parse a new file


def write_dag(stack: AirflowStack, dag_id: str, *, deferrable: bool, runs: int, poll_interval: float) -> None:
    """Drop a short DAG file into the deployment; its first run is due once it has been parsed."""
    start = time.time() + PICK_UP
    (stack.dags / f"{dag_id}.py").write_text(
        '"""airflow DAG of benchmark 3 (see benchmarks/bench_dag.py)."""\n\n'
        "from benchmarks.bench_dag import make_dag\n\n"
        f"dag = make_dag({dag_id!r}, deferrable={deferrable}, runs={runs}, every={ARRIVAL!r}, "
        f"start_epoch={start!r}, poll_interval={poll_interval!r}, bucket={BUCKET!r})\n",
        encoding="utf-8",
    )


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def phase(
    stack: AirflowStack, sim: Simulator, name: str, *, deferrable: bool, job_seconds: float, runs: int
) -> dict[str, Any]:
    speed = float(sim.current_config()["speed"])
    sim.config({"latency": {"cogview": job_seconds}})
    dag_id = f"bench_{name.replace('-', '_')}"
    polls_before = sim.stats()["vendors"]["zhipu"]["polls"]
    write_dag(stack, dag_id, deferrable=deferrable, runs=runs, poll_interval=COGVIEW_POLL / speed)
    worst_case = runs * (job_seconds / speed + 30) + 600
    finished = stack.wait_for_runs(dag_id, runs, timeout=worst_case)
    starts = [_time(start) for _, start, _ in finished]
    ends = [_time(end) for _, _, end in finished]
    return {
        "dag_id": dag_id,
        "runs": runs,
        "deferrable": deferrable,
        "job_seconds_wall": job_seconds / speed,
        "wall_s": (max(ends) - min(starts)).total_seconds(),
        "run_s": sorted((end - start).total_seconds() for start, end in zip(starts, ends, strict=True)),
        "failed_runs": sum(state != "success" for state, _, _ in finished),
        "status_polls": sim.stats()["vendors"]["zhipu"]["polls"] - polls_before,
    }


def rows_for(phases: dict[str, dict[str, Any]], speed: float) -> list[Row]:
    nowait, deferred, poked = phases["no-wait"], phases["deferrable"], phases["poke"]
    runs = deferred["runs"]
    job = deferred["job_seconds_wall"]
    limit = WITHIN * (job + nowait["wall_s"])
    case = f"{runs} runs every {ARRIVAL:g} s, 60 s jobs at speed {speed:g} ({job:g} s)"
    failed = sum(p["failed_runs"] for p in phases.values())
    return [
        Row(NAME, case, "wall time, no wait (scheduling overhead)", nowait["wall_s"], "s", note="1 run"),
        Row(
            NAME,
            case,
            "wall time, deferrable sensor",
            deferred["wall_s"],
            "s",
            "deferrable=False (poke)",
            poked["wall_s"],
            f"<= {WITHIN}x (job + overhead) = {limit:.0f} s",
            at_most(deferred["wall_s"], limit) and failed == 0,
            note="1 repetition each",
        ),
        Row(NAME, case, "failed DAG runs (all phases)", float(failed), "", target="0", met=failed == 0),
    ]


def run(settings: Settings) -> BenchResult:
    runs = settings.pick(RUNS, 3)
    speed = settings.pick(SPEED, 12.0)
    result = BenchResult(NAME)
    result.details = {"runs": runs, "speed": speed, "job_seconds_simulated": JOB_SECONDS, "phases": {}}
    sim_args = ("--seed", "1", "--speed", str(speed))
    with simulator(*sim_args) as sim, s3_server() as s3:
        s3.make_bucket(BUCKET)
        sim.config({"cogview_images": {"count": 1}})
        env = {**sim.connection_env(), "AIRFLOW_CONN_AWS_DEFAULT": s3.connection_json()}
        with airflow_stack(env) as stack:
            plan = (("no-wait", True, 0.0), ("deferrable", True, JOB_SECONDS), ("poke", False, JOB_SECONDS))
            for name, deferrable, seconds in plan:
                result.details["phases"][name] = phase(
                    stack, sim, name, deferrable=deferrable, job_seconds=seconds, runs=runs
                )
    result.rows += rows_for(result.details["phases"], speed)
    return result
