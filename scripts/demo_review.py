"""The demo's reviewer: answers `example_human_review`'s approval the way a person would.

`airflow dags test` keeps the run alive while `review` waits for input; an api-server started over
the same sqlite database serves Airflow's REST API, and the reviewer (a user of the simple auth
manager, logged in with a password) reads the request and answers it with
`PATCH .../taskInstances/review/-1/hitlDetails`, which is what the Required Actions page does.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_rest import AirflowRest
from demo_services import AIRFLOW, Service, started_service, wait_for_service

from airflow_provider_aigc.simulator.process import LOOPBACK, free_port

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from pathlib import Path

REVIEW_DAG = "example_human_review"
REVIEWER = "reviewer"
ANSWER = "Approve"
# The api-server starts while the DAG runs; on two busy cores that can take a minute or two.
API_SERVER_START_SECONDS = 240.0
POLL_SECONDS = 1.0


@dataclass(frozen=True)
class ReviewOutcome:
    """What the reviewer was asked and answered, as Airflow recorded it."""

    run_id: str
    subject: str
    chosen_options: tuple[str, ...]
    responded_by: str
    responded_at: str


def api_server_settings(url: str, passwords_file: Path, password: str) -> dict[str, str]:
    """Settings for the api-server: one reviewer user with a password of this run's own."""
    passwords_file.write_text(json.dumps({REVIEWER: password}), encoding="utf-8")
    return {
        "AIRFLOW__API__BASE_URL": url,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{REVIEWER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(16),
    }


@contextmanager
def running_api_server(home: Path, env: Mapping[str, str], log_dir: Path) -> Iterator[tuple[Service, str]]:
    """An api-server over the Airflow home `home` (not yet answering): the service and the
    reviewer's password."""
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    password = secrets.token_urlsafe(16)
    settings = api_server_settings(url, home / "passwords.json", password)
    argv = [*AIRFLOW, "api-server", "--host", LOOPBACK, "--port", str(port), "--workers", "1"]
    with started_service("api-server", argv, port, log_dir, {**env, **settings}) as service:
        yield service, password


class Reviewer(threading.Thread):
    """Waits for the api-server and the review request, then approves it (in a thread, while the
    DAG runs go on). `outcome` holds the recorded answer, `error` what went wrong."""

    def __init__(self, service: Service, password: str) -> None:
        super().__init__(name="demo-reviewer", daemon=True)
        self.service = service
        self.rest = AirflowRest(service.url, credentials=(REVIEWER, password))
        self.outcome: ReviewOutcome | None = None
        self.error: str | None = None
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            wait_for_service(self.service, "/api/v2/monitor/health", API_SERVER_START_SECONDS)
            request = self._pending_request()
            if request is not None:
                self.outcome = self._answer(request)
        except Exception as error:  # reported by the demo, which then fails
            self.error = f"{type(error).__name__}: {error}"

    def _pending_request(self) -> dict[str, Any] | None:
        while not self.stopped.is_set():
            waiting = self.rest.waiting_hitl(REVIEW_DAG)
            if waiting:
                return waiting[0]
            time.sleep(POLL_SECONDS)
        return None

    def _answer(self, request: Mapping[str, Any]) -> ReviewOutcome:
        answered = self.rest.answer_hitl(request, ANSWER)
        return ReviewOutcome(
            run_id=str(request["task_instance"]["dag_run_id"]),
            subject=str(request["subject"]),
            chosen_options=tuple(answered["chosen_options"]),
            responded_by=str(answered["responded_by"]["name"]),
            responded_at=str(answered["responded_at"]),
        )

    def published(self, run_id: str) -> list[str]:
        """What the run's `publish` task returned: the S3 URIs of the published copies."""
        return [str(uri) for uri in self.rest.xcom(REVIEW_DAG, run_id, "publish")]
