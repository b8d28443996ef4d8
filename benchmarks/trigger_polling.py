"""Benchmark 1: the cost of waiting. N concurrent waits on running jobs in one event loop.

Variants, each in its own worker process (``benchmarks.trigger_worker``), repetitions interleaved:

- ``aigc``: ``AigcJobTrigger`` (shared keep-alive session per loop and host).
- ``http_event``: the HTTP provider's ``HttpEventTrigger`` on the same status endpoint, with a
  response check that looks for outputs (the closest off-the-shelf fit).
- ``http_sensor``: the HTTP provider's ``HttpSensorTrigger``, which keeps polling only while the
  endpoint answers 404: it polls the simulator's status endpoint for an unknown task id.
- ``lean``: bare coroutines sharing one keep-alive ``aiohttp.ClientSession``, the floor.

Jobs stay running for the whole run (simulator latency: one day), each wait polls every 2 s.
Per N and variant one session: N waits start, warm up until each has polled once, then 5
consecutive 4 s windows are measured (the figures are medians over windows); the variants'
sessions run one after another, in an order rotated per N.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import psutil

from benchmarks.common import simulator, submit_cogview, workers
from benchmarks.report import BenchResult, Row, at_least, at_most, median, ratio

if TYPE_CHECKING:
    from benchmarks.common import Settings, Simulator, Worker

NAME = "triggers"
INTERVAL = 2.0
WINDOW = 4.0  # seconds per measured window; 5 windows per session, after one warm-up
VARIANTS = {
    "aigc": "AigcJobTrigger",
    "http_event": "HttpEventTrigger",
    "http_sensor": "HttpSensorTrigger",
    "lean": "lean aiohttp loop",
}
CPU_VS_LEAN = 1.5
CPU_VS_HTTP = 0.4
LAG_P99_MS = 100.0
TARGET_N = 1000  # the N at which lag and completeness targets apply
DUE_TOLERANCE = 0.97  # jittered waits: a window's count may fall a little short of N * window / interval
CONNECTIONS_PER_POLL = 0.01


def _timed_call(worker: Worker, sim: Simulator, command: dict[str, Any]) -> dict[str, Any]:
    """Run one session; also note how busy the simulator was (is the server the bottleneck?)."""
    server = psutil.Process(sim.process.pid)
    cpu0, t0 = sum(server.cpu_times()[:2]), time.monotonic()
    sample = worker.call(command, timeout=900)
    cpu1, t1 = sum(server.cpu_times()[:2]), time.monotonic()
    return {**sample, "simulator_busy": (cpu1 - cpu0) / (t1 - t0)}


def summarize(session: dict[str, Any]) -> dict[str, float | None]:
    """Medians over one session's measured windows (RSS: the session's peak)."""
    windows = session["windows"]
    return {
        "cpu_ms_per_poll": median(1000 * w["cpu_s"] / w["polls"] if w["polls"] else None for w in windows),
        "completed_fraction": median(w["polls"] / w["polls_due"] for w in windows),
        "polls": median(w["polls"] for w in windows),
        "polls_due": median(w["polls_due"] for w in windows),
        "connections_per_poll": median(
            w["connections_opened"] / w["polls"] if w["polls"] else None for w in windows
        ),
        "connections_opened": median(w["connections_opened"] for w in windows),
        "lag_p50_ms": median(w["lag_ms"]["p50"] for w in windows),
        "lag_p99_ms": median(w["lag_ms"]["p99"] for w in windows),
        "lag_max_ms": median(w["lag_ms"]["max"] for w in windows),
        "peak_rss_mib": session["peak_rss"] / 2**20,
        "rss_growth_mib": (session["peak_rss"] - session["rss_before"]) / 2**20,
        "warm_up_s": session["warm_up_s"],
        "simulator_busy": session["simulator_busy"],
        "errors": session["error_count"],
        "finished_early": session["finished_early"],
    }


def rows_for(n: int, figures: dict[str, dict[str, float | None]]) -> list[Row]:
    ours, lean = figures["aigc"], figures["lean"]
    case = f"N={n:,}"
    at_target = n == TARGET_N
    rows = [
        Row(
            NAME,
            case,
            "CPU per poll",
            ours["cpu_ms_per_poll"],
            "ms",
            VARIANTS["lean"],
            lean["cpu_ms_per_poll"],
            f"<= {CPU_VS_LEAN}x",
            at_most(ratio(ours["cpu_ms_per_poll"], lean["cpu_ms_per_poll"]), CPU_VS_LEAN),
        )
    ]
    for name in ("http_event", "http_sensor"):
        theirs = figures[name]["cpu_ms_per_poll"]
        rows.append(
            Row(
                NAME,
                case,
                "CPU per poll",
                ours["cpu_ms_per_poll"],
                "ms",
                VARIANTS[name],
                theirs,
                f"<= {CPU_VS_HTTP}x",
                at_most(ratio(ours["cpu_ms_per_poll"], theirs), CPU_VS_HTTP),
            )
        )
    event = figures["http_event"]
    rows += [
        Row(
            NAME,
            case,
            "event-loop lag p99",
            ours["lag_p99_ms"],
            "ms",
            VARIANTS["http_event"],
            event["lag_p99_ms"],
            f"<= {LAG_P99_MS:.0f} ms" if at_target else "",
            at_most(ours["lag_p99_ms"], LAG_P99_MS) if at_target else None,
        ),
        Row(
            NAME,
            case,
            "polls completed / due",
            ours["completed_fraction"],
            "",
            VARIANTS["http_event"],
            event["completed_fraction"],
            f"all (>= {DUE_TOLERANCE})" if at_target else "",
            at_least(ours["completed_fraction"], DUE_TOLERANCE) if at_target else None,
        ),
        Row(
            NAME,
            case,
            "TCP connections opened per poll",
            _percent(ours["connections_per_poll"]),
            "%",
            VARIANTS["http_event"],
            _percent(event["connections_per_poll"]),
            f"<= {CONNECTIONS_PER_POLL:.0%}",
            at_most(ours["connections_per_poll"], CONNECTIONS_PER_POLL),
        ),
        Row(NAME, case, "peak RSS", ours["peak_rss_mib"], "MiB", VARIANTS["lean"], lean["peak_rss_mib"]),
    ]
    return rows


def _percent(value: float | None) -> float | None:
    return None if value is None else 100 * value


def run(settings: Settings) -> BenchResult:
    sizes = settings.pick((200, 1000, 3000), (50, 200))
    window = settings.pick(WINDOW, 3.0)
    result = BenchResult(NAME)
    result.details = {"interval_s": INTERVAL, "window_s": window, "windows": settings.reps, "runs": {}}
    names = list(VARIANTS)
    with simulator("--seed", "1", "--latency", "cogview=86400") as sim:
        jobs = submit_cogview(sim.url, max(sizes))
        env = {**sim.connection_env(), "AIRFLOW_CONN_AIGC_BENCH_HTTP": sim.url}
        with workers(dict.fromkeys(VARIANTS, "benchmarks.trigger_worker"), env) as pool:
            for variant, worker in pool.items():
                worker.call({"op": "ping", "variant": variant}, timeout=120)
            for index, n in enumerate(sizes):
                sessions: dict[str, dict[str, Any]] = {}
                for variant in names[index % len(names) :] + names[: index % len(names)]:
                    command = {
                        "op": "run",
                        "variant": variant,
                        "jobs": jobs[:n],
                        "interval": INTERVAL,
                        "window": window,
                        "windows": settings.reps,
                        "sim_url": sim.url,
                    }
                    sessions[variant] = _timed_call(pool[variant], sim, command)
                figures = {variant: summarize(sessions[variant]) for variant in VARIANTS}
                result.details["runs"][n] = {"figures": figures, "sessions": sessions}
                result.rows += rows_for(n, figures)
    return result
