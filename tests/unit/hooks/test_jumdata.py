from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_aigc.exceptions import AigcAuthError, AigcSubmitUnconfirmedError, AigcUnknownJobError
from airflow_provider_aigc.hooks.jumdata import PROBE_TASK_ID, JumdataHook
from airflow_provider_aigc.models import JobState
from tests.unit.hooks.fakes import (
    JUMDATA_IMAGE,
    JUMDATA_TASK_ID,
    FakeVendor,
    Reply,
    jumdata_accepted,
    jumdata_done,
    jumdata_error,
)

if TYPE_CHECKING:
    from collections.abc import Callable

KEYS = {"login": "demo-jumdata-app-id", "password": "demo-jumdata-app-secret"}
SUBMIT, QUERY = "/ai/draw/submit", "/ai/draw/query"
DRAW = {"text": "一只在雪地里的狐狸", "resolution": "1024*1024", "style": "水彩画", "num": 2}


class Ticking:
    """A clock that advances 1.5 s on every read, so each signature gets its own timestamp."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 1.5
        return self.now


def _signed(form: dict[str, str]) -> bool:
    expected = hashlib.sha256(
        f"{form['appId']}demo-jumdata-app-secret{form['timestamp']}".encode()
    ).hexdigest()
    return form["sign"] == expected


def test_class_attributes() -> None:
    assert (JumdataHook.conn_type, JumdataHook.default_conn_name, JumdataHook.hook_name) == (
        "aigc_jumdata",
        "aigc_jumdata_default",
        "Jumdata AI drawing",
    )


def test_submit_posts_a_signed_form(vendor: FakeVendor, make_hook: Callable[..., Any]) -> None:
    vendor.script(SUBMIT, Reply(jumdata_accepted()))
    hook = make_hook(JumdataHook, clock=lambda: 1_555_378_976.238, **KEYS)

    ref = hook.submit("ai_draw", DRAW)

    form = vendor.seen(SUBMIT)[0].form
    assert form == {
        "appId": "demo-jumdata-app-id",
        "timestamp": "1555378976238",
        "sign": form["sign"],
        "text": DRAW["text"],
        "resolution": "1024*1024",
        "style": "水彩画",
        "num": "2",
    }
    assert _signed(form)
    assert ref.job_id == JUMDATA_TASK_ID
    assert ref.request == DRAW


def test_status_maps_running_then_done(vendor: FakeVendor, make_hook: Callable[..., Any]) -> None:
    running_body = {**jumdata_done(), "data": {"img": "", "imgUrls": [], "status": 0}}
    vendor.script(QUERY, Reply(running_body), Reply(jumdata_done()))
    hook = make_hook(JumdataHook, **KEYS)

    running = hook.get_status(JUMDATA_TASK_ID, "ai_draw")
    done = hook.get_status(JUMDATA_TASK_ID, "ai_draw")

    assert vendor.seen(QUERY)[0].form["taskId"] == JUMDATA_TASK_ID
    assert running.state is JobState.RUNNING
    assert done.state is JobState.SUCCEEDED
    assert [output.url for output in done.outputs] == [JUMDATA_IMAGE]
    assert done.outputs[0].expires_at == "2023-12-21T14:15:41+00:00"


def test_each_retry_is_signed_with_a_fresh_timestamp(
    vendor: FakeVendor, make_hook: Callable[..., Any]
) -> None:
    vendor.script(QUERY, Reply(jumdata_error(609, "请求过于频繁,请稍候再试")), Reply(jumdata_done()))
    hook = make_hook(JumdataHook, clock=Ticking(), **KEYS)

    hook.get_status(JUMDATA_TASK_ID, "ai_draw")

    forms = [call.form for call in vendor.seen(QUERY)]
    assert len(forms) == 2
    assert forms[0]["timestamp"] != forms[1]["timestamp"]
    assert all(_signed(form) for form in forms)


def test_a_billed_submit_failure_is_sent_once(vendor: FakeVendor, make_hook: Callable[..., Any]) -> None:
    billed = {**jumdata_error(610, "请求超时"), "charge": True}
    vendor.script(SUBMIT, Reply(billed), Reply(jumdata_accepted()))
    hook = make_hook(JumdataHook, **KEYS)

    with pytest.raises(AigcSubmitUnconfirmedError):
        hook.submit("ai_draw", DRAW)

    assert len(vendor.seen(SUBMIT)) == 1


def test_unknown_task_is_not_retried(vendor: FakeVendor, make_hook: Callable[..., Any]) -> None:
    vendor.script(QUERY, Reply(jumdata_error(201, "taskId不存在")))
    with pytest.raises(AigcUnknownJobError):
        make_hook(JumdataHook, **KEYS).get_status("no-such-task", "ai_draw")
    assert len(vendor.seen(QUERY)) == 1


def test_missing_credentials_fail_before_any_call(vendor: FakeVendor, make_hook: Callable[..., Any]) -> None:
    with pytest.raises(AigcAuthError, match="set login to the appId and password to the appSecret"):
        make_hook(JumdataHook, password="demo-jumdata-app-secret").submit("ai_draw", DRAW)
    assert vendor.requests == []


def test_test_connection_treats_unknown_task_as_accepted_credentials(
    vendor: FakeVendor, make_hook: Callable[..., Any]
) -> None:
    vendor.script(QUERY, Reply(jumdata_error(201, "taskId不存在")))
    ok, message = make_hook(JumdataHook, **KEYS).test_connection()
    assert ok is True
    assert "accepted" in message
    assert vendor.seen(QUERY)[0].form["taskId"] == PROBE_TASK_ID


@pytest.mark.parametrize(
    ("code", "msg"), [(601, "接口未开通"), (602, "账号停用"), (604, "接口停用"), (607, "ip不在白名单")]
)
def test_test_connection_reports_auth_failures(
    vendor: FakeVendor, make_hook: Callable[..., Any], code: int, msg: str
) -> None:
    vendor.script(QUERY, Reply(jumdata_error(code, msg)))
    ok, message = make_hook(JumdataHook, **KEYS).test_connection()
    assert ok is False
    assert str(code) in message
    assert "demo-jumdata-app-secret" not in message
    assert len(vendor.seen(QUERY)) == 1
