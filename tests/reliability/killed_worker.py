"""A submit task in a worker process of its own, for the worker-killed test.

``python -m tests.reliability.killed_worker STORE_FILE PROMPT kill|retry`` runs
``CogViewSubmitOperator.execute`` with a task_state_store kept in ``STORE_FILE`` (as Airflow keeps it
in its database, outside the worker). With ``kill`` the process SIGKILLs itself the moment the job
has been saved: no exception, no ``finally``, no ``on_kill``, as when the OOM killer takes a worker.
With ``retry`` it runs the task again and prints the returned JobRef as JSON.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from airflow_provider_aigc.operators.submit import CogViewSubmitOperator


class FileTaskStateStore:
    """``get``/``set`` like Airflow's TaskStateStoreAccessor, persisted in a JSON file."""

    def __init__(self, path: Path, *, die_after_set: bool) -> None:
        self.path = path
        self.die_after_set = die_after_set

    def _load(self) -> dict[str, Any]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def get(self, key: str) -> Any:
        return self._load().get(key)

    def set(self, key: str, value: Any, retention: Any = None) -> None:
        data = self._load()
        data[key] = value
        self.path.write_text(json.dumps(data))
        if self.die_after_set:
            os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    store_file, prompt, mode = sys.argv[1:4]
    store = FileTaskStateStore(Path(store_file), die_after_set=mode == "kill")
    context: Any = {"task_state_store": store}
    job = CogViewSubmitOperator(task_id="submit", query=prompt).execute(context)
    print("JOBREF " + json.dumps(job))


if __name__ == "__main__":
    main()
