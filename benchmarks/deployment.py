"""Benchmark 7: what waiting costs at deployment scale, the deferrable chain vs the sensor modes.

tests/deploy's distributed deployment (PostgreSQL, Redis, api-server, scheduler, dag-processor,
two triggerers, two Celery workers with 4 slots each, simulator, moto S3) is started once; the
same batch of CogView jobs (each takes ``JOB_SECONDS`` at the simulator) then runs three times,
one phase after the other (``benchmarks/deploy_dag.py``): the sensor deferrable, in
``reschedule`` mode and in ``poke`` mode. Per phase, with the workers idle before and after:

- **worker process starts**: Celery tasks the workers ran (rows added to the result backend's
  ``celery_taskmeta``: one per task process); the task processes seen by the sampler, alongside;
- **worker CPU-seconds**: user + system CPU of each worker's process tree, reaped children
  included (psutil ``cpu_times``), after - before;
- **worker-slot seconds**: a sampler (every ``SAMPLE_S``) counts the Celery pool processes that
  have a task process; the integral over the phase is the slot time the batch held;
- **triggerer CPU per wait-minute**: CPU of both triggerers' process trees, net of their idle
  rate (measured before the phases), per minute of waits deferred to them (the run's deferred
  sensors, read from the database every 2 s). *Steady*: from one poll interval after every wait
  is deferred until the first job finishes, what the single-process benchmark measures; *whole
  phase*: with each trigger's start, first poll and event;
- **archived**: complete manifests in S3 (tests/deploy/checks.py) per job, one purchase per prompt.

A fourth phase, ``hold``, measures the triggerers' steady state alone, where the target applies:
``HOLD_JOBS`` waits held deferred, polling at the reference's interval, for one window between two
windows holding none; CPU per poll (the simulator's count) net of the mean of those two, x polls a
minute at ``POLL_INTERVAL``. The phases' own steady windows are ~36 s in which 12 waits at 15 s
polls add ~1 ms/s, against the supervisors' noise of a few ms/s: shown, not judged.

An unmeasured warm-up batch (jobs that finish at once) runs first, so no phase pays the pool
processes' first tasks. The triggerer's reference is the single-process trigger benchmark
(``benchmarks.trigger_worker``, variant ``aigc``) run in the same process run, before the
deployment starts, at the same N (``JOBS`` for the phases, ``HOLD_JOBS`` for ``hold``): CPU per
poll net of its idle loop (a session with no waits), times polls per minute at the deployment's
poll interval.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import psutil

from benchmarks.common import SCRATCH, Worker, simulator, submit_cogview
from benchmarks.deploy_dag import HOLD, MODES, dag_id
from benchmarks.report import BenchResult, Row, at_least, at_most, median, ratio
from benchmarks.trigger_polling import INTERVAL as REFERENCE_INTERVAL

if TYPE_CHECKING:
    from collections.abc import Sequence

    from benchmarks.common import Settings
    from tests.deploy.deployment import Deployment

NAME = "deployment"
JOB_SECONDS = 60.0
POLL_INTERVAL = 15.0  # CogView's documented poll interval, the same in every mode
JOBS = 12
SAMPLE_S = 0.25
IDLE_S = 30.0
RUN_TIMEOUT = 1200.0
SLOT_TARGET = 0.2  # deferrable chain's worker-slot time, at most this share of poke mode's
TRIGGERER_TARGET = 1.5  # triggerer CPU per wait-minute, at most this multiple of one process's
REFERENCE_WINDOW = 10.0  # seconds per measured window of the single-process reference
WAITING_STATES = ("deferred", "up_for_reschedule", "running")  # a sensor waiting, in any mode
WORKER_NAMES = ("worker-1", "worker-2")
TRIGGERER_NAMES = ("triggerer-1", "triggerer-2")
HOLD_POLL_INTERVAL = REFERENCE_INTERVAL  # polls like the reference, so the costs per poll compare directly
HOLD_JOBS = 48  # waits held in the steady-state phase: enough polls to stand out of the supervisors' noise
HOLD_WINDOW_S = 90.0  # each of its three windows: no waits, waits held, no waits
HOLD_DEFER_S = 120.0  # at most this long from the run's start until every wait is deferred
DAG_FILE = '''"""airflow DAGs of benchmark 7 (benchmarks/deployment.py, benchmarks/deploy_dag.py)."""

from benchmarks.deploy_dag import HOLD, MODES, build

for mode in MODES:
    globals()["dag_" + mode] = build(mode, jobs={jobs!r}, poll_interval={poll!r})
dag_hold = build(HOLD, jobs={hold_jobs!r}, poll_interval={hold_poll!r})
'''


# -- numbers (pure, tested in tests/unit/test_deployment_bench.py) ------------------------------------
def integrate(samples: Sequence[tuple[float, float]]) -> float:
    """The time integral of a step function given as ``(time, value)`` samples (value held until the next)."""
    ordered = sorted(samples)
    return sum(value * (later - now) for (now, value), (later, _) in itertools.pairwise(ordered))


def per_wait_minute(cpu_s: float | None, wait_seconds: float) -> float | None:
    """CPU-seconds per minute of one wait; None when nothing waited."""
    if cpu_s is None or wait_seconds <= 0:
        return None
    return cpu_s / (wait_seconds / 60.0)


def net_of_idle(cpu_s: float, idle_rate: float, seconds: float) -> float:
    """CPU beyond what the component burns idle over the same time (negative: within the idle noise)."""
    return cpu_s - idle_rate * seconds


def reference_cpu_per_poll(windows: Sequence[dict[str, Any]], idle: Sequence[dict[str, Any]]) -> float | None:
    """The single process's CPU-seconds per poll, net of its idle windows (no waits: the loop alone).

    Median over the windows of (CPU - the idle windows' median CPU rate x window) / polls.
    """
    idle_rate = median(w["cpu_s"] / w["window_s"] for w in idle) or 0.0
    return median(
        net_of_idle(w["cpu_s"], idle_rate, w["window_s"]) / w["polls"] if w["polls"] else None
        for w in windows
    )


def held_per_poll(
    before: dict[str, float], held: dict[str, float], after: dict[str, float], part: str
) -> float | None:
    """CPU-seconds per poll of `part` while the waits were held, net of the windows holding none.

    Each window: ``{part}_cpu_per_s`` and ``polls_per_s`` (the simulator's count); the baseline is
    the mean of the windows before and after, so a drift of the machine's load cancels out.
    """
    if held["polls_per_s"] <= 0:
        return None
    baseline = (before[f"{part}_cpu_per_s"] + after[f"{part}_cpu_per_s"]) / 2
    return (held[f"{part}_cpu_per_s"] - baseline) / held["polls_per_s"]


def steady_window(
    samples: Sequence[tuple[float, float, float]], waits: int, settle: float
) -> tuple[float, float] | None:
    """``(seconds, CPU-seconds)`` between `settle` s after all `waits` were deferred and the first finishing.

    `samples` are ``(time, waits deferred, CPU so far)``; None when that stretch is empty.
    """
    ordered = sorted(samples)
    first = next((i for i, (_, deferred, _) in enumerate(ordered) if deferred >= waits), None)
    if first is None:
        return None
    run = list(itertools.takewhile(lambda sample: sample[1] >= waits, ordered[first:]))
    steady = [(at, cpu) for at, _, cpu in run if at >= run[0][0] + settle]
    if len(steady) < 2:
        return None
    return steady[-1][0] - steady[0][0], steady[-1][1] - steady[0][1]


@dataclass
class Snapshot:
    """CPU-seconds of the measured process trees at one moment, and the roots they were read from."""

    at: float
    worker_cpu: float
    triggerer_cpu: float
    runner_cpu: float  # the triggerers' trigger-runner subprocesses alone
    roots: tuple[int, ...]
    celery_tasks: int


@dataclass
class Sampler:
    """A thread that samples the Celery pool processes' occupation every ``SAMPLE_S`` seconds."""

    worker_pids: tuple[int, ...]
    busy: list[tuple[float, float]] = field(default_factory=list)
    task_pids: set[int] = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> int:
        """Pool processes with a task process now (and remember the task processes seen)."""
        held = 0
        for pid in self.worker_pids:
            try:
                pools = psutil.Process(pid).children()
            except psutil.NoSuchProcess:
                continue
            for pool in pools:
                try:
                    tasks = pool.children()
                except psutil.NoSuchProcess:
                    continue
                held += bool(tasks)
                self.task_pids.update(task.pid for task in tasks)
        return held

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.busy.append((time.monotonic(), float(self.sample())))
            self._stop.wait(SAMPLE_S)

    def __enter__(self) -> Sampler:
        self._thread = threading.Thread(target=self._loop, name="slot-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.busy.append((time.monotonic(), float(self.sample())))


# -- measuring the deployment -----------------------------------------------------------------------
def tree_cpu(pid: int) -> float:
    """user + system CPU of ``pid`` and its descendants, reaped children included."""
    root = psutil.Process(pid)
    total = 0.0
    for process in (root, *root.children(recursive=True)):
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def descendants_cpu(pid: int) -> float:
    """user + system CPU of ``pid``'s descendants only: a triggerer's trigger-runner subprocess.

    Airflow 3's triggerer is a supervisor (the database loop: claiming triggers, heartbeats,
    events) that forks the runner, the event loop in which the triggers themselves run.
    """
    return tree_cpu(pid) - float(sum(psutil.Process(pid).cpu_times()[:2]))


def celery_tasks(deploy: Deployment) -> int:
    """Rows in the Celery result backend: one per task the workers ran (0 before the first)."""
    try:
        return int(deploy.query("SELECT count(*) FROM celery_taskmeta")[0][0])
    except Exception as error:  # the table is created with the first result
        if "celery_taskmeta" in str(error):
            return 0
        raise


def snapshot(deploy: Deployment) -> Snapshot:
    workers = tuple(deploy[name].pid for name in WORKER_NAMES)
    triggerers = tuple(deploy[name].pid for name in TRIGGERER_NAMES)
    return Snapshot(
        at=time.monotonic(),
        worker_cpu=sum(tree_cpu(pid) for pid in workers),
        triggerer_cpu=sum(tree_cpu(pid) for pid in triggerers),
        runner_cpu=sum(descendants_cpu(pid) for pid in triggerers),
        roots=workers + triggerers,
        celery_tasks=celery_tasks(deploy),
    )


def wait_idle(deploy: Deployment, timeout: float = 120.0) -> None:
    """Until no Celery pool process has a task process (all reaped, their CPU in the figures)."""
    sampler = Sampler(tuple(deploy[name].pid for name in WORKER_NAMES))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sampler.sample() == 0:
            return
        time.sleep(0.5)
    raise TimeoutError("the Celery workers did not become idle")


def idle_rates(deploy: Deployment, seconds: float) -> dict[str, float]:
    """CPU-seconds per second of the workers and the triggerers with nothing to do."""
    wait_idle(deploy)
    before = snapshot(deploy)
    time.sleep(seconds)
    after = snapshot(deploy)
    elapsed = after.at - before.at
    return {
        "seconds": elapsed,
        "worker_cpu_per_s": (after.worker_cpu - before.worker_cpu) / elapsed,
        "triggerer_cpu_per_s": (after.triggerer_cpu - before.triggerer_cpu) / elapsed,
    }


def sensor_states(deploy: Deployment, run_id: str, dag: str) -> dict[str, int]:
    rows = deploy.query(
        "SELECT state, count(*) FROM task_instance WHERE dag_id = %s AND run_id = %s AND task_id = 'wait' "
        "GROUP BY state",
        dag,
        run_id,
    )
    return {str(state): int(count) for state, count in rows}


def phase(deploy: Deployment, mode: str, jobs: int, idle: dict[str, float]) -> dict[str, Any]:
    """Run the batch once with the sensor in ``mode``; the raw figures of the phase."""
    from tests.deploy.airflow_api import trigger_run, wait_for_run

    dag = dag_id(mode)
    triggerers = tuple(deploy[name].pid for name in TRIGGERER_NAMES)
    wait_idle(deploy)
    before = snapshot(deploy)
    deferred: list[tuple[float, float]] = []
    waiting: list[tuple[float, float]] = []
    triggered: list[tuple[float, float, float]] = []  # (time, waits deferred, triggerer CPU so far)
    ran: list[tuple[float, float, float]] = []  # (time, waits deferred, trigger-runner CPU so far)

    def observe() -> None:
        states = sensor_states(deploy, run_id, dag)
        now = time.monotonic()
        deferred.append((now, float(states.get("deferred", 0))))
        waiting.append((now, float(sum(states.get(s, 0) for s in WAITING_STATES))))
        triggered.append((now, deferred[-1][1], sum(tree_cpu(pid) for pid in triggerers)))
        ran.append((now, deferred[-1][1], sum(descendants_cpu(pid) for pid in triggerers)))

    with Sampler(tuple(deploy[name].pid for name in WORKER_NAMES)) as sampler:
        run_id = trigger_run(deploy, dag, mode)
        state = wait_for_run(deploy, dag, run_id, RUN_TIMEOUT, observe=observe)
        observe()
        wait_idle(deploy)
    after = snapshot(deploy)
    if after.roots != before.roots:
        raise RuntimeError(f"{mode}: a worker or triggerer was restarted during the phase")
    seconds = after.at - before.at
    triggerer_cpu = after.triggerer_cpu - before.triggerer_cpu
    steady = steady_window(triggered, jobs, POLL_INTERVAL)
    steady_runner = steady_window(ran, jobs, POLL_INTERVAL)
    return {
        "mode": mode,
        "jobs": jobs,
        "state": state,
        "seconds": seconds,
        "worker_process_starts": after.celery_tasks - before.celery_tasks,
        "task_processes_sampled": len(sampler.task_pids),
        "worker_cpu_s": after.worker_cpu - before.worker_cpu,
        "worker_slot_s": integrate(sampler.busy),
        "peak_slots_held": max((value for _, value in sampler.busy), default=0.0),
        "triggerer_cpu_s": triggerer_cpu,
        "runner_cpu_s": after.runner_cpu - before.runner_cpu,
        "idle_triggerer_cpu_per_s": idle["triggerer_cpu_per_s"],
        "deferred_wait_s": integrate(deferred),
        "sensor_wait_s": integrate(waiting),
        "peak_deferred": max((value for _, value in deferred), default=0.0),
        "steady_s": steady[0] if steady else None,
        "steady_triggerer_cpu_s": steady[1] if steady else None,
        "steady_runner_s": steady_runner[0] if steady_runner else None,
        "steady_runner_cpu_s": steady_runner[1] if steady_runner else None,
        **outcome(deploy, dag, run_id),
    }


def outcome(deploy: Deployment, dag: str, run_id: str) -> dict[str, Any]:
    """What a finished run left: its archives in S3, its purchases per prompt, its task instances."""
    from tests.deploy.scenarios.common import outcome as run_outcome

    found = run_outcome(deploy, dag, run_id)
    return {
        "manifests": found.archives.manifests,
        "archive_problems": found.archives.problems[:5],
        "prompts_bought": len(found.bought),
        "jobs_bought": sum(found.bought.values()),
        "max_purchases_per_prompt": max(found.bought.values(), default=0),
        "task_instances": len(found.tries),
        "retried_tasks": sum(t.try_number > 1 for t in found.tries),
        "failed_tasks": found.failed,
    }


def cogview_polls(deploy: Deployment) -> int:
    from tests.deploy.checks import sim_call

    return int(sim_call(deploy, "/_sim/stats")["vendors"]["zhipu"]["polls"])


def window(deploy: Deployment, seconds: float) -> dict[str, float]:
    """Both triggerers' CPU rates over `seconds`, supervisors and runners apart, and the polls made."""
    pids = tuple(deploy[name].pid for name in TRIGGERER_NAMES)

    def read() -> tuple[float, float, float, int]:
        runner = sum(descendants_cpu(pid) for pid in pids)
        return time.monotonic(), sum(tree_cpu(pid) for pid in pids) - runner, runner, cogview_polls(deploy)

    start = read()
    time.sleep(seconds)
    end = read()
    elapsed = end[0] - start[0]
    return {
        "seconds": elapsed,
        "supervisor_cpu_per_s": (end[1] - start[1]) / elapsed,
        "runner_cpu_per_s": (end[2] - start[2]) / elapsed,
        "triggerer_cpu_per_s": (end[1] + end[2] - start[1] - start[2]) / elapsed,
        "polls_per_s": (end[3] - start[3]) / elapsed,
    }


def hold(deploy: Deployment, jobs: int, seconds: float) -> dict[str, Any]:
    """The triggerers' steady state alone: a window holding no waits, one holding `jobs` waits
    deferred (every poll a status call, nothing starting or ending), and one holding none again.

    The jobs outlast the deferral and the held window at the simulator, then finish and are archived.
    """
    from tests.deploy.airflow_api import trigger_run, wait_for_run
    from tests.deploy.checks import sim_call

    dag = dag_id(HOLD)
    triggerers = tuple(deploy[name].pid for name in TRIGGERER_NAMES)
    wait_idle(deploy)
    before = window(deploy, seconds)
    outlast = HOLD_DEFER_S + 2 * HOLD_POLL_INTERVAL + seconds  # deferral, settling, the held window
    sim_call(deploy, "/_sim/config", {"latency": {"cogview": outlast}})
    run_id = trigger_run(deploy, dag, HOLD)
    deadline = time.monotonic() + HOLD_DEFER_S
    while sensor_states(deploy, run_id, dag).get("deferred", 0) < jobs:
        if time.monotonic() > deadline:
            raise RuntimeError(f"hold: not every wait deferred in {HOLD_DEFER_S:g} s")
        time.sleep(1.0)
    time.sleep(2 * HOLD_POLL_INTERVAL)  # every trigger past its first poll
    held = window(deploy, seconds)
    if sensor_states(deploy, run_id, dag).get("deferred", 0) < jobs:
        raise RuntimeError("hold: a wait ended during the held window")
    state = wait_for_run(deploy, dag, run_id, RUN_TIMEOUT)
    sim_call(deploy, "/_sim/config", {"latency": {"cogview": JOB_SECONDS}})
    wait_idle(deploy)
    after = window(deploy, seconds)
    if tuple(deploy[name].pid for name in TRIGGERER_NAMES) != triggerers:
        raise RuntimeError("hold: a triggerer was restarted during the phase")
    return {
        "jobs": jobs,
        "state": state,
        "poll_interval_s": HOLD_POLL_INTERVAL,
        "windows": {"before": before, "held": held, "after": after},
        **outcome(deploy, dag, run_id),
    }


def warm_up(deploy: Deployment) -> None:
    """One unmeasured batch whose jobs finish at once, so no phase pays the workers' first tasks."""
    from tests.deploy.airflow_api import trigger_run, wait_for_run
    from tests.deploy.checks import sim_call

    sim_call(deploy, "/_sim/config", {"latency": {"cogview": 1.0}})
    dag = dag_id("poke")
    wait_for_run(deploy, dag, trigger_run(deploy, dag, "warmup"), RUN_TIMEOUT)
    sim_call(deploy, "/_sim/config", {"latency": {"cogview": JOB_SECONDS}})


def reference(jobs: int, windows: int) -> dict[str, Any]:
    """The single-process trigger benchmark (variant ``aigc``) at this N: CPU per poll, net of its idle loop.

    Polls every ``REFERENCE_INTERVAL`` (the benchmark's own) for enough polls per window; a wait's
    steady cost is per poll, so per wait-minute at the deployment's interval is that x polls a minute.
    """
    from benchmarks.trigger_polling import summarize

    with simulator("--seed", "7", "--latency", "cogview=86400") as sim:
        job_ids = submit_cogview(sim.url, jobs)
        worker = Worker("benchmarks.trigger_worker", {**sim.connection_env()})
        try:
            worker.call({"op": "ping", "variant": "aigc"}, timeout=120)
            command = {
                "op": "run",
                "variant": "aigc",
                "interval": REFERENCE_INTERVAL,
                "window": REFERENCE_WINDOW,
                "windows": windows,
                "sim_url": sim.url,
            }
            idle = worker.call({**command, "jobs": []}, timeout=900)
            session = worker.call({**command, "jobs": job_ids}, timeout=900)
        finally:
            worker.close()
    per_poll = reference_cpu_per_poll(session["windows"], idle["windows"])
    return {
        "n": jobs,
        "interval_s": REFERENCE_INTERVAL,
        "cpu_ms_per_poll_gross": summarize({**session, "simulator_busy": None})["cpu_ms_per_poll"],
        "cpu_ms_per_poll_net": None if per_poll is None else 1000 * per_poll,
        "cpu_s_per_wait_minute": None if per_poll is None else per_poll * 60.0 / POLL_INTERVAL,
        "windows": session["windows"],
        "idle_windows": idle["windows"],
    }


# -- the table --------------------------------------------------------------------------------------
def per_job(phase_figures: dict[str, Any], key: str) -> float:
    return float(phase_figures[key]) / int(phase_figures["jobs"])


def triggerer_baseline(phases: dict[str, dict[str, Any]], key: str = "triggerer_cpu_s") -> float:
    """Both triggerers' CPU-seconds per second in the sensor-mode phases: nothing deferred.

    The same DAG activity and machine load as the deferrable phase, over minutes rather than
    the short idle window before the phases.
    """
    quiet = [phases[mode] for mode in ("reschedule", "poke")]
    return float(sum(p[key] for p in quiet) / sum(p["seconds"] for p in quiet))


def steady_per_wait_minute(
    deferrable: dict[str, Any], baseline: float, part: str = "triggerer"
) -> float | None:
    """The deferrable phase's steady-state CPU of `part` beyond `baseline`, per wait-minute.

    `part`: ``triggerer`` (whole process trees) or ``runner`` (the trigger-runner subprocesses).
    """
    seconds = deferrable.get("steady_s" if part == "triggerer" else "steady_runner_s")
    if seconds is None:
        return None
    net = net_of_idle(deferrable[f"steady_{part}_cpu_s"], baseline, seconds)
    return per_wait_minute(net, deferrable["jobs"] * seconds)


def held_rows(held: dict[str, Any], ref: dict[str, Any]) -> list[Row]:
    """The triggerers' steady state (``hold``) per wait-minute at ``POLL_INTERVAL``, against the
    single-process reference at the same N and poll interval; the target is on the whole triggerer."""
    case = f"{held['jobs']} CogView waits held deferred, {held['poll_interval_s']:g} s polls, 2 triggerers"
    comparison = f"one process, AigcJobTrigger, N={ref['n']}"
    reference_figure = ref["cpu_s_per_wait_minute"]
    windows = held["windows"]
    note = (
        f"{windows['held']['seconds']:.0f} s windows: none held, {held['jobs']} held, none held; net of the "
        f"mean of the two; per poll (simulator's count) x {60 / POLL_INTERVAL:g} polls a minute"
    )
    rows = []
    for part, label, extra in (
        ("triggerer", "whole triggerer", ""),
        ("runner", "trigger runner", "; the event loop the triggers run in"),
        ("supervisor", "supervisor", "; Airflow's database loop"),
    ):
        per_poll = held_per_poll(windows["before"], windows["held"], windows["after"], part)
        figure = None if per_poll is None else per_poll * 60.0 / POLL_INTERVAL
        target = part == "triggerer"
        rows.append(
            Row(
                NAME,
                case,
                f"triggerer CPU per wait-minute, held steady, {label}",
                figure,
                "s",
                comparison,
                reference_figure,
                f"<= {TRIGGERER_TARGET}x" if target else "",
                at_most(ratio(figure, reference_figure), TRIGGERER_TARGET) if target else None,
                note=note + extra,
            )
        )
    return rows


def rows_for(phases: dict[str, dict[str, Any]], ref: dict[str, Any]) -> list[Row]:
    """Per-job figures of each mode, their ratios to ``poke`` mode, the triggerer and the archives.

    `phases` may hold ``hold``, the steady-state phase; it counts in the archive row only.
    """
    jobs = phases["poke"]["jobs"]
    case = f"{jobs} CogView jobs, {JOB_SECONDS:g} s each, Celery 2x4 slots, 2 triggerers"
    poke = phases["poke"]
    rows: list[Row] = []
    metrics = (
        ("worker-slot seconds per job", "worker_slot_s", "s"),
        ("worker process starts per job", "worker_process_starts", ""),
        ("worker CPU-seconds per job", "worker_cpu_s", "s"),
    )
    for metric, key, unit in metrics:
        for mode in ("deferrable", "reschedule"):
            ours, theirs = per_job(phases[mode], key), per_job(poke, key)
            target = key == "worker_slot_s" and mode == "deferrable"
            rows.append(
                Row(
                    NAME,
                    case,
                    f"{metric}, {mode}",
                    ours,
                    unit,
                    "sensor mode=poke",
                    theirs,
                    f"<= {SLOT_TARGET}x" if target else "",
                    at_most(ratio(ours, theirs), SLOT_TARGET) if target else None,
                    note="same run, one phase each",
                )
            )
    deferrable = phases["deferrable"]
    reference_figure = ref["cpu_s_per_wait_minute"]
    comparison = f"one process, AigcJobTrigger, N={ref['n']}"
    baseline = triggerer_baseline(phases)
    steady = steady_per_wait_minute(deferrable, baseline)
    rows.append(
        Row(
            NAME,
            case,
            "triggerer CPU per wait-minute, steady, net of baseline",
            steady,
            "s",
            comparison,
            reference_figure,
            note=f"{POLL_INTERVAL:g} s polls, the phase's ~36 s with all {jobs} deferred: the waits add ~1 "
            "ms/s against the supervisors' noise of a few ms/s; the target is judged on the held phase"
            + ("" if steady is None or steady > 0 else "; below the baseline's noise"),
        )
    )
    runner = steady_per_wait_minute(deferrable, triggerer_baseline(phases, "runner_cpu_s"), "runner")
    rows += [
        Row(NAME, case, "triggerer CPU per wait-minute, steady, trigger runner, net of baseline", runner,
            "s", comparison, reference_figure,
            note="the runner subprocesses alone: the event loop the triggers run in, what the "
            "single-process benchmark measures"),
        Row(NAME, case, "triggerer CPU per wait-minute, steady, supervisor, net of baseline",
            None if steady is None or runner is None else steady - runner, "s", comparison,
            reference_figure, note="Airflow's database loop (claiming, heartbeats): the rest"),
    ]  # fmt: skip
    before = steady_per_wait_minute(deferrable, deferrable["idle_triggerer_cpu_per_s"])
    whole = per_wait_minute(
        net_of_idle(deferrable["triggerer_cpu_s"], baseline, deferrable["seconds"]),
        deferrable["deferred_wait_s"],
    )
    rows += [
        Row(NAME, case, "triggerer CPU per wait-minute, steady, net of idle before", before, "s",
            comparison, reference_figure, note="idle rate from a window before the phases"),
        Row(NAME, case, "triggerer CPU per wait-minute, whole phase, net of baseline", whole, "s",
            comparison, reference_figure, note="with each trigger's start, first poll and event"),
        Row(NAME, case, "triggerer CPU per wait-minute, whole phase, gross",
            per_wait_minute(deferrable["triggerer_cpu_s"], deferrable["deferred_wait_s"]), "s",
            comparison, reference_figure, note="with heartbeats and trigger claiming"),
        Row(NAME, case, "triggerer CPU per second, no waits held (reschedule, poke)", baseline, "s",
            "idle before the phases", deferrable["idle_triggerer_cpu_per_s"],
            note="both triggerers; sensor modes hold no waits in the triggerer"),
    ]  # fmt: skip
    archived = min(phase["manifests"] / phase["jobs"] for phase in phases.values())
    complete = all(
        not phase["archive_problems"] and phase["max_purchases_per_prompt"] == 1 for phase in phases.values()
    )
    rows.append(
        Row(
            NAME,
            case,
            "jobs archived (worst mode)",
            100 * archived,
            "%",
            target="100 %",
            met=bool(at_least(archived, 1.0)) and complete,
            note="complete manifests in S3; one purchase per prompt",
        )
    )
    return rows


def run(settings: Settings) -> BenchResult:
    from tests.deploy.deployment import deployment

    jobs = settings.pick(JOBS, 4)
    hold_jobs = settings.pick(HOLD_JOBS, 8)
    result = BenchResult(NAME)
    result.details = {
        "jobs": jobs,
        "job_seconds": JOB_SECONDS,
        "poll_interval_s": POLL_INTERVAL,
        "sample_s": SAMPLE_S,
        "phases": {},
    }
    result.details["reference"] = reference(jobs, settings.reps)
    result.details["hold_reference"] = reference(hold_jobs, settings.reps)
    dags = SCRATCH / "deployment_dags"
    dags.mkdir(parents=True, exist_ok=True)
    (dags / "aigc_bench_deployment.py").write_text(
        DAG_FILE.format(jobs=jobs, poll=POLL_INTERVAL, hold_jobs=hold_jobs, hold_poll=HOLD_POLL_INTERVAL),
        encoding="utf-8",
    )
    with deployment(SCRATCH / "deployment", dags_folder=dags) as deploy:
        warm_up(deploy)
        idle = idle_rates(deploy, settings.pick(IDLE_S, 15.0))
        result.details["idle"] = idle
        for mode in MODES:
            print(f"[deployment] phase {mode} ...", flush=True)
            result.details["phases"][mode] = phase(deploy, mode, jobs, idle)
        print(f"[deployment] phase {HOLD} ...", flush=True)
        result.details["phases"][HOLD] = hold(deploy, hold_jobs, settings.pick(HOLD_WINDOW_S, 30.0))
    result.rows += rows_for(result.details["phases"], result.details["reference"])
    result.rows += held_rows(result.details["phases"][HOLD], result.details["hold_reference"])
    return result
