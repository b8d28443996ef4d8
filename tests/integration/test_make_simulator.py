"""`make simulator`, a README command, as a user runs it: it starts, answers a vendor's documented
call with its demo credentials, and stops on Ctrl-C (SIGINT to the terminal's process group) or
SIGTERM, freeing its port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import pytest

from airflow_provider_aigc.simulator import connection_env
from airflow_provider_aigc.simulator.process import LOOPBACK, free_port, wait_until_up

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
START_SECONDS = 60.0
STOP_SECONDS = 30.0


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((LOOPBACK, port)) != 0


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_make_simulator_starts_answers_and_stops_on_a_signal(signum: signal.Signals) -> None:
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    make = subprocess.Popen(
        ["make", "--no-print-directory", "simulator", f"SIM_PORT={port}"],
        cwd=REPO,
        env={key: value for key, value in os.environ.items() if not key.startswith("MAKE")},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, like a terminal's foreground job
    )
    try:
        wait_until_up(f"{url}/_sim/health", make, START_SECONDS)
        baidu = json.loads(connection_env(url)["AIRFLOW_CONN_AIGC_BAIDU_DEFAULT"])
        query = urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": baidu["login"],
                "client_secret": baidu["password"],
            }
        )
        token = urllib.request.Request(f"{url}/oauth/2.0/token?{query}", method="POST")
        with urllib.request.urlopen(token, timeout=10) as response:
            assert json.load(response)["access_token"]

        os.killpg(make.pid, signum)
        output, _ = make.communicate(timeout=STOP_SECONDS)
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()
    assert port_is_free(port), output.decode(errors="replace")[-2000:]
