from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from Crypto.Cipher import DES3
from Crypto.Util.Padding import unpad
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_aigc.exceptions import (
    AigcAuthError,
    AigcError,
    AigcInvalidRequestError,
    AigcQuotaExceededError,
    AigcRateLimitError,
    AigcServerError,
    AigcUnknownJobError,
)
from airflow_provider_aigc.models import JobError, JobState, JobStatus, Output
from airflow_provider_aigc.vendors import zhipu
from airflow_provider_aigc.vendors.base import HttpResponse

from .json_strategies import documented_responses, single_mutations

NOW = datetime(2021, 7, 16, 9, 0, 0, tzinfo=timezone.utc)
KEYS = zhipu.ZhipuKeys(apikey="the-apikey", apisecret="the-apisecret")

# Examples copied from the seeds (zhipu_cogview_api.md, its PDF extract, zhipu_news_generate_api.md);
# the "……" elision in the finished CogView example is left out.
COGVIEW_SUBMITTED: dict[str, Any] = {
    "message": "success",
    "result": {
        "app": "cogview",
        "created_at": "Fri, 16 Jul 2021 09:11:31 GMT",
        "input": {"text": "美国男篮大战中国男篮"},
        "output": {},
        "process_time": 0,
        "task_id": "a102d896f571e588",
        "updated_at": "Fri, 16 Jul 2021 09:11:31 GMT",
        "user": {"appId": "60cb108b9777582444f7b867", "id": "111", "name": "222"},
    },
    "status": 0,
}
COGVIEW_WAITING_PDF: dict[str, Any] = {
    "message": "success",
    "result": {
        "app": "cogview",
        "input": {"text": "埃及高原"},
        "key": "queue6",
        "progress": {"value": "0%"},
        "status": "wait",
        "task_id": "f037fb6ebb645ef8",
    },
    "status": 0,
}
COGVIEW_DONE: dict[str, Any] = {
    "message": "success",
    "result": {
        "app": "cogview",
        "created_at": "Fri, 16 Jul 2021 08:13:51 GMT",
        "id": "60f13fbfecaa9ff2e9e4ddbc",
        "input": {"text": "美国男篮大战中国男篮"},
        "output": [
            "https://wudao.aminer.cn/api/cogview//get-image/b612f9bcf678b16c/1626420752215/0.jpg",
            "https://wudao.aminer.cn/api/cogview//get-image/b612f9bcf678b16c/1626420752215/1.jpg",
        ],
        "process_time": 279.701,
        "updated_at": "Fri, 16 Jul 2021 08:26:23 GMT",
        "user": {"appId": "60cb108b9777582444f7b864", "id": "111", "name": "222"},
    },
    "status": 0,
}
NEWS_WAITING: dict[str, Any] = {
    "message": "success",
    "result": {
        "app": "news_generate",
        "input": {"content": "神州五号飞船发射成功", "max_length": 100},
        "key": "queue1",
        "progress": {"value": "0%"},
        "status": "wait",
        "task_id": "60d1b1a31e5be828b0f11aeb",
    },
    "status": 0,
}
NEWS_TEXT = (
    "启动长六火箭溅落大洋神州十三号载人飞船发射成功,标志着中国具备了将有效载荷送入近地轨道的能力。"
    "受本轮调整影响,此前长征六号火箭发射的13艘飞船,仅有13艘顺利入轨。"
    "据不完全统计,神舟飞船将要运输的物资数量,目前约为6吨。"
)
NEWS_DONE: dict[str, Any] = {
    "message": "success",
    "result": {
        "app": "news_generate",
        "created_at": "Tue, 22 Jun 2021 10:19:05 GMT",
        "input": {"content": "神州五号飞船发射成功", "max_length": 100},
        "output": {"text": NEWS_TEXT},
        "process_time": 2.6870505809783936,
        "task_id": "60d1b914d39ec174d4d46b7e",
        "updated_at": "Tue, 22 Jun 2021 10:19:05 GMT",
        "user": {"id": "113", "name": "222"},
    },
    "status": 0,
}
DOCUMENTED = [COGVIEW_SUBMITTED, COGVIEW_WAITING_PDF, COGVIEW_DONE, NEWS_WAITING, NEWS_DONE]


def answer(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    return HttpResponse(status, json.dumps(body, ensure_ascii=False).encode(), headers or {})


def with_result(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**base, "result": {**base["result"], **changes}}


def status_of(body: Any, app: str = "cogview", ttl: float | None = None, http: int = 200) -> JobStatus:
    return zhipu.parse_status(answer(body, http), job_id="job-1", app=app, now=NOW, output_ttl_seconds=ttl)


# --- module surface -------------------------------------------------------------------------------


def test_module_constants() -> None:
    assert zhipu.VENDOR == "zhipu"
    assert frozenset({"cogview", "news_generate"}) == zhipu.APPS
    assert zhipu.DEFAULT_BASE_URL == "https://pretrain.aminer.cn/api"
    assert set(zhipu.DEFAULT_POLL_INTERVAL) == zhipu.APPS
    assert zhipu.DEFAULT_POLL_INTERVAL["news_generate"] < zhipu.DEFAULT_POLL_INTERVAL["cogview"]


# --- validation -----------------------------------------------------------------------------------


def test_validate_cogview_fills_the_default_queue() -> None:
    assert zhipu.validate("cogview", {"query": "美国男篮大战中国男篮"}) == {
        "key": "queue1",
        "query": "美国男篮大战中国男篮",
    }


def test_validate_keeps_an_explicit_queue_and_drops_none() -> None:
    assert zhipu.validate("cogview", {"query": "q", "key": "queue6"})["key"] == "queue6"
    assert zhipu.validate("cogview", {"query": "q", "key": None})["key"] == "queue1"


def test_validate_news_coerces_a_templated_max_length() -> None:
    request = zhipu.validate("news_generate", {"content": "神州十三号飞船发射成功", "max_length": "100"})
    assert request == {"key": "queue1", "content": "神州十三号飞船发射成功", "max_length": 100}


@pytest.mark.parametrize("query", ["", "   ", None, 42])
def test_validate_rejects_a_blank_or_missing_query(query: object) -> None:
    with pytest.raises(AigcInvalidRequestError, match=r"^query must be a non-blank string \(Zhipu limit\)"):
        zhipu.validate("cogview", {"query": query})


@pytest.mark.parametrize("content", ["", "\n", None])
def test_validate_rejects_blank_news_content(content: object) -> None:
    with pytest.raises(AigcInvalidRequestError, match=r"^content must be a non-blank string"):
        zhipu.validate("news_generate", {"content": content, "max_length": 100})


@pytest.mark.parametrize("max_length", [0, -1, True, 2.5, "ten", None])
def test_validate_rejects_bad_max_length(max_length: object) -> None:
    with pytest.raises(AigcInvalidRequestError, match=r"^max_length must be an integer >= 1 \(Zhipu limit\)"):
        zhipu.validate("news_generate", {"content": "c", "max_length": max_length})


def test_validate_accepts_max_length_one() -> None:
    assert zhipu.validate("news_generate", {"content": "c", "max_length": 1})["max_length"] == 1


def test_validate_rejects_unknown_parameters_and_apps() -> None:
    with pytest.raises(AigcInvalidRequestError, match="unknown parameter"):
        zhipu.validate("cogview", {"query": "q", "content": "c"})
    with pytest.raises(AigcInvalidRequestError, match="unknown parameter"):
        zhipu.validate("cogview", {"query": "q", "apikey": "x"})
    with pytest.raises(AigcInvalidRequestError, match="zhipu has no app 'poem'"):
        zhipu.validate("poem", {"query": "q"})


def test_describe_request_is_a_plain_copy() -> None:
    request = zhipu.validate("cogview", {"query": "q"})
    described = zhipu.describe_request("cogview", request)
    assert described == request
    assert described is not request


# --- request builders -----------------------------------------------------------------------------


def test_build_submit_cogview() -> None:
    request = zhipu.build_submit("cogview", {"key": "queue1", "query": "美国男篮大战中国男篮"}, KEYS, 0.0)
    assert request.method == "POST"
    assert request.path == "/v1/cogview"
    assert request.json == {
        "key": "queue1",
        "query": "美国男篮大战中国男篮",
        "apikey": "the-apikey",
        "apisecret": "the-apisecret",
    }
    assert request.form is None
    assert request.secret_fields == frozenset({"apikey", "apisecret"})


def test_build_submit_news() -> None:
    request = zhipu.build_submit(
        "news_generate", {"key": "queue1", "content": "神州十三号飞船发射成功", "max_length": 100}, KEYS, 0.0
    )
    assert (request.method, request.path) == ("POST", "/v1/news")
    assert request.json == {
        "key": "queue1",
        "content": "神州十三号飞船发射成功",
        "max_length": 100,
        "apikey": "the-apikey",
        "apisecret": "the-apisecret",
    }
    assert request.secret_fields == frozenset({"apikey", "apisecret"})


def test_build_status() -> None:
    request = zhipu.build_status("a102d896f571e588", "cogview", KEYS, 0.0)
    assert (request.method, request.path) == ("GET", "/v1/status")
    assert request.params == {"task_id": "a102d896f571e588"}
    assert request.json is None
    assert request.secret_fields == frozenset()


def test_build_status_rejects_a_blank_job_id() -> None:
    with pytest.raises(AigcInvalidRequestError, match="job_id"):
        zhipu.build_status(" ", "cogview", KEYS, 0.0)


# --- DES3 credential derivation ---------------------------------------------------------------------

DEMO_DES3_KEY = "demo-zhipu-des3-key-24b!"


def decrypt(des3_key: bytes, blob: str) -> str:
    """An independent path back to the plain text: raw key bytes (DES ignores parity bits)."""
    return unpad(DES3.new(des3_key, DES3.MODE_ECB).decrypt(base64.b64decode(blob)), 8).decode()


@pytest.mark.parametrize("api_name", ["cogview", "news_generate"])
def test_demo_credentials_decrypt_to_the_documented_layout(api_name: str) -> None:
    keys = zhipu.derive_keys(api_name, "demo-zhipu-app-key", "demo-zhipu-app-secret", DEMO_DES3_KEY)
    assert decrypt(DEMO_DES3_KEY.encode(), keys.apikey) == f"{api_name}:demo-zhipu-app-key"
    assert decrypt(DEMO_DES3_KEY.encode(), keys.apisecret) == f"{api_name}:demo-zhipu-app-secret"


def test_fixed_vector_for_the_demo_credentials() -> None:
    # Computed once with pycryptodome; the test above checks the same layout by decryption.
    keys = zhipu.derive_keys("cogview", "demo-zhipu-app-key", "demo-zhipu-app-secret", DEMO_DES3_KEY)
    assert keys.apikey == "Q1isfZkVAPA58xTQZuXFxvZuRoSPCjvUWhh4CVlprNo="
    assert keys.apisecret == "Q1isfZkVAPA58xTQZuXFxtONBNvjvS3a/foSX4wGSf4="


def test_fixed_vector_for_a_base64_key() -> None:
    raw_key = bytes(range(24))
    keys = zhipu.derive_keys("cogview", "app-key-1", "app-secret-1", base64.b64encode(raw_key).decode())
    assert keys.apikey == "BnxqdVHGPXXWxlCyvbSV25UZy4YaQw1t"
    assert keys.apisecret == "BnxqdVHGPXWFjCzNCiD2vzwb8oTnBTpm"
    assert decrypt(raw_key, keys.apikey) == "cogview:app-key-1"
    assert decrypt(raw_key, keys.apisecret) == "cogview:app-secret-1"


def test_zhipu_keys_repr_hides_the_credentials() -> None:
    keys = zhipu.derive_keys("cogview", "demo-zhipu-app-key", "demo-zhipu-app-secret", DEMO_DES3_KEY)
    assert keys.apikey not in repr(keys)
    assert keys.apisecret not in repr(keys)


@pytest.mark.parametrize("text", ["0123456789abcdef", "0123456789abcdefghijklmn", "密钥密钥密钥密钥"])
def test_parse_des3_key_takes_16_or_24_utf8_bytes_as_they_are(text: str) -> None:
    key = zhipu.parse_des3_key(text)
    assert len(key) == len(text.encode())
    # Only the parity bit (lowest bit) of each byte may change.
    assert [b & 0xFE for b in key] == [b & 0xFE for b in text.encode()]
    assert all(bin(b).count("1") % 2 == 1 for b in key)


def test_parse_des3_key_decodes_base64_of_24_bytes() -> None:
    raw = bytes(range(100, 124))
    assert zhipu.parse_des3_key(base64.b64encode(raw).decode()) == DES3.adjust_key_parity(raw)


@pytest.mark.parametrize("raw", [bytes(range(100, 116)), b"0123456789abcdef", bytes(range(200, 216))])
def test_parse_des3_key_decodes_standard_padded_base64_of_16_bytes(raw: bytes) -> None:
    """Regression (issue 10 item 6): ``base64.b64encode`` of a 16-byte key is 24 characters; it was
    read as a 24-byte text key, so every derived key was wrong."""
    text = base64.b64encode(raw).decode()
    assert len(text) == 24
    assert text.endswith("==")
    assert zhipu.parse_des3_key(text) == DES3.adjust_key_parity(raw)
    assert zhipu.parse_des3_key(text.rstrip("=")) == DES3.adjust_key_parity(raw)


@pytest.mark.parametrize(
    "text",
    [
        "abcdefghijklmnopqrstuvB=",  # not base64 of 16/24 bytes (17 bytes)
        "abcdefghijklmnopqrstuB==",  # decodes, but not as base64 writes it (non-canonical)
        "abc.efghijklmnopqrstuA==",  # not the base64 alphabet
    ],
)
def test_parse_des3_key_reads_other_24_byte_texts_as_text(text: str) -> None:
    assert zhipu.parse_des3_key(text) == DES3.adjust_key_parity(text.encode())


def test_parse_des3_key_refuses_text_utf8_cannot_encode() -> None:
    with pytest.raises(AigcAuthError, match="UTF-8 cannot encode"):
        zhipu.parse_des3_key("0123456789abcde\ud800")


SECRET_LOOKING = "s3cr3t-k3y-that-must-not-leak"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (SECRET_LOOKING, "not base64"),
        (base64.b64encode(b"8 bytes!").decode(), "decodes to 8 bytes"),
        (base64.b64encode(SECRET_LOOKING.encode()).decode(), "decodes to 29 bytes"),
        ("abcde", "not base64"),
        ("", "decodes to 0 bytes"),
    ],
)
def test_parse_des3_key_rejects_other_sizes_without_quoting_the_key(text: str, reason: str) -> None:
    with pytest.raises(AigcAuthError) as info:
        zhipu.parse_des3_key(text)
    assert reason in str(info.value)
    assert "16 or 24 bytes" in str(info.value)
    assert (text or "\0") not in str(info.value)
    assert SECRET_LOOKING not in str(info.value)


@pytest.mark.parametrize("text", ["A" * 24, "abcdefghabcdefghzyxwvuts", "0123456701234567"])
def test_parse_des3_key_rejects_degenerate_keys(text: str) -> None:
    with pytest.raises(AigcAuthError, match="degenerates to single DES") as info:
        zhipu.parse_des3_key(text)
    assert text not in str(info.value)


def test_derive_keys_does_not_leak_credentials_on_a_bad_key() -> None:
    with pytest.raises(AigcAuthError) as info:
        zhipu.derive_keys("cogview", "my-app-key", "my-app-secret", SECRET_LOOKING)
    message = str(info.value)
    assert "my-app-key" not in message
    assert "my-app-secret" not in message
    assert SECRET_LOOKING not in message


def test_parse_des3_key_rejects_non_strings() -> None:
    with pytest.raises(AigcAuthError, match="got NoneType"):
        zhipu.parse_des3_key(None)  # type: ignore[arg-type]


# --- parse_submit ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "task_id"),
    [
        (COGVIEW_SUBMITTED, "a102d896f571e588"),
        (COGVIEW_WAITING_PDF, "f037fb6ebb645ef8"),
        (NEWS_WAITING, "60d1b1a31e5be828b0f11aeb"),
    ],
)
def test_parse_submit_reads_the_documented_examples(body: dict[str, Any], task_id: str) -> None:
    assert zhipu.parse_submit(answer(body)) == task_id


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (10001, AigcAuthError),
        (10002, AigcAuthError),
        (10003, AigcRateLimitError),
        (10004, AigcQuotaExceededError),
        (10099, AigcServerError),
        (-1, AigcServerError),
    ],
)
def test_parse_submit_maps_the_error_code_table(code: int, cls: type[AigcError]) -> None:
    body = {"status": code, "message": "apikey校验不成功", "result": {}}
    with pytest.raises(cls) as info:
        zhipu.parse_submit(answer(body))
    assert type(info.value) is cls
    assert info.value.code == str(code)
    assert "apikey校验不成功" in str(info.value)


def test_parse_status_maps_the_error_code_table_too() -> None:
    with pytest.raises(AigcRateLimitError):
        status_of({"status": 10003, "message": "接口速率超限制", "result": {}})


def test_vendor_code_in_a_non_2xx_answer_wins_over_the_http_status() -> None:
    with pytest.raises(AigcQuotaExceededError):
        zhipu.parse_submit(answer({"status": 10004, "message": "接口周期次数超限制"}, status=429))


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (401, b"unauthorized", AigcAuthError),
        (429, b"", AigcRateLimitError),
        (502, b"<html>bad gateway</html>", AigcServerError),
        (404, b"<html>not found</html>", AigcInvalidRequestError),
        (404, b'{"status": 404, "message": "task not found"}', AigcInvalidRequestError),
        (500, b'{"status": 10007, "message": "?"}', AigcServerError),
    ],
)
def test_parse_submit_classifies_http_errors(status: int, body: bytes, cls: type[AigcError]) -> None:
    with pytest.raises(cls) as info:
        zhipu.parse_submit(HttpResponse(status, body, {"retry-after": "4"}))
    assert type(info.value) is cls
    assert info.value.code == str(status)


def test_parse_submit_marks_a_429_as_a_refusal() -> None:
    # Retry-After is read by the hook (hooks.retry.parse_retry_after, the one parser).
    with pytest.raises(AigcRateLimitError) as info:
        zhipu.parse_submit(HttpResponse(429, b"slow down", {"retry-after": "4"}))
    assert info.value.refused


@pytest.mark.parametrize(
    "body",
    [
        b"<html>ok</html>",
        b"[]",
        b'{"status": 0}',
        b'{"status": 0, "result": []}',
        b'{"status": 0, "result": {}}',
        b'{"status": 0, "result": {"task_id": 17}}',
        b'{"status": 0, "result": {"task_id": "  "}}',
        b'{"status": "ok", "result": {"task_id": "x"}}',
        b'{"message": "success", "result": {"task_id": "x"}}',
    ],
)
def test_parse_submit_rejects_malformed_bodies_quoting_them(body: bytes) -> None:
    with pytest.raises(AigcServerError) as info:
        zhipu.parse_submit(HttpResponse(200, body))
    assert body.decode()[:20] in str(info.value)


# --- parse_status ---------------------------------------------------------------------------------


def test_running_cogview_example_without_progress_is_running() -> None:
    assert status_of(COGVIEW_SUBMITTED, ttl=3600) == JobStatus("zhipu", "cogview", "job-1", JobState.RUNNING)


@pytest.mark.parametrize(("body", "app"), [(COGVIEW_WAITING_PDF, "cogview"), (NEWS_WAITING, "news_generate")])
def test_waiting_at_zero_percent_is_queued(body: dict[str, Any], app: str) -> None:
    assert status_of(body, app) == JobStatus("zhipu", app, "job-1", JobState.QUEUED, 0.0)


def test_progress_above_zero_is_running() -> None:
    body = with_result(NEWS_WAITING, progress={"value": "37%"})
    assert status_of(body, "news_generate") == JobStatus(
        "zhipu", "news_generate", "job-1", JobState.RUNNING, 0.37
    )


@pytest.mark.parametrize("output", [{}, [], None])
def test_empty_or_absent_output_means_not_done(output: object) -> None:
    result = {k: v for k, v in NEWS_WAITING["result"].items()}
    if output is None:
        result.pop("output", None)
    else:
        result["output"] = output
    assert status_of({**NEWS_WAITING, "result": result}, "news_generate").state is JobState.QUEUED


def test_finished_cogview_lists_every_image_with_ttl_expiry() -> None:
    status = status_of(COGVIEW_DONE, ttl=3600)
    expires = "2021-07-16T09:26:23+00:00"  # updated_at 08:26:23 GMT + 1 h
    urls = COGVIEW_DONE["result"]["output"]
    assert status == JobStatus(
        "zhipu",
        "cogview",
        "job-1",
        JobState.SUCCEEDED,
        1.0,
        (
            Output(index=0, kind="image", url=urls[0], expires_at=expires),
            Output(index=1, kind="image", url=urls[1], expires_at=expires),
        ),
    ).billed(1, "job", zhipu.BILLING_BASIS)


def test_no_ttl_means_no_expiry() -> None:
    assert [o.expires_at for o in status_of(COGVIEW_DONE).outputs] == [None, None]


def test_expiry_falls_back_to_now_without_updated_at() -> None:
    result = {k: v for k, v in COGVIEW_DONE["result"].items() if k != "updated_at"}
    status = status_of({**COGVIEW_DONE, "result": result}, ttl=90)
    assert {o.expires_at for o in status.outputs} == {(NOW + timedelta(seconds=90)).isoformat()}


def test_updated_at_without_a_zone_counts_as_utc() -> None:
    status = status_of(with_result(COGVIEW_DONE, updated_at="Fri, 16 Jul 2021 08:26:23 -0000"), ttl=60)
    assert status.outputs[0].expires_at == "2021-07-16T08:27:23+00:00"


def test_unreadable_updated_at_is_a_server_error_when_a_ttl_needs_it() -> None:
    body = with_result(COGVIEW_DONE, updated_at="yesterday")
    with pytest.raises(AigcServerError, match="updated_at"):
        status_of(body, ttl=60)


def test_finished_news_is_one_text_output() -> None:
    status = status_of(NEWS_DONE, "news_generate", ttl=60)
    assert status == JobStatus(
        "zhipu",
        "news_generate",
        "job-1",
        JobState.SUCCEEDED,
        1.0,
        (Output(index=0, kind="text", text=NEWS_TEXT, expires_at="2021-06-22T10:20:05+00:00"),),
    ).billed(1, "job", zhipu.BILLING_BASIS)


@pytest.mark.parametrize(
    ("body", "app"),
    [
        (COGVIEW_DONE, "cogview"),
        (NEWS_DONE, "news_generate"),
        (with_result(NEWS_WAITING, status="failed"), "news_generate"),
    ],
)
def test_every_finished_task_records_one_job(body: dict[str, Any], app: str) -> None:
    """The documents name no price: one job is recorded per finished task, and the basis says so."""
    status = status_of(body, app)
    assert (status.billed_units, status.billed_unit) == (1, "job")
    assert "接口周期次数超限制" in (status.billing_basis or "")


def test_a_waiting_task_records_nothing_yet() -> None:
    assert status_of(NEWS_WAITING, "news_generate").billed_units is None


def test_finished_with_status_finish_is_succeeded() -> None:
    assert status_of(with_result(COGVIEW_DONE, status="finish")).state is JobState.SUCCEEDED


def test_failed_task_is_a_failed_status_not_an_exception() -> None:
    body = with_result(NEWS_WAITING, status="failed", error="model crashed")
    status = status_of(body, "news_generate")
    assert status.state is JobState.FAILED
    assert status.outputs == ()
    assert status.error == JobError(
        type="AigcJobFailedError", message="zhipu task job-1 failed: model crashed"
    )


def test_failed_task_without_a_reason_still_says_it_failed() -> None:
    status = status_of(with_result(NEWS_WAITING, status="failed"), "news_generate")
    assert status.error is not None
    assert "failed" in status.error.message


def test_unknown_task_is_an_unknown_job_error() -> None:
    with pytest.raises(AigcUnknownJobError, match="task not found"):
        status_of({"status": 404, "message": "task not found"}, http=404)


def test_a_404_page_on_status_blames_the_base_url_not_the_job() -> None:
    with pytest.raises(AigcInvalidRequestError, match="base URL"):
        zhipu.parse_status(HttpResponse(404, b"<html>nginx</html>"), job_id="j", app="cogview", now=NOW)


@pytest.mark.parametrize(
    ("app", "change"),
    [
        ("cogview", {"output": {"text": "not images"}}),
        ("cogview", {"output": ["https://ok/0.jpg", 7]}),
        ("cogview", {"output": ["https://ok/0.jpg", " "]}),
        ("cogview", {"output": "https://ok/0.jpg"}),
        ("news_generate", {"output": ["https://ok/0.jpg"]}),
        ("news_generate", {"output": {"txt": "typo"}}),
        ("news_generate", {"output": {"text": 5}}),
        ("cogview", {"output": {}, "progress": {"value": "lots"}}),
        ("cogview", {"output": {}, "progress": "37%"}),
        ("cogview", {"output": {}, "progress": {"value": "137%"}}),
        ("cogview", {"process_time": "fast"}),
        ("cogview", {"status": 1}),
        ("news_generate", {"status": "failed", "error": {"why": "?"}}),
    ],
)
def test_parse_status_rejects_bodies_off_the_documents(app: str, change: dict[str, Any]) -> None:
    base = COGVIEW_DONE if app == "cogview" else NEWS_DONE
    with pytest.raises(AigcServerError, match="unexpected response"):
        status_of(with_result(base, **change), app)


def test_parse_status_rejects_unknown_apps() -> None:
    with pytest.raises(AigcInvalidRequestError):
        status_of(COGVIEW_DONE, app="poem")


# --- robustness -----------------------------------------------------------------------------------

ROBUST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@ROBUST
@given(response=documented_responses(DOCUMENTED))
def test_parse_submit_only_raises_taxonomy_errors(response: HttpResponse) -> None:
    try:
        task_id = zhipu.parse_submit(response)
    except AigcError:
        return
    assert isinstance(task_id, str)
    assert task_id.strip()


@ROBUST
@given(
    response=documented_responses(DOCUMENTED),
    app=st.sampled_from(sorted(zhipu.APPS)),
    ttl=st.none() | st.floats(0, 10**7),
)
def test_parse_status_only_raises_taxonomy_errors(
    response: HttpResponse, app: str, ttl: float | None
) -> None:
    try:
        status = zhipu.parse_status(response, job_id="job-1", app=app, now=NOW, output_ttl_seconds=ttl)
    except AigcError:
        return
    assert status.job_id == "job-1"
    assert JobStatus.from_dict(json.loads(json.dumps(status.to_dict()))) == status


@pytest.mark.parametrize("app", sorted(zhipu.APPS))
def test_every_single_field_mutation_of_the_documents_is_parsed_or_a_taxonomy_error(app: str) -> None:
    def parse_status(response: HttpResponse) -> object:
        return zhipu.parse_status(response, job_id="job-1", app=app, now=NOW, output_ttl_seconds=60)

    outcomes: set[str] = set()
    for body in (body for document in DOCUMENTED for body in single_mutations(document)):
        for parse in (zhipu.parse_submit, parse_status):
            try:
                parse(answer(body))
                outcomes.add("parsed")
            except AigcError as error:
                outcomes.add(type(error).__name__)
    assert {"parsed", "AigcServerError"} <= outcomes
