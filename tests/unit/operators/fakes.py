"""What the submit-operator tests share: a task state store, a task instance, the vendor connections."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import pytest
    from airflow.sdk import Context


class FakeTaskStateStore:
    """The part of ``context["task_state_store"]`` the operators use, recording every write."""

    def __init__(self, saved: dict[str, Any] | None = None) -> None:
        self.values: dict[str, Any] = dict(saved or {})
        self.writes: list[tuple[str, Any, object]] = []
        self.deletes: list[str] = []

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any, *, retention: object = None) -> None:
        self.values[key] = json.loads(json.dumps(value))  # stored as JSON, like Airflow's
        self.writes.append((key, value, retention))

    def delete(self, key: str) -> None:
        self.values.pop(key, None)
        self.deletes.append(key)


@dataclass(frozen=True)
class FakeTaskInstance:
    """The task instance attributes the operators read from the context."""

    dag_id: str = "pipeline"
    run_id: str = "manual__2024-05-01T08:00:00+00:00"
    task_id: str = "submit"
    map_index: int = -1
    try_number: int = 1


def context_with(store: FakeTaskStateStore, ti: FakeTaskInstance | None = None) -> Context:
    """A task context holding ``task_state_store`` (Airflow's task runner always sets it) and ``ti``."""
    context: dict[str, Any] = {"task_state_store": store}
    if ti is not None:
        context["ti"] = ti
    return cast("Context", context)


# Nothing listens on port 9 (discard): a test that lets a request through fails loudly.
CONNECTIONS = {
    "aigc_zhipu_default": {
        "conn_type": "aigc_zhipu",
        "login": "console-apikey",
        "password": "console-apisecret",
    },
    "aigc_baidu_default": {"conn_type": "aigc_baidu", "login": "api-key", "password": "secret-key"},
    "aigc_jumdata_default": {"conn_type": "aigc_jumdata", "login": "app-id", "password": "app-secret"},
}


def define_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: Any) -> None:
    """An Airflow connection through ``AIRFLOW_CONN_<ID>`` (JSON form)."""
    value = {"host": "http://127.0.0.1:9", **CONNECTIONS.get(conn_id, {}), **fields}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(value))
