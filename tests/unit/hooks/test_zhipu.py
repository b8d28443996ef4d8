from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_aigc.exceptions import AigcAuthError, AigcInvalidRequestError
from airflow_provider_aigc.hooks.zhipu import PROBE_TASK_ID, ZhipuHook
from airflow_provider_aigc.models import JobState
from airflow_provider_aigc.vendors.zhipu import derive_keys
from tests.unit.hooks.fakes import (
    ZHIPU_IMAGE,
    ZHIPU_TASK_ID,
    FakeVendor,
    Reply,
    zhipu_accepted,
    zhipu_done,
    zhipu_error,
    zhipu_waiting,
)

if TYPE_CHECKING:
    from collections.abc import Callable

CONSOLE = {"login": "demo-zhipu-console-apikey", "password": "demo-zhipu-console-apisecret"}
DERIVE = {
    "secret_app_key": "demo-zhipu-app-key",
    "app_secret": "demo-zhipu-app-secret",
    "secret_des3_key": "demo-zhipu-des3-key-24b!",
}
# The names before 0.2: still accepted, with a warning (Airflow's API and UI show them in clear).
DERIVE_OLD_NAMES = {
    "app_key": "demo-zhipu-app-key",
    "app_secret": "demo-zhipu-app-secret",
    "des3_key": "demo-zhipu-des3-key-24b!",
}


def test_class_attributes() -> None:
    assert ZhipuHook.conn_type == "aigc_zhipu"
    assert ZhipuHook.default_conn_name == "aigc_zhipu_default"
    assert ZhipuHook.hook_name == "Zhipu AIGC (CogView, news)"
    assert ZhipuHook.conn_name_attr == "conn_id"
    assert ZhipuHook().conn_id == "aigc_zhipu_default"
    assert ZhipuHook().vendor == "zhipu"
    assert ZhipuHook().apps == frozenset({"cogview", "news_generate"})


def test_submit_with_console_keys_sends_them_as_they_are(
    vendor: FakeVendor, make_hook: Callable[..., Any]
) -> None:
    vendor.script("/v1/cogview", Reply(zhipu_accepted()))
    hook = make_hook(ZhipuHook, **CONSOLE)

    ref = hook.submit("cogview", {"query": "美国男篮大战中国男篮"})

    (seen,) = vendor.seen("/v1/cogview")
    assert seen.method == "POST"
    assert seen.json == {
        "key": "queue1",
        "query": "美国男篮大战中国男篮",
        "apikey": "demo-zhipu-console-apikey",
        "apisecret": "demo-zhipu-console-apisecret",
    }
    assert (ref.vendor, ref.app, ref.conn_id, ref.job_id) == ("zhipu", "cogview", hook.conn_id, ZHIPU_TASK_ID)
    assert ref.request == {"key": "queue1", "query": "美国男篮大战中国男篮"}
    assert ref.submitted_at is not None


@pytest.mark.parametrize(
    ("app", "params", "path"),
    [
        ("cogview", {"query": "睡莲"}, "/v1/cogview"),
        ("news_generate", {"content": "神州十三号飞船发射成功", "max_length": "100"}, "/v1/news"),
    ],
)
def test_submit_derives_per_api_keys_and_uses_the_connection_queue(
    vendor: FakeVendor, make_hook: Callable[..., Any], app: str, params: dict[str, Any], path: str
) -> None:
    vendor.script(path, Reply(zhipu_accepted(app)))
    hook = make_hook(ZhipuHook, queue="queue7", **DERIVE)

    ref = hook.submit(app, params)

    expected = derive_keys(app, DERIVE["secret_app_key"], DERIVE["app_secret"], DERIVE["secret_des3_key"])
    body = vendor.seen(path)[0].json
    assert (body["apikey"], body["apisecret"]) == (expected.apikey, expected.apisecret)
    assert body["key"] == "queue7"
    assert "apikey" not in ref.request
    assert "apisecret" not in ref.request


def test_an_explicit_queue_parameter_wins_over_the_connection(
    vendor: FakeVendor, make_hook: Callable[..., Any]
) -> None:
    vendor.script("/v1/cogview", Reply(zhipu_accepted()))
    hook = make_hook(ZhipuHook, queue="queue7", **CONSOLE)
    hook.submit("cogview", {"query": "睡莲", "key": "queue2"})
    assert vendor.seen("/v1/cogview")[0].json["key"] == "queue2"


def test_get_status_maps_waiting_and_done(vendor: FakeVendor, make_hook: Callable[..., Any]) -> None:
    vendor.script("/v1/status", Reply(zhipu_waiting("37%")), Reply(zhipu_done()))
    hook = make_hook(ZhipuHook, output_ttl_seconds=3600, **CONSOLE)

    running = hook.get_status(ZHIPU_TASK_ID, "cogview")
    done = hook.get_status(ZHIPU_TASK_ID, "cogview")

    assert vendor.seen("/v1/status")[0].query == {"task_id": ZHIPU_TASK_ID}
    assert (running.state, running.progress, running.conn_id) == (JobState.RUNNING, 0.37, hook.conn_id)
    assert done.state is JobState.SUCCEEDED
    assert [output.url for output in done.outputs] == [ZHIPU_IMAGE]
    # updated_at "Fri, 16 Jul 2021 09:11:31 GMT" + the connection's one-hour TTL
    assert done.outputs[0].expires_at == "2021-07-16T10:11:31+00:00"
    assert done.conn_id == hook.conn_id


def test_vendor_auth_error_is_raised_without_retry(vendor: FakeVendor, make_hook: Callable[..., Any]) -> None:
    vendor.script("/v1/cogview", Reply(zhipu_error(10002, "apikey校验不成功")))
    hook = make_hook(ZhipuHook, **CONSOLE)
    with pytest.raises(AigcAuthError, match="10002"):
        hook.submit("cogview", {"query": "睡莲"})
    assert len(vendor.seen("/v1/cogview")) == 1


def test_missing_credentials_say_which_fields_to_set(
    vendor: FakeVendor, make_hook: Callable[..., Any]
) -> None:
    hook = make_hook(ZhipuHook, login="demo-zhipu-console-apikey", secret_app_key="demo-zhipu-app-key")
    with pytest.raises(AigcAuthError) as raised:
        hook.submit("cogview", {"query": "睡莲"})
    message = raised.value.message
    assert "set login and password" in message
    assert "the password is missing" in message
    assert "missing: app_secret, secret_des3_key" in message
    assert "demo-zhipu-console-apikey" not in message
    assert vendor.requests == []


def test_invalid_parameters_fail_before_any_call(vendor: FakeVendor, make_hook: Callable[..., Any]) -> None:
    hook = make_hook(ZhipuHook, **CONSOLE)
    with pytest.raises(AigcInvalidRequestError):
        hook.submit("news_generate", {"content": "x", "max_length": 0})
    assert hook.validate("cogview", {"query": "睡莲"}) == {"key": "queue1", "query": "睡莲"}
    assert vendor.requests == []


@pytest.mark.parametrize(
    ("fields", "phrase"),
    [(CONSOLE, "Console apikey/apisecret"), (DERIVE, "derived for cogview, news_generate")],
)
def test_test_connection_checks_credentials_then_probes_the_status_endpoint(
    vendor: FakeVendor, make_hook: Callable[..., Any], fields: dict[str, str], phrase: str
) -> None:
    vendor.script("/v1/status", Reply(zhipu_error(404, "task not found"), status=404))
    result, message = make_hook(ZhipuHook, **fields).test_connection()
    assert result is True, message
    assert phrase in message
    assert "answers as Zhipu" in message
    (probe,) = vendor.requests
    assert (probe.path, probe.query["task_id"]) == ("/v1/status", PROBE_TASK_ID)


@pytest.mark.parametrize(
    "reply",
    [
        Reply({"detail": "Not Found"}, status=404),  # some other server at the host
        Reply(zhipu_waiting(), status=200),  # "knows" a task no job has: not a Zhipu API
    ],
)
def test_test_connection_fails_when_the_host_is_not_zhipu(
    vendor: FakeVendor, make_hook: Callable[..., Any], reply: Reply
) -> None:
    vendor.script("/v1/status", reply)
    result, message = make_hook(ZhipuHook, **CONSOLE).test_connection()
    assert result is False
    assert "demo-zhipu-console-apisecret" not in message


@pytest.mark.parametrize(
    ("fields", "phrase"),
    [
        ({"secret_app_key": "demo-zhipu-app-key"}, "missing: app_secret, secret_des3_key"),
        ({"app_key": "demo-zhipu-app-key"}, "missing: app_secret, secret_des3_key"),
        ({**DERIVE, "secret_des3_key": "short"}, "des3_key must be 16 or 24 bytes"),
    ],
)
def test_test_connection_reports_missing_credentials_without_calling_zhipu(
    vendor: FakeVendor, make_hook: Callable[..., Any], fields: dict[str, str], phrase: str
) -> None:
    result, message = make_hook(ZhipuHook, **fields).test_connection()
    assert result is False
    assert phrase in message
    assert vendor.requests == []


def test_old_secret_extra_names_still_derive_the_keys_and_warn(
    vendor: FakeVendor, make_hook: Callable[..., Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """Regression (issue 10 item 7): the renamed extras keep the old names working."""
    vendor.script("/v1/cogview", Reply(zhipu_accepted()))
    hook = make_hook(ZhipuHook, **DERIVE_OLD_NAMES)

    hook.submit("cogview", {"query": "睡莲"})

    expected = derive_keys("cogview", *DERIVE_OLD_NAMES.values())
    body = vendor.seen("/v1/cogview")[0].json
    assert (body["apikey"], body["apisecret"]) == (expected.apikey, expected.apisecret)
    captured = capsys.readouterr()
    warned = captured.out + captured.err
    assert "'app_key'" in warned
    assert "'secret_app_key'" in warned
    assert "'des3_key'" in warned
    assert "'secret_des3_key'" in warned
    assert DERIVE_OLD_NAMES["des3_key"] not in warned


def test_old_and_new_secret_names_with_different_values_are_refused(
    vendor: FakeVendor, make_hook: Callable[..., Any]
) -> None:
    hook = make_hook(ZhipuHook, **DERIVE, des3_key="another-des3-key-of-24b!")
    with pytest.raises(AigcInvalidRequestError, match="'secret_des3_key' and 'des3_key'") as raised:
        hook.submit("cogview", {"query": "睡莲"})
    assert "another-des3-key-of-24b!" not in raised.value.message
    assert DERIVE["secret_des3_key"] not in raised.value.message
    assert vendor.requests == []
