"""The shared child-process helpers: free ports, waiting for a server, stopping a process."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from airflow_provider_aigc.simulator.process import LOOPBACK, free_port, simulator_argv, stop, wait_until_up


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind((LOOPBACK, port))
        assert sock.getsockname()[1] == port


def test_wait_fails_fast_when_the_process_exits() -> None:
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    try:
        started = time.monotonic()
        with pytest.raises(RuntimeError, match="exited with 3"):
            wait_until_up(f"http://{LOOPBACK}:{free_port()}/", process, timeout=30.0)
        assert time.monotonic() - started < 15.0
    finally:
        stop(process)


def test_stop_kills_a_process_that_ignores_sigterm() -> None:
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(60)"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert process.stdout is not None
    assert process.stdout.readline() == b"ready\n"
    started = time.monotonic()
    stop(process, timeout=0.5)
    assert process.returncode is not None
    assert process.returncode < 0  # killed by a signal, not exited
    assert time.monotonic() - started < 10.0


def test_stop_leaves_an_exited_process_alone() -> None:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    stop(process)
    assert process.returncode == 0


def test_simulator_argv() -> None:
    argv = simulator_argv(LOOPBACK, 1234, speed=20, seed=7, extra_args=("--access-log",))
    assert argv[1:] == [
        "-m",
        "airflow_provider_aigc.simulator",
        *("--host", LOOPBACK, "--port", "1234"),
        *("--speed", "20", "--seed", "7", "--access-log"),
    ]
