"""A small client for Airflow's public REST API (``/api/v2``): what the demo's reviewer and the
live-Airflow tests call, as a person or a script would, with a bearer token.

With ``credentials`` it logs in through the simple auth manager (``POST /auth/token``) as that
user, so an answer is recorded under the user's name; without, it takes the all-admins token.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from collections.abc import Mapping

REQUEST_TIMEOUT_SECONDS = 60.0


@dataclass
class AirflowRest:
    """The REST API of the api-server on ``url``."""

    url: str
    credentials: tuple[str, str] | None = field(default=None, repr=False)
    _token: str | None = field(default=None, init=False, repr=False)

    def token(self) -> str:
        if self._token is None:
            if self.credentials is None:
                request = urllib.request.Request(f"{self.url}/auth/token")
            else:
                username, password = self.credentials
                request = urllib.request.Request(
                    f"{self.url}/auth/token",
                    data=json.dumps({"username": username, "password": password}).encode(),
                    method="POST",
                    headers={"Content-Type": "application/json"},
                )
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:
                self._token = str(json.loads(response.read())["access_token"])
        return self._token

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """Call ``/api/v2`` + ``path``; raises HTTPError on 4xx/5xx."""
        request = urllib.request.Request(
            f"{self.url}/api/v2{path}",
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"Bearer {self.token()}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:
            return json.loads(response.read() or b"null")

    def waiting_hitl(self, dag_id: str) -> list[dict[str, Any]]:
        """The human-in-the-loop requests of ``dag_id`` still waiting for an answer."""
        details = self.api("GET", f"/dags/{quote(dag_id)}/dagRuns/~/hitlDetails")["hitl_details"]
        return [dict(detail) for detail in details if not detail["response_received"]]

    def run_state(self, dag_id: str, run_id: str) -> str:
        return str(self.api("GET", f"/dags/{quote(dag_id)}/dagRuns/{quote(run_id, safe='')}")["state"])

    def answer_hitl(self, detail: Mapping[str, Any], *options: str) -> dict[str, Any]:
        """Answer a request through ``PATCH .../taskInstances/{task}/{map_index}/hitlDetails``."""
        ti = detail["task_instance"]
        path = (
            f"/dags/{quote(ti['dag_id'])}/dagRuns/{quote(ti['dag_run_id'], safe='')}"
            f"/taskInstances/{quote(ti['task_id'])}/{ti['map_index']}/hitlDetails"
        )
        return dict(self.api("PATCH", path, {"chosen_options": list(options)}))

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        path = f"/dags/{quote(dag_id)}/dagRuns/{quote(run_id, safe='')}/taskInstances"
        return {ti["task_id"]: ti["state"] for ti in self.api("GET", path)["task_instances"]}

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        path = (
            f"/dags/{quote(dag_id)}/dagRuns/{quote(run_id, safe='')}/taskInstances/{quote(task_id)}"
            f"/xcomEntries/{quote(key)}?deserialize=true"
        )
        return self.api("GET", path)["value"]
