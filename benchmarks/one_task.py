"""Benchmark 6: what one job costs the workers, one task (``CogViewToS3Operator``) vs the chain.

One real Airflow deployment (``airflow_stack``: scheduler with LocalExecutor, triggerer,
dag-processor, api-server) runs the same jobs two ways, one phase after the other:

- ``chain``: submit >> AigcJobSensor (deferrable) >> AigcArchiveToS3Operator (``bench_dag``);
- ``one-task``: ``CogViewToS3Operator``, which submits, defers and archives in one task.

Each job takes long enough that every wait defers. Per job we count

- **worker process starts**: task processes the executor's workers started (a task's first run
  and each resume after a deferral), recorded by a listener plugin in each task process
  (``on_task_instance_running`` fires once per task process);
- **worker CPU-seconds**: user + system CPU of the LocalExecutor worker processes *and* the task
  processes they forked and reaped (``/proc/<pid>/stat`` utime, stime, cutime, cstime), read
  before and after each phase while the workers are idle. The scheduler, triggerer and the
  servers are not counted.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.airflow_stack import airflow_stack
from benchmarks.common import SCRATCH, s3_server, simulator
from benchmarks.report import BenchResult, Row, at_most, ratio

if TYPE_CHECKING:
    from benchmarks.airflow_stack import AirflowStack
    from benchmarks.common import Settings, Simulator

NAME = "one_task"
BUCKET = "aigc-bench-one-task"
JOB_SECONDS = 180.0  # simulated; long enough that every wait defers, the chain's too
TARGET = 0.6  # one task's figures per job, at most this share of the chain's
RUNS = 6
SPEED = 8.0
ARRIVAL = 3.0
PICK_UP = 15.0  # seconds for the dag-processor to find and parse a new file
WORKER_TITLE = "airflow worker -- LocalExecutor"
STARTS_ENV = "AIGC_BENCH_TASK_STARTS"
PLUGIN = '''"""Benchmark 6 (benchmarks/one_task.py): one line per task process start."""

import os

from airflow.listeners import hookimpl
from airflow.plugins_manager import AirflowPlugin


class TaskStarts:
    @hookimpl
    def on_task_instance_running(self, previous_state, task_instance):
        path = os.environ.get("@ENV@")
        if path:
            with open(path, "a", encoding="utf-8") as out:
                out.write(f"{os.getpid()} {task_instance.dag_id} {task_instance.task_id}\\n")


class TaskStartsPlugin(AirflowPlugin):
    name = "aigc_bench_task_starts"
    listeners = [TaskStarts()]
'''.replace("@ENV@", STARTS_ENV)
# Each file names "airflow" and "dag": the dag-processor's safe mode skips files that do not.
CHAIN_FILE = '''"""airflow DAG of benchmark 6, the chain (benchmarks/one_task.py, benchmarks/bench_dag.py)."""

from benchmarks.bench_dag import make_dag

dag = make_dag(
    {dag_id!r}, deferrable=True, runs={runs!r}, every={every!r}, start_epoch={start!r},
    poll_interval={poll!r}, bucket={bucket!r},
)
'''
ONE_TASK_FILE = '''"""airflow DAG of benchmark 6 (benchmarks/one_task.py): the chain's schedule, one task."""

from datetime import datetime, timedelta, timezone

from airflow.sdk import DAG

from airflow_provider_aigc.operators.generate import CogViewToS3Operator

start = datetime.fromtimestamp({start!r}, tz=timezone.utc)
with DAG(
    dag_id={dag_id!r},
    schedule=timedelta(seconds={every!r}),
    start_date=start,
    end_date=start + timedelta(seconds={every!r} * ({runs!r} - 1)),
    catchup=True,
    max_active_runs={runs!r},
    default_args={{"retries": 0}},
    tags=["aigc-benchmark"],
):
    CogViewToS3Operator(
        task_id="generate",
        query="benchmark {{{{ run_id }}}}",
        s3_bucket={bucket!r},
        s3_key_prefix={dag_id!r} + "/{{{{ run_id }}}}",
        poll_interval={poll!r},
        timeout=3600,
    )
'''
PHASES = (("chain", CHAIN_FILE), ("one-task", ONE_TASK_FILE))


def cpu_seconds(pid: int) -> float:
    """utime + stime + cutime + cstime of ``pid`` (its reaped children included), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(value) for value in fields[11:15])  # stat fields 14-17, after pid and comm
    return ticks / os.sysconf("SC_CLK_TCK")


def workers(stack: AirflowStack) -> dict[int, str]:
    """The LocalExecutor's worker processes (children of the scheduler) and their titles."""
    scheduler = stack.processes["scheduler"].pid
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, IndexError, ValueError):
            continue
        if parent == scheduler and title.startswith(WORKER_TITLE):
            found[int(entry.name)] = title
    return found


def idle_worker_cpu(stack: AirflowStack, timeout: float = 120.0) -> dict[int, float]:
    """CPU-seconds of each worker, once every worker is idle (its last task process reaped)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = workers(stack)
        if all(title.endswith("<idle>") for title in current.values()):
            return {pid: cpu_seconds(pid) for pid in current}
        time.sleep(0.5)
    raise TimeoutError("the LocalExecutor workers did not become idle")


def phase(
    stack: AirflowStack, sim: Simulator, name: str, *, dag_file: str, runs: int, speed: float, starts: Path
) -> dict[str, Any]:
    dag_id = f"bench_{name.replace('-', '_')}"
    poll = 5.0 / speed
    start = time.time() + PICK_UP
    fields = {
        "dag_id": dag_id,
        "runs": runs,
        "every": ARRIVAL,
        "start": start,
        "poll": poll,
        "bucket": BUCKET,
    }
    submissions = sim.stats()["vendors"]["zhipu"]["submissions"]["count"]
    before = idle_worker_cpu(stack)
    (stack.dags / f"{dag_id}.py").write_text(dag_file.format(**fields), encoding="utf-8")
    finished = stack.wait_for_runs(dag_id, runs, timeout=runs * (JOB_SECONDS / speed + 60) + 600)
    after = idle_worker_cpu(stack)
    if set(before) - set(after):
        # A worker that exited took its CPU figures with it (LocalExecutor keeps them for life).
        raise RuntimeError(f"worker processes exited during {name}: {sorted(set(before) - set(after))}")
    lines = [line.split() for line in starts.read_text().splitlines()] if starts.exists() else []
    process_starts = sum(1 for line in lines if len(line) == 3 and line[1] == dag_id)
    cpu = sum(after[pid] - before.get(pid, 0.0) for pid in after)  # workers start on demand
    return {
        "dag_id": dag_id,
        "runs": runs,
        "failed_runs": sum(state != "success" for state, _, _ in finished),
        "jobs_bought": sim.stats()["vendors"]["zhipu"]["submissions"]["count"] - submissions,
        "worker_process_starts": process_starts,
        "worker_cpu_s": round(cpu, 3),
        "starts_per_job": process_starts / runs,
        "cpu_s_per_job": cpu / runs,
    }


def rows_for(phases: dict[str, dict[str, Any]], speed: float) -> list[Row]:
    chain, one = phases["chain"], phases["one-task"]
    case = f"{one['runs']} CogView jobs each way, {JOB_SECONDS:g} s jobs at speed {speed:g}"
    failed = chain["failed_runs"] + one["failed_runs"]
    ok = failed == 0 and chain["jobs_bought"] == one["jobs_bought"] == one["runs"]
    rows = []
    for metric, key, unit in (
        ("worker process starts per job", "starts_per_job", ""),
        ("worker CPU-seconds per job", "cpu_s_per_job", "s"),
    ):
        share = ratio(one[key], chain[key])
        rows.append(
            Row(
                NAME,
                case,
                metric + ", one task",
                one[key],
                unit,
                "submit >> sensor >> archive",
                chain[key],
                f"<= {TARGET}x the chain",
                ok and bool(at_most(share, TARGET)),
                note="same deployment, one phase each",
            )
        )
    rows.append(
        Row(NAME, case, "failed DAG runs (both phases)", float(failed), "", target="0", met=failed == 0)
    )
    return rows


def run(settings: Settings) -> BenchResult:
    runs = settings.pick(RUNS, 2)
    speed = settings.pick(SPEED, 12.0)
    result = BenchResult(NAME)
    result.details = {"runs": runs, "speed": speed, "job_seconds_simulated": JOB_SECONDS, "phases": {}}
    plugins = SCRATCH / "one_task_plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    (plugins / "aigc_bench_task_starts.py").write_text(PLUGIN, encoding="utf-8")
    starts = SCRATCH / "one_task_starts.txt"
    starts.unlink(missing_ok=True)
    with simulator("--seed", "1", "--speed", str(speed)) as sim, s3_server() as s3:
        s3.make_bucket(BUCKET)
        sim.config({"cogview_images": {"count": 1}, "latency": {"cogview": JOB_SECONDS}})
        env = {
            **sim.connection_env(),
            "AIRFLOW_CONN_AWS_DEFAULT": s3.connection_json(),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins),
            STARTS_ENV: str(starts),
        }
        with airflow_stack(env) as stack:
            for name, dag_file in PHASES:
                result.details["phases"][name] = phase(
                    stack, sim, name, dag_file=dag_file, runs=runs, speed=speed, starts=starts
                )
    result.rows += rows_for(result.details["phases"], speed)
    return result
