"""Benchmark 4: status calls per job and detection delay, default poll schedule vs a fixed 1 s poll.

Time is compressed: both simulators run at ``--speed`` S (CogView's 240 s job takes 240/S s) and
every poll interval is divided by the same S, so calls per job are what they would be at full
scale and delays are reported scaled back to vendor seconds. The default schedule and the fixed
1 s schedule each get their own simulator (and worker), so each vendor's poll counter at the
simulator belongs to one schedule; Zhipu's two apps run one after the other for the same reason.
Detection delay = the moment the trigger fired - the moment the simulator finished the job
(``submitted_at`` + latency / S), both read from the same clock.
"""

from __future__ import annotations

import importlib
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from benchmarks.common import simulator, workers
from benchmarks.report import BenchResult, Row, at_most, median, ratio

if TYPE_CHECKING:
    from benchmarks.common import Settings, Simulator, Worker

NAME = "polling"
FIXED_INTERVAL = 1.0
FEWER_CALLS = 5.0  # the default schedule needs at least this many times fewer calls on CogView
PHASES: tuple[tuple[tuple[str, str], ...], ...] = (
    (("zhipu", "cogview"), ("baidu", "txt2imgv2"), ("jumdata", "ai_draw")),
    (("zhipu", "news_generate"),),
)


def default_interval(vendor: str, app: str) -> float:
    """The trigger's default poll interval for an app (the vendor module's ``DEFAULT_POLL_INTERVAL``)."""
    module = importlib.import_module(f"airflow_provider_aigc.vendors.{vendor}")
    return float(module.DEFAULT_POLL_INTERVAL[app])


def run_phase(
    sim: Simulator, worker: Worker, phase: tuple[tuple[str, str], ...], interval: dict[str, float], count: int
) -> dict[str, dict[str, Any]]:
    """Watch ``count`` jobs of each app of the phase; per app: calls per job and delays (vendor s)."""
    config = sim.current_config()
    speed = float(config["speed"])
    before = sim.stats()
    watches = [{"vendor": v, "app": a, "poll_interval": interval[a] / speed} for v, a in phase]
    fired = worker.call({"op": "watch", "watches": watches, "count": count}, timeout=900)["jobs"]
    after = sim.stats()
    out: dict[str, dict[str, Any]] = {}
    for vendor, app in phase:
        submitted = {j["job_id"]: j["submitted_at"] for j in after["vendors"][vendor]["submissions"]["jobs"]}
        latency = float(config["latency"][app]) / speed
        jobs = [job for job in fired if job["app"] == app]
        delays = [(job["fired_at"] - (submitted[job["job_id"]] + latency)) * speed for job in jobs]
        polls = after["vendors"][vendor]["polls"] - before["vendors"][vendor]["polls"]
        out[app] = {
            "interval_s": interval[app],
            "calls_per_job": polls / len(jobs),
            "delay_s": delays,
            "statuses": sorted({job["status"] for job in jobs}),
        }
    return out


def app_rows(app: str, ours: dict[str, Any], fixed: dict[str, Any]) -> list[Row]:
    case = f"{app} (default every {ours['interval_s']:g} s)"
    is_cogview = app == "cogview"
    worst, worst_fixed = max(ours["delay_s"]), max(fixed["delay_s"])
    return [
        Row(
            NAME,
            case,
            "status calls per job",
            ours["calls_per_job"],
            "",
            f"fixed {FIXED_INTERVAL:g} s poll",
            fixed["calls_per_job"],
            f"<= {1 / FEWER_CALLS:.1f}x ({FEWER_CALLS:g}x fewer)" if is_cogview else "",
            at_most(ratio(ours["calls_per_job"], fixed["calls_per_job"]), 1 / FEWER_CALLS)
            if is_cogview
            else None,
        ),
        Row(
            NAME,
            case,
            f"detection delay, worst of {len(ours['delay_s'])} (median {median(ours['delay_s']):.2f} s)",
            worst,
            "s",
            f"fixed {FIXED_INTERVAL:g} s poll",
            worst_fixed,
            f"<= {ours['interval_s']:g} s",
            at_most(worst, ours["interval_s"]),
        ),
    ]


def run(settings: Settings) -> BenchResult:
    speed = settings.pick(10.0, 20.0)
    count = settings.reps
    result = BenchResult(NAME)
    result.details = {"speed": speed, "jobs_per_app": count, "apps": {}}
    intervals = {
        "default": {app: default_interval(vendor, app) for phase in PHASES for vendor, app in phase},
        "fixed": {app: FIXED_INTERVAL for phase in PHASES for _, app in phase},
    }
    args = ("--seed", "1", "--speed", str(speed), "--concurrency", "baidu=0")
    with simulator(*args) as sim_default, simulator(*args) as sim_fixed:
        sims = {"default": sim_default, "fixed": sim_fixed}
        modules = dict.fromkeys(sims, "benchmarks.poll_worker")
        with _workers_per_sim(modules, sims) as pool, ThreadPoolExecutor(len(sims)) as threads:
            for worker in pool.values():
                worker.call({"op": "ping"}, timeout=120)
            measured: dict[str, dict[str, Any]] = {name: {} for name in sims}
            for phase in PHASES:
                futures = {
                    name: threads.submit(run_phase, sims[name], pool[name], phase, intervals[name], count)
                    for name in sims
                }
                for name, future in futures.items():
                    measured[name].update(future.result())
    for _, app in (pair for phase in PHASES for pair in phase):
        result.details["apps"][app] = {name: measured[name][app] for name in measured}
        result.rows += app_rows(app, measured["default"][app], measured["fixed"][app])
    return result


def _workers_per_sim(modules: dict[str, str], sims: dict[str, Simulator]) -> Any:
    """One worker per schedule, its default connections pointing at that schedule's simulator."""
    import contextlib

    stack = contextlib.ExitStack()
    pool: dict[str, Worker] = {}
    for name, module in modules.items():
        pool.update(stack.enter_context(workers({name: module}, sims[name].connection_env())))

    @contextlib.contextmanager
    def managed() -> Any:
        with stack:
            yield pool

    return managed()
