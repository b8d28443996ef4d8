"""Worker for benchmark 1: N concurrent waits in one event loop, driven as Airflow's triggerer does.

Triggers are rebuilt from their serialized form (classpath + JSON kwargs, as the triggerer gets
them from the database) and each ``run()`` is iterated as an async generator in its own task,
with ``cleanup()`` afterwards. Starts are spread over one poll interval (waits arrive over time
in a real triggerer). The warm-up lasts until each wait has polled once (a first poll also
resolves the connection, far dearer than later ones), so the measured windows that follow see
the steady state: process CPU, event-loop lag (a 100 ms ticker), and, at the simulator, polls
served and TCP connections accepted. Then every wait is cancelled, as at a triggerer shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import urllib.request
from typing import TYPE_CHECKING, Any

from benchmarks.common import serve
from benchmarks.memory import current_rss, peak_rss, reset_peak
from benchmarks.report import percentile

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine

    from airflow.triggers.base import BaseTrigger

HTTP_CONN_ID = "aigc_bench_http"  # AIRFLOW_CONN_AIGC_BENCH_HTTP, set by the parent
UNKNOWN_TASK = "0000000000000000"  # the simulator answers 404 for it, what HttpSensorTrigger waits through
TICK = 0.1
MAX_WARM_UP = 30.0


def serialized_trigger(variant: str, job_id: str, interval: float) -> tuple[str, dict[str, Any]]:
    """What the deferring task would store: ``(classpath, kwargs)`` of the variant's trigger."""
    trigger: BaseTrigger
    if variant == "aigc":
        from airflow_provider_aigc.triggers.job import AigcJobTrigger

        trigger = AigcJobTrigger(
            conn_id="aigc_zhipu_default",
            vendor="zhipu",
            app="cogview",
            job_id=job_id,
            poll_interval=interval,
            end_time=time.time() + 3600,
        )
    elif variant == "http_event":
        from airflow.providers.http.triggers.http import HttpEventTrigger

        trigger = HttpEventTrigger(
            response_check_path="benchmarks.http_checks.zhipu_job_done",
            http_conn_id=HTTP_CONN_ID,
            method="GET",
            endpoint=f"v1/status?task_id={job_id}",
            poll_interval=interval,
        )
    elif variant == "http_sensor":
        from airflow.providers.http.triggers.http import HttpSensorTrigger

        trigger = HttpSensorTrigger(
            http_conn_id=HTTP_CONN_ID,
            method="GET",
            endpoint=f"v1/status?task_id={UNKNOWN_TASK}",
            poke_interval=interval,
        )
    else:
        raise ValueError(f"unknown trigger variant {variant!r}")
    classpath, kwargs = trigger.serialize()
    return classpath, json.loads(json.dumps(kwargs))


def inflate(classpath: str, kwargs: dict[str, Any]) -> BaseTrigger:
    """The triggerer's step: import the class by path and call it with the stored kwargs."""
    from airflow._shared.module_loading import import_string

    trigger: BaseTrigger = import_string(classpath)(**kwargs)
    return trigger


async def drive(trigger: BaseTrigger, delay: float, events: list[Any]) -> None:
    await asyncio.sleep(delay)
    try:
        async for event in trigger.run():
            events.append(event.payload)
    finally:
        with contextlib.suppress(Exception):
            await trigger.cleanup()


async def lean_wait(session: Any, url: str, interval: float, delay: float, events: list[Any]) -> None:
    """The lean reference: one shared keep-alive session, GET, parse, sleep; nothing else."""
    await asyncio.sleep(delay)
    while True:
        async with session.get(url) as response:
            body = await response.json()
        if (body.get("result") or {}).get("output"):
            events.append(body)
            return
        await asyncio.sleep(interval)


async def ticker(lags: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + TICK
        await asyncio.sleep(TICK)
        lags.append(max(0.0, loop.time() - due))


def sim_stats(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "/_sim/stats", timeout=30) as response:
        return dict(json.loads(response.read()))


def _waits(
    command: dict[str, Any], events: list[Any]
) -> tuple[list[Coroutine[Any, Any, None]], Callable[[], Awaitable[None]]]:
    """The N wait coroutines of one variant, and how to release what they share afterwards."""
    variant, interval = command["variant"], command["interval"]
    jobs: list[str] = command["jobs"]
    delays = [random.uniform(0, interval) for _ in jobs]
    if variant == "lean":
        import aiohttp

        session = aiohttp.ClientSession()
        url = command["sim_url"] + "/v1/status?task_id="
        waits = [
            lean_wait(session, url + job, interval, d, events) for job, d in zip(jobs, delays, strict=True)
        ]
        return waits, session.close
    stored = [serialized_trigger(variant, job, interval) for job in jobs]
    waits = [
        drive(inflate(path, kwargs), d, events) for (path, kwargs), d in zip(stored, delays, strict=True)
    ]

    async def close() -> None:
        if variant == "aigc":
            from airflow_provider_aigc.hooks.session import close_sessions

            await close_sessions()

    return waits, close


def _polls(stats: dict[str, Any]) -> int:
    return int(stats["vendors"]["zhipu"]["polls"])


async def _warm_up(url: str, start: dict[str, Any], n: int, interval: float) -> float:
    """Wait one interval and until every wait has polled once (its first poll resolves the
    connection, which costs far more than a steady-state poll), so the window sees steady state."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    await asyncio.sleep(interval)
    while loop.time() - began < MAX_WARM_UP:
        stats = await loop.run_in_executor(None, sim_stats, url)
        if _polls(stats) - _polls(start) >= n:
            break
        await asyncio.sleep(0.25)
    return loop.time() - began


async def measure_window(url: str, n: int, interval: float, window: float) -> dict[str, Any]:
    """One measured window of the steady state: CPU, polls and connections at the server, loop lag."""
    loop = asyncio.get_running_loop()
    before = await loop.run_in_executor(None, sim_stats, url)
    cpu0, t0 = time.process_time(), loop.time()
    lags: list[float] = []
    tick = asyncio.ensure_future(ticker(lags))
    await asyncio.sleep(window)
    cpu1, t1 = time.process_time(), loop.time()
    tick.cancel()
    after = await loop.run_in_executor(None, sim_stats, url)
    return {
        "window_s": t1 - t0,
        "cpu_s": cpu1 - cpu0,
        "polls": _polls(after) - _polls(before),
        "polls_due": n * (t1 - t0) / interval,
        # the second stats request opened one connection of its own
        "connections_opened": after["connections_opened"] - before["connections_opened"] - 1,
        "lag_ms": {
            "p50": 1000 * (percentile(lags, 50) or 0.0),
            "p99": 1000 * (percentile(lags, 99) or 0.0),
            "max": 1000 * max(lags, default=0.0),
            "samples": len(lags),
        },
    }


async def session(command: dict[str, Any]) -> dict[str, Any]:
    """Start N waits, warm up, measure ``windows`` consecutive windows, then cancel everything."""
    loop = asyncio.get_running_loop()
    interval, url = command["interval"], command["sim_url"]
    reset_peak()
    rss_before = current_rss()
    events: list[Any] = []
    waits, close = _waits(command, events)
    start = await loop.run_in_executor(None, sim_stats, url)
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    warm_up = await _warm_up(url, start, len(tasks), interval)
    windows = [
        await measure_window(url, len(tasks), interval, command["window"]) for _ in range(command["windows"])
    ]
    finished_early = sum(task.done() for task in tasks)
    for task in tasks:
        task.cancel()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    errors = [
        repr(o)
        for o in outcomes
        if isinstance(o, BaseException) and not isinstance(o, asyncio.CancelledError)
    ]
    await close()
    return {
        "variant": command["variant"],
        "n": len(tasks),
        "warm_up_s": warm_up,
        "windows": windows,
        "peak_rss": peak_rss(),
        "rss_before": rss_before,
        "finished_early": finished_early,
        "events": [json.dumps(e, default=str)[:300] for e in events[:3]],
        "errors": errors[:3],
        "error_count": len(errors),
    }


def handle(command: dict[str, Any]) -> dict[str, Any]:
    if command["op"] == "ping":
        # Load what the variant needs before any measurement, as a running triggerer has.
        import aiohttp  # noqa: F401
        from airflow.triggers.base import BaseTrigger  # noqa: F401

        if command["variant"] != "lean":
            inflate(*serialized_trigger(command["variant"], UNKNOWN_TASK, 2.0))
        return {"ok": True, "rss": current_rss()}
    return asyncio.run(session(command))


if __name__ == "__main__":
    serve(handle)
