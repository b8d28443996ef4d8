"""A Celery worker SIGKILLed during an archive: the retry completes it; nothing half-done looks complete.

The simulator slows the image downloads so the kill lands after the first object was stored and
while the second is being copied. The retry archives the job; its manifest lists every image
with the right size and sha256, and objects the killed try left behind are listed by no manifest.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from tests.deploy.checks import faults_fired
from tests.deploy.scenarios.common import finish, start
from tests.deploy.scenarios.workers import (
    DAG_ID,
    configure,
    kill_and_restart,
    running_on,
    tries,
    wait_for_fault,
)

if TYPE_CHECKING:
    from tests.deploy.deployment import Deployment
    from tests.deploy.report import Result

TASK = "archive_cogview"
FIRST_DELAY = 3.0
SECOND_DELAY = 30.0


def _slow_next_download(deploy: Deployment, delay: float) -> None:
    configure(deploy, {"faults": {"zhipu": {"download": {"slow": {"next": 1, "delay": delay}}}}})


def run(deploy: Deployment, result: Result) -> None:
    started = time.monotonic()
    fired = faults_fired(deploy, "zhipu", "download.slow")
    _slow_next_download(deploy, FIRST_DELAY)
    run_id = start(deploy, DAG_ID, "warchive")
    wait_for_fault(deploy, "zhipu", "download.slow", fired + 1)
    _slow_next_download(deploy, SECOND_DELAY)  # the download after the first image stalls
    worker = running_on(deploy, run_id, TASK)
    wait_for_fault(deploy, "zhipu", "download.slow", fired + 2)
    kill_and_restart(deploy, worker)
    configure(deploy, {"faults": None})
    finish(deploy, DAG_ID, run_id, result, started)
    attempts = tries(deploy, run_id, TASK)
    result.notes.append(f"killed {worker} mid-copy; archive tries {attempts}")
    assert attempts >= 2, "the archive was not retried after the kill"
