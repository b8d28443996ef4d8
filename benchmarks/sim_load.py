"""Load test of the vendor simulator: thousands of concurrent clients polling ``/v1/status``.

Each client owns one keep-alive TCP connection and polls a CogView job every 1-2 s for the run's
duration, the way deferred triggers poll a real vendor. Loopback only; bounded in clients and time;
stops by itself. Without ``--url`` it starts its own simulator in a subprocess and also reports the
server's CPU time per request, which unlike latency does not depend on what else the machine runs.

    python benchmarks/sim_load.py --clients 2000 --duration 20
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import resource
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp
import psutil

if TYPE_CHECKING:
    from collections.abc import Iterator

MAX_CLIENTS = 10_000
MAX_DURATION = 600.0
CONSOLE_KEYS = {"apikey": "demo-zhipu-console-apikey", "apisecret": "demo-zhipu-console-apisecret"}


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)


def _http_json(url: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@contextlib.contextmanager
def simulator(url: str | None) -> Iterator[tuple[str, int | None]]:
    """The simulator to load and its pid when ours: ``url``, or a fresh subprocess on loopback."""
    if url:
        yield url, None
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_aigc.simulator", "--port", str(port), "--seed", "1"],
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                _http_json(url + "/_sim/health")
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the simulator did not start") from None
                time.sleep(0.1)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


async def client(url: str, job_id: str, stop_at: float, gap: tuple[float, float], tally: Tally) -> None:
    """One poller with its own connection: poll, record, sleep 1-2 s, until ``stop_at``."""
    connector = aiohttp.TCPConnector(limit=1)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.sleep(random.uniform(0, gap[1]))  # spread the first connects
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                async with session.get(f"{url}/v1/status", params={"task_id": job_id}) as response:
                    body = await response.json()
                if response.status != 200 or body.get("status") != 0:
                    tally.errors[f"http {response.status} status {body.get('status')}"] += 1
                else:
                    tally.latencies.append(time.perf_counter() - started)
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
                tally.errors[type(error).__name__] += 1
            await asyncio.sleep(random.uniform(*gap))


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def _cpu_seconds(pid: int | None) -> float:
    if pid is None:
        return float("nan")
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


async def load(
    url: str, pid: int | None, clients: int, duration: float, gap: tuple[float, float], jobs: int
) -> dict[str, Any]:
    job_ids = [
        _http_json(f"{url}/v1/cogview", {"key": "queue1", "query": f"压力测试 {n}", **CONSOLE_KEYS})[
            "result"
        ]["task_id"]
        for n in range(jobs)
    ]
    before = _http_json(f"{url}/_sim/stats")
    cpu_before = _cpu_seconds(pid)
    tally = Tally()
    started = time.monotonic()
    stop_at = started + duration
    await asyncio.gather(*(client(url, job_ids[n % jobs], stop_at, gap, tally) for n in range(clients)))
    elapsed = time.monotonic() - started
    server_cpu = _cpu_seconds(pid) - cpu_before
    after = _http_json(f"{url}/_sim/stats")
    latencies = sorted(tally.latencies)
    requests = len(latencies) + sum(tally.errors.values())
    return {
        "clients": clients,
        "duration_s": round(elapsed, 1),
        "requests": requests,
        "requests_per_s": round(requests / elapsed, 1),
        "errors": sum(tally.errors.values()),
        "error_kinds": dict(tally.errors),
        "p50_ms": round(_percentile(latencies, 0.50) * 1000, 1),
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1) if latencies else None,
        "connections_opened": after["connections_opened"] - before["connections_opened"],
        "server_cpu_s": round(server_cpu, 2),
        "server_cpu_us_per_request": round(server_cpu / max(requests, 1) * 1e6, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="an already running simulator (default: start one)")
    parser.add_argument("--clients", type=int, default=2000, help=f"concurrent pollers (max {MAX_CLIENTS})")
    parser.add_argument("--duration", type=float, default=20.0, help=f"seconds (max {MAX_DURATION:.0f})")
    parser.add_argument("--min-gap", type=float, default=1.0, help="least seconds between a client's polls")
    parser.add_argument("--max-gap", type=float, default=2.0, help="most seconds between a client's polls")
    parser.add_argument("--jobs", type=int, default=16, help="CogView jobs the clients share")
    parser.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= MAX_CLIENTS or not 0 < args.duration <= MAX_DURATION:
        parser.error(f"--clients must be 1..{MAX_CLIENTS} and --duration 0..{MAX_DURATION:.0f}")
    if args.url and not args.url.startswith(("http://127.", "http://localhost")):
        parser.error("--url must be a loopback address")
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < args.clients + 100:
        parser.error(f"the open-file limit ({hard}) is too low for {args.clients} clients")
    with simulator(args.url) as (url, pid):
        gap = (args.min_gap, args.max_gap)
        result = asyncio.run(load(url, pid, args.clients, args.duration, gap, args.jobs))
    print(f"{'metric':<20} value")
    for key, value in result.items():
        print(f"{key:<20} {value}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump({"benchmark": "sim_load", **result}, file, indent=2)
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
