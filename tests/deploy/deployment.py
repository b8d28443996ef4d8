"""Start and stop the whole deployment: PostgreSQL, Redis, simulator, S3, and the Airflow components.

``deployment(scratch)`` is a context manager that starts everything in order, waits until each part
answers, and stops all it started on the way out, also on an exception, SIGTERM or Ctrl-C
(``KeyboardInterrupt``), with an ``atexit`` hook as the last resort. Scenarios kill, pause and
restart components through :class:`Deployment`.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg2

from airflow_provider_aigc.simulator.process import LOOPBACK, free_port, simulator_argv, wait_until_up
from tests.deploy import settings
from tests.deploy.hostname import COMPONENT_VARIABLE
from tests.deploy.install import ensure_servers
from tests.deploy.processes import STOP_GRACE_SECONDS, Child, run
from tests.deploy.servers import Postgres, Redis, create_postgres, create_redis

if TYPE_CHECKING:
    from collections.abc import Iterator

DAGS_FOLDER = Path(__file__).with_name("dags")
TRIGGERERS = ("triggerer-1", "triggerer-2")
WORKERS = ("worker-1", "worker-2")
# What a process supervisor (systemd, Kubernetes) restarts when it exits: the scheduler, the
# dag-processor and the triggerers exit by design after losing the metadata database.
SUPERVISED = ("api-server", "scheduler", "dag-processor", *TRIGGERERS, *WORKERS)
SIMULATOR_LATENCY = {"cogview": 45.0, "news_generate": 45.0, "txt2imgv2": 45.0, "ai_draw": 45.0}
START_TIMEOUT = 240.0


def _airflow(*args: str) -> list[str]:
    return [sys.executable, "-m", "airflow", *args]


@dataclass
class Deployment:
    """The running deployment: its servers, Airflow components and where they log."""

    scratch: Path
    postgres: Postgres
    redis: Redis
    simulator_url: str
    s3_url: str
    api_url: str
    env: dict[str, str]
    components: dict[str, Child] = field(default_factory=dict)
    restarts: dict[str, int] = field(default_factory=dict)

    # -- the metadata database -------------------------------------------------------------------
    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of one read-only query on the metadata database (a fresh connection each time)."""
        with (
            contextlib.closing(psycopg2.connect(self.postgres.dsn, connect_timeout=5)) as db,
            db.cursor() as cur,
        ):
            cur.execute(sql, params)
            return list(cur.fetchall())

    # -- components ------------------------------------------------------------------------------
    def __getitem__(self, name: str) -> Child:
        return self.components[name]

    def start(self, name: str) -> None:
        self.components[name].start()

    def supervise(self, *, skip: tuple[str, ...] = ()) -> list[str]:
        """Restart the supervised components that exited (except `skip`), as systemd would; their names."""
        restarted = []
        for name in SUPERVISED:
            child = self.components[name]
            if name not in skip and not child.alive:
                child.kill()  # reap it and anything it left in its group
                child.start()
                self.restarts[name] = self.restarts.get(name, 0) + 1
                restarted.append(name)
        return restarted

    def check_alive(self, *, skip: tuple[str, ...] = ()) -> None:
        """Raise with the log's end when a component other than `skip` has exited."""
        for name, child in self.components.items():
            if name not in skip and not child.alive:
                raise RuntimeError(f"{name} exited unexpectedly:\n{child.tail()}")

    def stop_all(self) -> None:
        """Stop every component (all at once), then the broker and the database; safe to call twice."""
        children = list(self.components.values())
        for child in children:
            child.request_stop()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in children:
            child.wait_stopped(deadline)
        self.redis.child.stop()
        self.postgres.child.stop()


def _add(deploy: Deployment, name: str, argv: list[str]) -> Child:
    env = {**deploy.env, COMPONENT_VARIABLE: name}
    child = Child(name, argv, env, deploy.scratch / "logs" / f"{name}.log")
    deploy.components[name] = child
    child.start()
    return child


def _start_support(deploy: Deployment, sim_port: int, s3_port: int) -> None:
    latency = [f"{app}={seconds}" for app, seconds in SIMULATOR_LATENCY.items()]
    sim_args = [arg for item in latency for arg in ("--latency", item)]
    # No vendor limit by default (the load reaches 72 jobs at once, submitted in a burst); the
    # capacity scenario sets Baidu's.
    sim_args += ["--concurrency", "baidu=0", "--concurrency", "dashscope=0", "--submit-rate", "dashscope=0"]
    sim = _add(deploy, "simulator", simulator_argv(LOOPBACK, sim_port, seed=11, extra_args=sim_args))
    s3 = _add(deploy, "s3", [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(s3_port)])
    assert sim.process is not None
    assert s3.process is not None
    wait_until_up(deploy.simulator_url + "/_sim/health", sim.process, 60)
    wait_until_up(deploy.s3_url + "/moto-api/", s3.process, 60)
    import boto3

    boto3.client(
        "s3", endpoint_url=deploy.s3_url, region_name="us-east-1",
        aws_access_key_id="deploy", aws_secret_access_key="deploy",
    ).create_bucket(Bucket=settings.ARCHIVE_BUCKET)  # fmt: skip


def _start_airflow(deploy: Deployment) -> None:
    run(_airflow("db", "migrate"), deploy.scratch / "logs" / "migrate.log", deploy.env)
    api = _add(deploy, "api-server", _airflow("api-server"))
    _add(deploy, "scheduler", _airflow("scheduler"))
    _add(deploy, "dag-processor", _airflow("dag-processor"))
    for name in TRIGGERERS:
        # --skip-serve-logs: Airflow 3.3.2's log server binds every interface (host="" in
        # airflow/utils/serve_logs/core.py, no option); the api-server reads the shared log folder.
        _add(deploy, name, _airflow("triggerer", "--skip-serve-logs"))
    for index, name in enumerate(WORKERS, start=1):
        _add(deploy, name, _airflow("celery", "worker", "--skip-serve-logs",
                                    "--celery-hostname", f"worker{index}@{LOOPBACK}"))  # fmt: skip
    assert api.process is not None
    wait_until_up(deploy.api_url + "/api/v2/monitor/health", api.process, START_TIMEOUT)
    _wait_ready(deploy)


def _wait_ready(deploy: Deployment) -> None:
    """Until both triggerers heartbeat, both workers are ready and the DAGs are parsed."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        deploy.check_alive()
        triggerers = deploy.query(
            "SELECT count(*) FROM job WHERE job_type = 'TriggererJob' AND state = 'running' "
            "AND latest_heartbeat > now() - interval '10 seconds'"
        )[0][0]
        dags = deploy.query("SELECT count(*) FROM dag WHERE is_stale = false")[0][0]
        workers = sum(" ready." in deploy[name].tail(20000) for name in WORKERS)
        if triggerers >= len(TRIGGERERS) and workers == len(WORKERS) and dags > 0:
            return
        time.sleep(1.0)
    raise RuntimeError("the deployment did not become ready; logs in " + str(deploy.scratch / "logs"))


def _on_signal(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def deployment(scratch: Path, dags_folder: Path = DAGS_FOLDER) -> Iterator[Deployment]:
    """A fresh deployment in `scratch` (wiped first), stopped completely on the way out.

    `dags_folder`: the suite's DAGs by default; benchmarks/deployment.py passes its own.
    """
    binaries = ensure_servers()
    shutil.rmtree(scratch, ignore_errors=True)
    (scratch / "logs").mkdir(parents=True)
    (scratch / "airflow").mkdir()
    previous = signal.signal(signal.SIGTERM, _on_signal)
    postgres = create_postgres(binaries, scratch)
    redis: Redis | None = None
    deploy: Deployment | None = None
    stop_postgres = postgres.child.stop
    atexit.register(stop_postgres)
    try:
        redis = create_redis(binaries, scratch)
        atexit.register(redis.child.stop)
        api_port, sim_port, s3_port = free_port(), free_port(), free_port()
        sim_url, s3_url = f"http://{LOOPBACK}:{sim_port}", f"http://{LOOPBACK}:{s3_port}"
        env = settings.airflow_env(
            scratch / "airflow", db_url=postgres.url, broker_url=redis.url, api_port=api_port,
            simulator_url=sim_url, s3_url=s3_url, dags_folder=dags_folder,
        )  # fmt: skip
        deploy = Deployment(
            scratch=scratch, postgres=postgres, redis=redis, simulator_url=sim_url, s3_url=s3_url,
            api_url=f"http://{LOOPBACK}:{api_port}", env=env,
        )  # fmt: skip
        atexit.register(deploy.stop_all)
        _start_support(deploy, sim_port, s3_port)
        _start_airflow(deploy)
        yield deploy
    finally:
        if deploy is not None:
            deploy.stop_all()
        elif redis is not None:
            redis.child.stop()
        postgres.child.stop()
        signal.signal(signal.SIGTERM, previous)
        os.environ.pop("AIRFLOW__CORE__FERNET_KEY", None)
