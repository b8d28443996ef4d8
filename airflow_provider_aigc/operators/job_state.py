"""What a submit task keeps in its ``task_state_store`` between tries, and what it tells the user.

One key, ``JOB_STATE_KEY``, holds either the *intent* (written before the paid request leaves:
a try that finds it knows a submit was sent and its outcome never recorded) or the *job* (written
once the vendor accepted it). Airflow scopes the key to one task instance (DAG run, task, map
index); retries and ``airflow tasks clear`` keep it, only deleting it (UI or REST API) drops it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from airflow_provider_aigc.models import JobRef

# The key in task_state_store. Renaming it breaks reuse for tries already in flight.
JOB_STATE_KEY = "aigc_job"


def request_fingerprint(vendor: str, app: str, conn_id: str, request: dict[str, Any]) -> str:
    """sha256 of the request exactly as sent and where it goes: a stored job is reused only for it."""
    canonical = json.dumps(
        {"vendor": vendor, "app": app, "conn_id": conn_id, "request": request},
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Intent:
    """A submit that was about to be sent: kept until the job replaces it."""

    request_sha256: str
    vendor: str
    app: str
    conn_id: str
    sent_at: str
    try_number: int | None
    request: dict[str, Any] = field(default_factory=dict)

    def to_state(self) -> dict[str, Any]:
        details = {
            "vendor": self.vendor,
            "app": self.app,
            "conn_id": self.conn_id,
            "sent_at": self.sent_at,
            "try_number": self.try_number,
            "request": self.request,
        }
        return {"intent": details, "request_sha256": self.request_sha256}


@dataclass(frozen=True)
class SavedJob:
    """A job the vendor accepted for the request with this fingerprint."""

    job: JobRef
    request_sha256: str

    def to_state(self) -> dict[str, Any]:
        return {"job": self.job.to_dict(), "request_sha256": self.request_sha256}


def read_state(saved: object) -> Intent | SavedJob | None:
    """The entry stored under ``JOB_STATE_KEY`` (None: nothing stored); ValueError if unreadable."""
    if saved is None:
        return None
    if not isinstance(saved, dict) or not isinstance(saved.get("request_sha256"), str):
        raise ValueError("not a dict with a request_sha256")
    fingerprint: str = saved["request_sha256"]
    job, intent = saved.get("job"), saved.get("intent")
    try:
        if isinstance(job, dict):
            return SavedJob(JobRef.from_dict(job), fingerprint)
        if isinstance(intent, dict):
            try_number = intent.get("try_number")
            return Intent(
                request_sha256=fingerprint,
                vendor=str(intent["vendor"]),
                app=str(intent["app"]),
                conn_id=str(intent["conn_id"]),
                sent_at=str(intent["sent_at"]),
                try_number=try_number if isinstance(try_number, int) else None,
                request=dict(intent.get("request") or {}),
            )
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"incomplete entry ({type(error).__name__}: {error})") from None
    raise ValueError("neither a job nor an intent")


def rebuy_instructions(ti: object | None) -> str:
    """The explicit way to buy again: delete this task instance's key, then clear the task."""
    dag_id, run_id, task_id = (getattr(ti, name, None) for name in ("dag_id", "run_id", "task_id"))
    map_index = getattr(ti, "map_index", None)
    if isinstance(dag_id, str) and isinstance(run_id, str) and isinstance(task_id, str):
        path = (
            f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}"
            f"/taskInstances/{quote(task_id, safe='')}/state-store/{JOB_STATE_KEY}"
        )
        if isinstance(map_index, int) and map_index >= 0:
            path += f"?map_index={map_index}"
    else:
        path = f"/api/v2/dags/<dag_id>/dagRuns/<run_id>/taskInstances/<task_id>/state-store/{JOB_STATE_KEY}"
        path += "[?map_index=<n>]"
    return (
        f"To buy again, delete the key {JOB_STATE_KEY!r} of this task instance (UI: the task"
        f" instance's Task State Store tab; REST API: DELETE {path}), then clear the task."
        " Clearing alone, or a retry, keeps the key and ends the same way."
    )


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> str:
    """``name: old -> new`` for each request field that differs (prompts included; never secrets)."""
    names = sorted(set(before) | set(after))
    changes = [
        f"{name}: {before.get(name)!r} -> {after.get(name)!r}"
        for name in names
        if before.get(name) != after.get(name)
    ]
    return "; ".join(changes) or "same fields, other connection or vendor"
