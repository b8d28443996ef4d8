"""The processes `make demo` starts: the vendor simulator, a moto S3 server and `airflow` commands.

Each runs in its own session (process group) so that Ctrl-C reaches only the demo, which then stops
exactly what it started, children included, and leaves nothing running.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider_aigc.simulator.process import LOOPBACK, free_port, simulator_argv, wait_until_up

if TYPE_CHECKING:
    from collections.abc import Generator, Iterator, Mapping, Sequence
    from pathlib import Path

STOP_GRACE_SECONDS = 10.0
START_TIMEOUT_SECONDS = 60.0
DATABASE_FILE = "airflow.db"
AIRFLOW = (sys.executable, "-m", "airflow")


@dataclass(frozen=True)
class Service:
    """A server the demo started and must stop: its base URL, process and log file."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path


@dataclass(frozen=True)
class Command:
    """A command to run to completion: its environment and the file that gets its output."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    log_path: Path


@dataclass(frozen=True)
class CommandResult:
    """How a command ended; its full output is in `command.log_path`."""

    command: Command
    returncode: int
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def tail(self, lines: int = 40) -> str:
        text = self.command.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate a process started with `start_new_session=True`, with its group, then reap it.

    The group is signalled only while its leader is unreaped, so its id cannot belong to anyone else.
    """
    if process.poll() is not None:
        return
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _start(
    argv: Sequence[str], log_path: Path, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a process in its own session with stdout and stderr in `log_path`."""
    with log_path.open("wb") as log:
        return subprocess.Popen(
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=None if env is None else dict(env),
            start_new_session=True,
        )


@contextmanager
def started_service(
    name: str, argv: Sequence[str], port: int, log_dir: Path, env: Mapping[str, str] | None = None
) -> Iterator[Service]:
    """Start a server on `port` without waiting for it, and stop it on the way out."""
    log_path = log_dir / f"{name}.log"
    process = _start(argv, log_path, env)
    try:
        yield Service(name=name, url=f"http://{LOOPBACK}:{port}", process=process, log_path=log_path)
    finally:
        stop_process(process)


def wait_for_service(service: Service, health_path: str, timeout: float = START_TIMEOUT_SECONDS) -> None:
    """Return once `health_path` answers; a server that exits or stays silent raises RuntimeError."""
    try:
        wait_until_up(service.url + health_path, service.process, timeout)
    except RuntimeError as error:
        raise RuntimeError(f"{service.name}: {error}; see {service.log_path}") from None


@contextmanager
def running_service(
    name: str, argv: Sequence[str], port: int, health_path: str, log_dir: Path
) -> Iterator[Service]:
    """Start a server on `port`, wait until `health_path` answers, and stop it on the way out."""
    with started_service(name, argv, port, log_dir) as service:
        wait_for_service(service, health_path)
        yield service


@contextmanager
def running_simulator(log_dir: Path, speed: float) -> Iterator[Service]:
    """The vendor simulator, with job latencies divided by `speed`."""
    port = free_port()
    argv = simulator_argv(LOOPBACK, port, speed=speed)
    with running_service("simulator", argv, port, "/_sim/health", log_dir) as service:
        yield service


@contextmanager
def running_s3(log_dir: Path) -> Iterator[Service]:
    """moto in server mode: a real HTTP S3 endpoint on loopback, empty at start."""
    port = free_port()
    argv = [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(port)]
    with running_service("s3", argv, port, "/moto-api/", log_dir) as service:
        yield service


def aws_connection(endpoint_url: str) -> str:
    """An Airflow `aws` connection (JSON) for the local S3 endpoint; moto accepts any key pair."""
    return json.dumps(
        {
            "conn_type": "aws",
            "login": "demo",
            "password": "demo",
            "extra": {"endpoint_url": endpoint_url, "region_name": "us-east-1"},
        }
    )


def airflow_env(home: Path, dags_folder: Path, extra: Mapping[str, str]) -> dict[str, str]:
    """Environment for `airflow` commands: config by env vars, sqlite, no examples, no proxy on loopback.

    `extra` adds the connections (`AIRFLOW_CONN_*`) and whatever the DAGs read. Airflow settings
    inherited from the caller's shell are dropped, so the demo runs the same on every machine.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_"))
    }
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / DATABASE_FILE}",
            "NO_PROXY": f"{LOOPBACK},localhost",
            "no_proxy": f"{LOOPBACK},localhost",
            **extra,
        }
    )
    return env


def run_commands(commands: Sequence[Command], timeout: float) -> Generator[CommandResult, None, None]:
    """Run the commands side by side and yield each result as it finishes.

    A command still running after `timeout` seconds is stopped (exit -1). Closing the generator
    early (a failure, Ctrl-C) stops every command still running.
    """
    started = time.monotonic()
    running = [(command, _start(command.argv, command.log_path, command.env)) for command in commands]
    try:
        while running:
            for entry in list(running):
                command, process = entry
                returncode = process.poll()
                seconds = time.monotonic() - started
                if returncode is None and seconds < timeout:
                    continue
                if returncode is None:
                    stop_process(process)
                    with command.log_path.open("a", encoding="utf-8") as log:
                        log.write(f"\n[demo] stopped after {timeout:.0f} s\n")
                    returncode = -1
                running.remove(entry)
                yield CommandResult(command=command, returncode=returncode, seconds=seconds)
            time.sleep(0.2)
    finally:
        for _, process in running:
            stop_process(process)
