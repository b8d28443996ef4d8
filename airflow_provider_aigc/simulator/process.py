"""Child server processes on loopback: pick a port, start the simulator, wait until up, stop.

The test fixtures, the benchmarks and ``make demo`` all run the simulator (and moto) as real
processes; this module is the one copy of that plumbing they share. Standard library only, so it
can be imported anywhere without pulling in the server itself.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    """A port on ``host`` that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def simulator_argv(
    host: str,
    port: int,
    speed: float | str | None = None,
    seed: int | None = None,
    extra_args: Sequence[str] = (),
) -> list[str]:
    """The command line of ``python -m airflow_provider_aigc.simulator`` with these options."""
    argv = [sys.executable, "-m", "airflow_provider_aigc.simulator", "--host", host, "--port", str(port)]
    if speed is not None:
        argv += ["--speed", str(speed)]
    if seed is not None:
        argv += ["--seed", str(seed)]
    return [*argv, *extra_args]


def start(
    host: str,
    port: int,
    speed: float | str | None = None,
    seed: int | None = None,
    extra_args: Sequence[str] = (),
    *,
    env: Mapping[str, str] | None = None,
    stdout: int | IO[Any] | None = None,
    stderr: int | IO[Any] | None = None,
) -> subprocess.Popen[bytes]:
    """Start the simulator as a child process (it is up once :func:`wait_until_up` returns)."""
    return subprocess.Popen(
        simulator_argv(host, port, speed, seed, extra_args),
        env=None if env is None else dict(env),
        stdout=stdout,
        stderr=stderr,
    )


def wait_until_up(
    url: str, process: subprocess.Popen[Any], timeout: float = 30.0, *, probe_timeout: float = 1.0
) -> None:
    """Return once ``url`` answers; raise ``RuntimeError`` as soon as ``process`` exits, or at ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server for {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=probe_timeout):
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not come up within {timeout} s")


def stop(process: subprocess.Popen[Any], timeout: float = 10.0) -> None:
    """Terminate one child we started (by its own handle, never by name), killing it if it hangs."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
