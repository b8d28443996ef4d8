"""The submit intent: recorded before the paid request leaves, so a lost try never buys twice.

These tests run the real ``ZhipuHook`` and stop its requests at the HTTP adapter (the last step
before the socket), so "before the request leaves" means exactly that.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
import requests
from airflow.sdk.bases.operator import ExecutorSafeguard
from airflow.sdk.exceptions import AirflowFailException, AirflowTaskTimeout
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from airflow_provider_aigc.exceptions import (
    AigcError,
    AigcJobConflictError,
    AigcSubmitUnconfirmedError,
)
from airflow_provider_aigc.operators.submit import JOB_STATE_KEY, CogViewSubmitOperator, request_fingerprint
from tests.unit.hooks.fakes import zhipu_accepted, zhipu_waiting
from tests.unit.operators.fakes import FakeTaskInstance, FakeTaskStateStore, context_with, define_connection

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.usefixtures("vendor_connections")

PROMPT = "荷塘月色"
SUBMIT_PATH = "/v1/cogview"
STATUS_PATH = "/v1/status"


class Wire:
    """Stands in for the network under requests: answers per path, records every request and what
    the task state store held at the moment it was sent."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.answers: dict[str, list[Callable[[], dict[str, Any]]]] = defaultdict(list)
        self.sent: list[tuple[str, Any]] = []
        self.store_when_sent: list[Any] = []
        self.store: FakeTaskStateStore | None = None
        wire = self

        def send(adapter: HTTPAdapter, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
            return wire.answer(request)

        monkeypatch.setattr(HTTPAdapter, "send", send)

    def on(self, path: str, *answers: Callable[[], dict[str, Any]]) -> None:
        self.answers[path].extend(answers)

    def answer(self, request: requests.PreparedRequest) -> requests.Response:
        path = urlsplit(request.url or "").path
        body = json.loads(request.body) if request.body else None
        self.sent.append((path, body))
        self.store_when_sent.append(None if self.store is None else self.store.get(JOB_STATE_KEY))
        if not self.answers[path]:
            raise AssertionError(f"unexpected request to {path}")
        payload = self.answers[path].pop(0)()
        response = requests.Response()
        response.status_code = 200
        response.headers = CaseInsensitiveDict({"content-type": "application/json"})
        response.raw = io.BytesIO(json.dumps(payload).encode())
        response.request = request
        response.url = request.url or ""
        return response

    def submits(self) -> list[Any]:
        return [body for path, body in self.sent if path == SUBMIT_PATH]


@pytest.fixture(autouse=True)
def as_in_the_task_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ExecutorSafeguard, "test_mode", True)


@pytest.fixture
def wire(monkeypatch: pytest.MonkeyPatch) -> Wire:
    return Wire(monkeypatch)


def accepted(job_id: str) -> Callable[[], dict[str, Any]]:
    def answer() -> dict[str, Any]:
        body = zhipu_accepted()
        body["result"]["task_id"] = job_id
        return body

    return answer


def running() -> dict[str, Any]:
    return zhipu_waiting()


def timed_out() -> dict[str, Any]:
    raise AirflowTaskTimeout("Timeout, PID: 4242")  # what execution_timeout raises mid-call


def cogview(query: str = PROMPT) -> CogViewSubmitOperator:
    return CogViewSubmitOperator(task_id="submit", query=query)


def fingerprint(request: dict[str, Any]) -> str:
    return request_fingerprint("zhipu", "cogview", "aigc_zhipu_default", request)


def test_the_intent_is_in_the_store_when_the_paid_request_leaves(wire: Wire) -> None:
    store = wire.store = FakeTaskStateStore()
    wire.on(SUBMIT_PATH, accepted("job-1"))

    result = cogview().execute(context_with(store, FakeTaskInstance(try_number=3)))

    (held,) = wire.store_when_sent
    assert "job" not in held
    assert held["request_sha256"] == fingerprint({"key": "queue1", "query": PROMPT})
    intent = held["intent"]
    assert {name: intent[name] for name in ("vendor", "app", "conn_id", "try_number")} == {
        "vendor": "zhipu",
        "app": "cogview",
        "conn_id": "aigc_zhipu_default",
        "try_number": 3,
    }
    assert intent["sent_at"]
    assert intent["request"] == {"key": "queue1", "query": PROMPT}
    # Once accepted, the job replaces the intent.
    assert store.values[JOB_STATE_KEY] == {"job": result, "request_sha256": held["request_sha256"]}


def test_a_try_timed_out_during_the_submit_makes_the_next_one_refuse_without_any_call(wire: Wire) -> None:
    store = wire.store = FakeTaskStateStore()
    wire.on(SUBMIT_PATH, timed_out)
    first = FakeTaskInstance(try_number=1)

    with pytest.raises(AirflowTaskTimeout):
        cogview().execute(context_with(store, first))

    intent = store.values[JOB_STATE_KEY]["intent"]
    assert len(wire.submits()) == 1

    with pytest.raises(AirflowFailException) as raised:  # AirflowFailException: no task retries
        cogview().execute(context_with(store, FakeTaskInstance(try_number=2)))

    assert isinstance(raised.value.__cause__, AigcSubmitUnconfirmedError)
    message = str(raised.value)
    sent_at = intent["sent_at"]
    sent = "try 1 of this task instance sent a zhipu cogview submit on connection 'aigc_zhipu_default' at"
    assert f"{sent} {sent_at}" in message
    assert "outcome is unknown" in message
    assert "may have been bought" in message
    assert "console or bill" in message
    run = "manual__2024-05-01T08%3A00%3A00%2B00%3A00"
    assert f"DELETE /api/v2/dags/pipeline/dagRuns/{run}/taskInstances/submit/state-store/aigc_job" in message
    assert len(wire.sent) == 1  # the second try sent nothing, not even a status check
    assert store.values[JOB_STATE_KEY]["intent"] == intent


def test_deleting_the_key_is_the_explicit_way_to_buy_again(wire: Wire) -> None:
    store = wire.store = FakeTaskStateStore()
    wire.on(SUBMIT_PATH, timed_out, accepted("job-2"))
    with pytest.raises(AirflowTaskTimeout):
        cogview().execute(context_with(store, FakeTaskInstance()))

    store.delete(JOB_STATE_KEY)  # what the UI / REST API deletion does
    result = cogview().execute(context_with(store, FakeTaskInstance(try_number=2)))

    assert result["job_id"] == "job-2"
    assert len(wire.submits()) == 2


def test_no_request_leaves_when_the_intent_cannot_be_recorded(wire: Wire) -> None:
    class UnreachableStore(FakeTaskStateStore):
        def set(self, key: str, value: Any, *, retention: object = None) -> None:
            raise RuntimeError("execution API unreachable")

    with pytest.raises(AigcError, match="could not record the submit intent") as raised:
        cogview().execute(context_with(UnreachableStore(), FakeTaskInstance()))

    assert type(raised.value) is AigcError  # not fail-fast: nothing was sent, the task's retries apply
    assert "nothing was sent" in raised.value.message
    assert wire.sent == []


def test_a_reordered_mapped_list_buys_nothing_and_keeps_every_earlier_job(wire: Wire) -> None:
    prompts = ["春", "夏", "秋"]
    stores = [FakeTaskStateStore() for _ in prompts]
    wire.on(SUBMIT_PATH, *(accepted(f"job-{prompt}") for prompt in prompts))
    for index, (prompt, store) in enumerate(zip(prompts, stores, strict=True)):
        cogview(prompt).execute(context_with(store, FakeTaskInstance(map_index=index)))
    earlier = [dict(store.values) for store in stores]

    # The task is cleared and the upstream list comes back in another order.
    wire.on(STATUS_PATH, *([running] * len(prompts)))
    for index, (prompt, store) in enumerate(zip(reversed(prompts), stores, strict=True)):
        if prompt == prompts[index]:
            continue  # the middle one kept its place: reused
        with pytest.raises(AirflowFailException) as raised:
            cogview(prompt).execute(context_with(store, FakeTaskInstance(map_index=index)))
        assert isinstance(raised.value.__cause__, AigcJobConflictError)
        message = str(raised.value)
        assert f"job job-{prompts[index]}" in message
        assert "another map index" in message
        assert f"?map_index={index}" in message

    assert len(wire.submits()) == len(prompts)  # no new purchase
    assert [dict(store.values) for store in stores] == earlier  # nothing overwritten


def test_the_connections_queue_is_part_of_the_request_fingerprinted_and_sent(
    wire: Wire, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = wire.store = FakeTaskStateStore()
    define_connection(monkeypatch, "aigc_zhipu_default", extra={"queue": "queue2"})
    wire.on(SUBMIT_PATH, accepted("job-1"))

    cogview().execute(context_with(store, FakeTaskInstance()))

    (sent,) = wire.submits()
    assert sent["key"] == "queue2"
    assert store.values[JOB_STATE_KEY]["request_sha256"] == fingerprint({"key": "queue2", "query": PROMPT})

    # The extra changes between tries: the job bought in queue2 is not taken for a queue3 request.
    define_connection(monkeypatch, "aigc_zhipu_default", extra={"queue": "queue3"})
    wire.on(STATUS_PATH, running)
    with pytest.raises(AirflowFailException) as raised:
        cogview().execute(context_with(store, FakeTaskInstance(try_number=2)))

    assert isinstance(raised.value.__cause__, AigcJobConflictError)
    assert "key: 'queue2' -> 'queue3'" in str(raised.value)
    assert len(wire.submits()) == 1
