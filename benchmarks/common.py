"""Shared plumbing: the simulator and moto S3 on loopback, child processes, run settings.

Every server is a subprocess bound to 127.0.0.1 and stopped by a context manager, so a benchmark
cannot leave anything running or send traffic anywhere else.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

REPO = Path(__file__).resolve().parent.parent
SCRATCH = REPO / ".bench"
RESULTS = Path(__file__).resolve().parent / "results"
# Where --quick smoke runs write: a scratch directory, never the committed figures.
QUICK_RESULTS = Path(__file__).resolve().parents[1] / ".bench" / "results"
LOOPBACK = "127.0.0.1"

# The process helpers live in airflow_provider_aigc.simulator.process and are imported in each
# function: importing that package loads the simulator (aiohttp, Crypto), and the benchmark workers,
# which import this module, must start without them or the import benchmark measures them too.


@dataclass(frozen=True)
class Settings:
    """How a benchmark should run: ``quick`` trades precision for a smoke-test-sized run."""

    quick: bool = False
    reps: int = 5
    scratch: Path = SCRATCH

    def pick(self, full: Any, quick: Any) -> Any:
        """``quick`` in quick mode, else ``full``: keeps each benchmark's two sizes side by side."""
        return quick if self.quick else full


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for every child process.

    Bytecode caching is re-enabled (some sandboxes export PYTHONDONTWRITEBYTECODE, which makes
    every fresh interpreter recompile Airflow and would dominate start-up and import figures), the
    repository is importable, and Airflow gets a throwaway home instead of ``~/airflow``.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    home = SCRATCH / "airflow_home"
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
            "AIRFLOW_HOME": env.get("AIGC_BENCH_AIRFLOW_HOME", str(home)),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
    )
    env.update(extra or {})
    return env


def free_port() -> int:
    from airflow_provider_aigc.simulator import process

    return process.free_port(LOOPBACK)


def wait_until_up(url: str, process: subprocess.Popen[Any], timeout: float = 60.0) -> None:
    """``process.wait_until_up`` with the benchmarks' longer limits (loaded machines start slowly)."""
    from airflow_provider_aigc.simulator.process import wait_until_up as wait

    wait(url, process, timeout, probe_timeout=2.0)


def stop(process: subprocess.Popen[Any], timeout: float = 15.0) -> None:
    """``process.stop`` with the benchmarks' longer grace period."""
    from airflow_provider_aigc.simulator.process import stop as stop_child

    stop_child(process, timeout)


def http_json(url: str, body: dict[str, Any] | None = None, method: str | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url,
        data=data,
        method=method or ("GET" if body is None else "POST"),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


@dataclass
class Simulator:
    """A simulator subprocess on loopback and its control endpoints (docs/simulator.md)."""

    url: str
    process: subprocess.Popen[bytes] = field(repr=False)

    def config(self, changes: dict[str, Any]) -> dict[str, Any]:
        return dict(http_json(self.url + "/_sim/config", changes))

    def stats(self) -> dict[str, Any]:
        return dict(http_json(self.url + "/_sim/stats"))

    def current_config(self) -> dict[str, Any]:
        return dict(http_json(self.url + "/_sim/config"))

    def reset(self, config: bool = False) -> None:
        http_json(self.url + "/_sim/reset", {"config": config})

    def connection_env(self) -> dict[str, str]:
        """The ``AIRFLOW_CONN_AIGC_*_DEFAULT`` variables for this simulator."""
        from airflow_provider_aigc.simulator import connection_env

        return dict(connection_env(self.url))


ZHIPU_CONSOLE_KEYS = {"apikey": "demo-zhipu-console-apikey", "apisecret": "demo-zhipu-console-apisecret"}


async def _submit_cogview(url: str, count: int) -> list[str]:
    import asyncio

    import aiohttp

    limit = asyncio.Semaphore(32)

    async def one(session: aiohttp.ClientSession, index: int) -> str:
        body = {"key": "queue1", "query": f"benchmark job {index}", **ZHIPU_CONSOLE_KEYS}
        async with limit, session.post(url + "/v1/cogview", json=body) as response:
            answer = await response.json()
        return str(answer["result"]["task_id"])

    async with aiohttp.ClientSession() as session:
        return list(await asyncio.gather(*(one(session, i) for i in range(count))))


def submit_cogview(url: str, count: int) -> list[str]:
    """Buy ``count`` CogView jobs at the simulator with the demo console keys; their task ids."""
    import asyncio

    return asyncio.run(_submit_cogview(url, count))


@contextlib.contextmanager
def simulator(*args: str) -> Iterator[Simulator]:
    """Start ``python -m airflow_provider_aigc.simulator`` on a free loopback port."""
    port = free_port()
    from airflow_provider_aigc.simulator.process import start

    process = start(LOOPBACK, port, extra_args=args, env=child_env(), stdout=subprocess.DEVNULL)
    url = f"http://{LOOPBACK}:{port}"
    try:
        wait_until_up(url + "/_sim/health", process)
        yield Simulator(url=url, process=process)
    finally:
        stop(process)


@dataclass
class S3:
    """A moto S3 server on loopback."""

    endpoint_url: str
    process: subprocess.Popen[bytes] = field(repr=False)

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def make_bucket(self, name: str) -> str:
        client = self.client()
        with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
            client.create_bucket(Bucket=name)
        return name

    def empty_bucket(self, name: str) -> None:
        """Delete every object, so moto (which keeps objects in memory) stays small between runs."""
        client = self.client()
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=name, Delete={"Objects": keys})

    def connection_json(self) -> str:
        """An Airflow ``aws`` connection (JSON form) pointing at this endpoint."""
        return json.dumps(
            {
                "conn_type": "aws",
                "login": "testing",
                "password": "testing",
                "extra": {"endpoint_url": self.endpoint_url, "region_name": "us-east-1"},
            }
        )


@contextlib.contextmanager
def s3_server() -> Iterator[S3]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(port)],
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://{LOOPBACK}:{port}"
    try:
        wait_until_up(url + "/moto-api/", process)
        yield S3(endpoint_url=url, process=process)
    finally:
        stop(process)


@contextlib.contextmanager
def video_origin() -> Iterator[str]:
    """Start ``benchmarks.video_origin`` on a free loopback port; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.video_origin", str(port)],
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://{LOOPBACK}:{port}"
    try:
        wait_until_up(url + "/video.mp4?bytes=64", process)
        yield url
    finally:
        stop(process)


class Worker:
    """A persistent child process answering one JSON command per line (see :func:`serve`).

    Benchmarks keep one worker per variant, so each variant's CPU and memory are measured in a
    process of its own, while repetitions of different variants can be interleaved (side by side)
    without paying interpreter and Airflow start-up for every repetition.
    """

    def __init__(self, module: str, env: dict[str, str] | None = None, quiet: bool = True) -> None:
        self.module = module
        self.process = subprocess.Popen(
            [sys.executable, "-m", module],
            env=child_env(env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL if quiet else None,
            text=True,
        )

    def call(self, command: dict[str, Any], timeout: float = 600.0) -> dict[str, Any]:
        """Send one command and wait for its one-line JSON answer; raise the worker's error."""
        stdin, stdout = _pipes(self.process)
        stdin.write(json.dumps(command) + "\n")
        stdin.flush()
        line = _read_line(self.process, stdout, timeout)
        answer = json.loads(line)
        if "worker_error" in answer:
            raise RuntimeError(f"{self.module} failed on {command.get('op')}: {answer['worker_error']}")
        return dict(answer)

    def close(self) -> None:
        stdin, _ = _pipes(self.process)
        with contextlib.suppress(OSError):
            stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            stop(self.process)


def _pipes(process: subprocess.Popen[str]) -> tuple[IO[str], IO[str]]:
    if process.stdin is None or process.stdout is None:
        raise RuntimeError("worker started without pipes")
    return process.stdin, process.stdout


def _read_line(process: subprocess.Popen[str], stdout: IO[str], timeout: float) -> str:
    import selectors

    with selectors.DefaultSelector() as selector:
        selector.register(stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            stop(process)
            raise TimeoutError(f"worker gave no answer within {timeout} s")
    line = stdout.readline()
    if not line:
        raise RuntimeError(f"worker exited with {process.wait()}")
    return line


@contextlib.contextmanager
def workers(modules: dict[str, str], env: dict[str, str] | None = None) -> Iterator[dict[str, Worker]]:
    """Start one :class:`Worker` per variant name and close them all on exit."""
    started: dict[str, Worker] = {}
    try:
        for name, module in modules.items():
            started[name] = Worker(module, env)
        yield started
    finally:
        for worker in started.values():
            worker.close()


def serve(handler: Any, argv: Sequence[str] | None = None) -> None:
    """The worker side: answer each JSON line on stdin with ``handler(command)`` as one JSON line.

    Anything else the worker prints goes to stderr, so stdout carries only answers.
    """
    del argv
    out = sys.stdout
    sys.stdout = sys.stderr
    for line in sys.stdin:
        if not line.strip():
            continue
        command = json.loads(line)
        try:
            answer = handler(command)
        except Exception as error:  # reported to the parent, which raises it
            answer = {"worker_error": f"{type(error).__name__}: {error}"}
        out.write(json.dumps(answer, default=str) + "\n")
        out.flush()


def run_json(args: Sequence[str], env: dict[str, str] | None = None, timeout: float = 300.0) -> Any:
    """Run a one-shot child (``python ARGS``) whose last stdout line is JSON, and parse it."""
    completed = subprocess.run(
        [sys.executable, *args],
        env=child_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{args} exited {completed.returncode}: {completed.stderr[-2000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])
