"""A submit task in a worker process of its own, for the worker-killed tests.

``python -m tests.reliability.killed_worker STORE_FILE PROMPT MODE TRY_NUMBER`` runs
``CogViewSubmitOperator.execute`` with a task_state_store kept in ``STORE_FILE`` (as Airflow keeps it
in its database, outside the worker). ``MODE``:

- ``kill-after-job``: the process SIGKILLs itself the moment the accepted job has been saved (no
  exception, no ``finally``, no ``on_kill``, as when the OOM killer takes a worker);
- ``kill-on-answer``: it SIGKILLs itself the moment the vendor's answer to the submit arrives,
  before the hook reads it (the vendor took and billed the job; the worker never learnt its id);
- ``run``: runs the task; prints ``JOBREF <json>`` on success, or ``FAILED <error class> <cause
  class>`` and the message and exits 1. The test may SIGKILL it while its submit is in flight.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from requests.adapters import HTTPAdapter

from airflow_provider_aigc.operators.submit import CogViewSubmitOperator

if TYPE_CHECKING:
    import requests


class FileTaskStateStore:
    """``get``/``set``/``delete`` like Airflow's TaskStateStoreAccessor, persisted in a JSON file."""

    def __init__(self, path: Path, *, die_after_job: bool) -> None:
        self.path = path
        self.die_after_job = die_after_job

    def _load(self) -> dict[str, Any]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def _write(self, data: dict[str, Any]) -> None:
        scratch = self.path.with_suffix(".tmp")
        scratch.write_text(json.dumps(data))
        scratch.replace(self.path)  # a reader never sees half a file

    def get(self, key: str, default: Any = None) -> Any:
        return self._load().get(key, default)

    def set(self, key: str, value: Any, *, retention: Any = None) -> None:
        self._write({**self._load(), key: value})
        if self.die_after_job and "job" in value:
            os.kill(os.getpid(), signal.SIGKILL)

    def delete(self, key: str) -> None:
        data = self._load()
        data.pop(key, None)
        self._write(data)


@dataclass(frozen=True)
class TaskInstance:
    """What the operator reads from ``context["ti"]``."""

    try_number: int
    dag_id: str = "worker_killed"
    run_id: str = "manual__2024-05-01T08:00:00+00:00"
    task_id: str = "submit"
    map_index: int = -1


def die_when_the_submit_is_answered() -> None:
    """SIGKILL this process as soon as the answer to a CogView submit comes in."""
    send = HTTPAdapter.send

    def send_then_die(adapter: HTTPAdapter, request: requests.PreparedRequest, **kwargs: Any) -> Any:
        response = send(adapter, request, **kwargs)
        if (request.path_url or "").startswith("/v1/cogview"):
            os.kill(os.getpid(), signal.SIGKILL)
        return response

    HTTPAdapter.send = send_then_die  # type: ignore[method-assign]


def main() -> None:
    store_file, prompt, mode, try_number = sys.argv[1:5]
    store = FileTaskStateStore(Path(store_file), die_after_job=mode == "kill-after-job")
    if mode == "kill-on-answer":
        die_when_the_submit_is_answered()
    context: Any = {"task_state_store": store, "ti": TaskInstance(try_number=int(try_number))}
    try:
        job = CogViewSubmitOperator(task_id="submit", query=prompt).execute(context)
    except Exception as error:
        cause = type(error.__cause__).__name__ if error.__cause__ else "-"
        print(f"FAILED {type(error).__name__} {cause}\n{error}")
        sys.exit(1)
    print("JOBREF " + json.dumps(job))


if __name__ == "__main__":
    main()
