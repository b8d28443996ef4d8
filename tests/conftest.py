"""Shared fixtures: the vendor simulator and a local S3 endpoint, each a real server on loopback."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

# Re-exported: tests import these process helpers from here.
from airflow_provider_aigc.simulator.process import LOOPBACK, free_port, simulator_argv, stop, wait_until_up

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

# Airflow reads its home at import: keep tests away from ~/airflow.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="aigc-test-airflow-home-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

SIMULATOR_SPEED = os.environ.get("AIGC_TEST_SIM_SPEED", "20")


@dataclass
class SimulatorServer:
    """A running simulator process and its control endpoints."""

    url: str
    process: subprocess.Popen[bytes] = field(repr=False)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def config(self, changes: dict[str, Any]) -> dict[str, Any]:
        return dict(self._call("POST", "/_sim/config", changes))

    def stats(self) -> dict[str, Any]:
        return dict(self._call("GET", "/_sim/stats"))

    def reset(self, config: bool = True) -> None:
        self._call("POST", "/_sim/reset", {"config": config})

    def wait_quiet(self, timeout: float = 30.0) -> None:
        """Until no vendor request is being answered: one a client gave up on (a ``slow`` fault
        past its timeout) would otherwise draw its remaining faults from the next test's config."""
        deadline = time.monotonic() + timeout
        while self.stats()["requests_in_flight"]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the simulator still answers requests after {timeout:g} s")
            time.sleep(0.05)


@contextlib.contextmanager
def running_server(
    argv: Sequence[str], url: str, health_path: str, *, quiet: bool = False
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``argv``, wait until ``url + health_path`` answers, and stop the process on the way out."""
    output = subprocess.DEVNULL if quiet else None
    process = subprocess.Popen(list(argv), stdout=output, stderr=output)
    try:
        wait_until_up(url + health_path, process)
        yield process
    finally:
        stop(process)


@contextlib.contextmanager
def running_simulator() -> Iterator[SimulatorServer]:
    """A simulator process of its own on a free loopback port, at ``SIMULATOR_SPEED``."""
    port = free_port()
    argv = simulator_argv(LOOPBACK, port, speed=SIMULATOR_SPEED)
    url = f"http://{LOOPBACK}:{port}"
    with running_server(argv, url, "/_sim/health") as process:
        yield SimulatorServer(url=url, process=process)


@pytest.fixture(scope="session")
def simulator() -> Iterator[SimulatorServer]:
    with running_simulator() as server:
        yield server


@dataclass
class S3Server:
    """A moto S3 server on loopback, with a boto3 client bound to it."""

    endpoint_url: str
    process: subprocess.Popen[bytes] = field(repr=False)

    @property
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
        client = self.client
        with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
            client.create_bucket(Bucket=name)
        return name


def aws_connection_json(endpoint_url: str) -> str:
    """An Airflow `aws` connection (JSON form) pointing at a local S3 endpoint."""
    return json.dumps(
        {
            "conn_type": "aws",
            "login": "testing",
            "password": "testing",
            "extra": {"endpoint_url": endpoint_url, "region_name": "us-east-1"},
        }
    )


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    port = free_port()
    argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    url = f"http://127.0.0.1:{port}"
    saved = {key: os.environ.get(key) for key in _AWS_ENV}
    with running_server(argv, url, "/moto-api/", quiet=True) as process:
        os.environ.update(
            {
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1",
                "AIRFLOW_CONN_AWS_DEFAULT": aws_connection_json(url),
            }
        )
        try:
            yield S3Server(endpoint_url=url, process=process)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


_AWS_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AIRFLOW_CONN_AWS_DEFAULT")
