from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from airflow_provider_aigc.exceptions import (
    AigcAuthError,
    AigcContentRejectedError,
    AigcError,
    AigcInvalidRequestError,
    AigcRateLimitError,
    AigcServerError,
    AigcUnknownJobError,
)
from airflow_provider_aigc.models import JobState, JobStatus, Output
from airflow_provider_aigc.vendors import jumdata
from airflow_provider_aigc.vendors.base import HttpResponse

from .json_strategies import documented_responses, single_mutations

NOW = datetime(2023, 9, 22, tzinfo=timezone.utc)

# The document's own examples (jumdata_ai_draw_api.html.txt), comments removed.
DOC_APP_ID, DOC_APP_SECRET, DOC_TIMESTAMP = "xyzxy2121zxyz", "efcefcef1121cefcefc1212121", "1555378976238"
SUBMITTED: dict[str, Any] = {
    "code": 200,
    "msg": "成功",
    "taskNo": "043439882226367117195632",
    "charge": True,
    "data": {"taskId": "xxxx"},
}
SUBMIT_FAILED: dict[str, Any] = {
    "code": 400,
    "taskNo": "255033697205413852131601",
    "charge": False,
    "msg": "风格值不正确",
}
DONE: dict[str, Any] = {
    "code": 200,
    "msg": "成功",
    "taskNo": "448290834186092138576138",
    "charge": False,
    "data": {
        "img": "xxxxx",
        "imgUrls": [{"image": "xxxxx"}],
        "createTime": "2023-09-21 22:15:41",
        "status": 1,
    },
}
QUERY_FAILED: dict[str, Any] = {
    "code": 400,
    "msg": "taskId不能为空",
    "taskNo": "255033697205413852131601",
    "charge": False,
}
# Running, as INTERFACES.md fixes it (the document shows no running example).
RUNNING: dict[str, Any] = {
    "code": 200,
    "msg": "成功",
    "taskNo": "448290834186092138576139",
    "charge": False,
    "data": {"img": "", "imgUrls": [], "createTime": "2023-09-21 22:15:41", "status": 0},
}
DOCUMENTED = [SUBMITTED, SUBMIT_FAILED, DONE, QUERY_FAILED, RUNNING]
STYLES_IN_THE_DOCUMENT = (
    "探索无限、古风、二次元、写实风格、浮世绘、low poly、未来主义、像素风格、概念艺术、赛博朋克、"
    "洛丽塔风格、巴洛克风格、超现实主义、水彩画、蒸汽波艺术、油画、卡通画"
)
VALID = {"text": "一只猫", "resolution": "1024*1024", "style": "古风"}


def answer(body: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(status, json.dumps(body, ensure_ascii=False).encode())


def status_of(body: Any) -> JobStatus:
    return jumdata.parse_status(answer(body), job_id="task-1", app="ai_draw", now=NOW)


def with_data(**changes: Any) -> dict[str, Any]:
    return {**DONE, "data": {**DONE["data"], **changes}}


# --- module surface and signing --------------------------------------------------------------------


def test_module_constants() -> None:
    assert jumdata.VENDOR == "jumdata"
    assert frozenset({"ai_draw"}) == jumdata.APPS
    assert jumdata.DEFAULT_BASE_URL == "https://api-hw.jumdata.com"
    assert set(jumdata.DEFAULT_POLL_INTERVAL) == jumdata.APPS


def test_sign_matches_the_documents_example() -> None:
    expected = hashlib.sha256((DOC_APP_ID + DOC_APP_SECRET + DOC_TIMESTAMP).encode("utf-8")).hexdigest()
    assert jumdata.sign(DOC_APP_ID, DOC_APP_SECRET, int(DOC_TIMESTAMP)) == expected
    assert expected == expected.lower()


def test_sign_depends_on_every_input() -> None:
    base = jumdata.sign("a", "b", 1)
    assert len({base, jumdata.sign("a", "c", 1), jumdata.sign("x", "b", 1), jumdata.sign("a", "b", 2)}) == 4


# --- validation -----------------------------------------------------------------------------------


def test_styles_are_the_17_documented_ones() -> None:
    assert tuple(STYLES_IN_THE_DOCUMENT.split("、")) == jumdata.STYLES
    assert len(jumdata.STYLES) == 17


@pytest.mark.parametrize("style", jumdata.STYLES)
def test_every_documented_style_is_accepted(style: str) -> None:
    assert jumdata.validate("ai_draw", {**VALID, "style": style})["style"] == style


@pytest.mark.parametrize("style", ["low poly ", "Low Poly", "水彩", "", None])
def test_other_styles_are_rejected(style: object) -> None:
    with pytest.raises(
        AigcInvalidRequestError, match=r"^style must be one of 探索无限, 古风.* \(Jumdata limit\)"
    ):
        jumdata.validate("ai_draw", {**VALID, "style": style})


def test_validate_fills_num_and_keeps_the_documented_fields() -> None:
    assert jumdata.validate("ai_draw", VALID) == {**VALID, "num": 1}
    assert jumdata.validate("ai_draw", {**VALID, "num": None})["num"] == 1


@pytest.mark.parametrize("resolution", ["1024*1024", "1024*1536", "1536*1024"])
def test_documented_resolutions_are_accepted(resolution: str) -> None:
    assert jumdata.validate("ai_draw", {**VALID, "resolution": resolution})["resolution"] == resolution


@pytest.mark.parametrize("resolution", ["512*512", "1024x1024", "1536*1536", None])
def test_other_resolutions_are_rejected(resolution: object) -> None:
    with pytest.raises(
        AigcInvalidRequestError,
        match=r"^resolution must be one of 1024\*1024, 1024\*1536, 1536\*1024 \(Jumdata limit\)",
    ):
        jumdata.validate("ai_draw", {**VALID, "resolution": resolution})


def test_text_of_exactly_100_characters_is_accepted() -> None:
    assert jumdata.validate("ai_draw", {**VALID, "text": "猫" * 100})["text"] == "猫" * 100


@pytest.mark.parametrize(("length"), [101, 123])
def test_text_over_100_characters_is_rejected(length: int) -> None:
    with pytest.raises(
        AigcInvalidRequestError, match=rf"^text must be 1-100 characters \(Jumdata limit\), got {length}$"
    ):
        jumdata.validate("ai_draw", {**VALID, "text": "猫" * length})


@pytest.mark.parametrize("text", ["", "   ", None, 7])
def test_blank_or_missing_text_is_rejected(text: object) -> None:
    with pytest.raises(AigcInvalidRequestError, match=r"^text must be 1-100 characters"):
        jumdata.validate("ai_draw", {**VALID, "text": text})


@pytest.mark.parametrize(("num", "expected"), [(1, 1), (6, 6), ("4", 4), (3.0, 3)])
def test_num_in_range_is_accepted(num: object, expected: int) -> None:
    assert jumdata.validate("ai_draw", {**VALID, "num": num})["num"] == expected


@pytest.mark.parametrize("num", [0, 7, "7", True, 2.5, "two", [2]])
def test_num_out_of_range_or_lossy_is_rejected(num: object) -> None:
    with pytest.raises(AigcInvalidRequestError, match=r"^num must be an integer 1-6 \(Jumdata limit\)"):
        jumdata.validate("ai_draw", {**VALID, "num": num})


def test_unknown_parameters_and_apps_are_rejected() -> None:
    with pytest.raises(AigcInvalidRequestError, match=r"unknown parameter.*prompt"):
        jumdata.validate("ai_draw", {**VALID, "prompt": "x"})
    with pytest.raises(AigcInvalidRequestError, match="jumdata has no app 'draw'"):
        jumdata.validate("draw", VALID)


def test_describe_request_is_a_plain_copy() -> None:
    request = jumdata.validate("ai_draw", VALID)
    described = jumdata.describe_request("ai_draw", request)
    assert described == request
    assert described is not request


# --- request builders -----------------------------------------------------------------------------


def test_build_submit_is_a_signed_form() -> None:
    credentials = jumdata.JumdataCredentials(DOC_APP_ID, DOC_APP_SECRET)
    request = jumdata.build_submit("ai_draw", {**VALID, "num": 4}, credentials, int(DOC_TIMESTAMP) / 1000)
    assert (request.method, request.path) == ("POST", "/ai/draw/submit")
    assert request.json is None
    assert request.form == {
        "appId": DOC_APP_ID,
        "timestamp": DOC_TIMESTAMP,
        "sign": hashlib.sha256((DOC_APP_ID + DOC_APP_SECRET + DOC_TIMESTAMP).encode()).hexdigest(),
        "text": "一只猫",
        "resolution": "1024*1024",
        "style": "古风",
        "num": "4",
    }
    assert request.secret_fields == frozenset({"sign"})
    assert DOC_APP_SECRET not in json.dumps(request.form)


def test_build_status_is_a_signed_form() -> None:
    request = jumdata.build_status(
        "task-9", "ai_draw", jumdata.JumdataCredentials("app", "secret"), 1_700_000_000.0
    )
    assert (request.method, request.path) == ("POST", "/ai/draw/query")
    assert request.form == {
        "appId": "app",
        "timestamp": "1700000000000",
        "sign": hashlib.sha256(b"appsecret1700000000000").hexdigest(),
        "taskId": "task-9",
    }
    assert request.secret_fields == frozenset({"sign"})


def test_build_status_rejects_a_blank_job_id() -> None:
    with pytest.raises(AigcInvalidRequestError, match="job_id"):
        jumdata.build_status("", "ai_draw", jumdata.JumdataCredentials("app", "secret"), 1.0)


# --- parse_submit and the code table ----------------------------------------------------------------


def test_parse_submit_reads_the_documents_example() -> None:
    assert jumdata.parse_submit(answer(SUBMITTED)) == "xxxx"


def test_parse_submit_failure_example_is_invalid_request_with_the_request_number() -> None:
    with pytest.raises(AigcInvalidRequestError) as info:
        jumdata.parse_submit(answer(SUBMIT_FAILED))
    assert info.value.code == "400"
    assert "风格值不正确" in str(info.value)
    assert "255033697205413852131601" in str(info.value)
    assert "billed" not in str(info.value)


def test_a_billed_failure_says_so() -> None:
    with pytest.raises(AigcServerError, match=r"\(billed\)"):
        jumdata.parse_submit(answer({**SUBMIT_FAILED, "code": 999, "charge": True}))


@pytest.mark.parametrize("code", [500, 606, 609, 610, 999])
def test_a_billed_failure_is_never_a_refusal(code: int) -> None:
    # charge=true: the vendor billed the call, so resending it could pay twice (the hook then
    # raises AigcSubmitUnconfirmedError: tests/unit/hooks/test_submit_refusals.py).
    with pytest.raises(AigcError) as info:
        jumdata.parse_submit(answer({**SUBMIT_FAILED, "code": code, "charge": True}))
    assert info.value.refused is False
    assert "(billed)" in info.value.message


def test_an_unbilled_transient_failure_stays_retryable() -> None:
    with pytest.raises(AigcServerError) as info:
        jumdata.parse_submit(answer({**SUBMIT_FAILED, "code": 610, "charge": False}))
    assert type(info.value) is AigcServerError
    assert info.value.retryable


CODE_TABLE = [
    (201, AigcUnknownJobError),
    (202, AigcContentRejectedError),
    (400, AigcInvalidRequestError),
    (404, AigcInvalidRequestError),
    (500, AigcServerError),
    (601, AigcAuthError),
    (602, AigcAuthError),
    (604, AigcAuthError),
    (606, AigcRateLimitError),
    (607, AigcAuthError),
    (609, AigcRateLimitError),
    (610, AigcServerError),
    (999, AigcServerError),
    (123, AigcServerError),
]


@pytest.mark.parametrize(("code", "cls"), CODE_TABLE)
def test_parse_submit_maps_the_code_table(code: int, cls: type[AigcError]) -> None:
    with pytest.raises(cls) as info:
        jumdata.parse_submit(answer({"code": code, "msg": "说明", "taskNo": "1", "charge": False}))
    assert type(info.value) is cls
    assert info.value.code == str(code)


@pytest.mark.parametrize(("code", "cls"), CODE_TABLE)
def test_parse_status_maps_the_code_table(code: int, cls: type[AigcError]) -> None:
    with pytest.raises(cls) as info:
        status_of({"code": str(code), "msg": "说明"})
    assert type(info.value) is cls


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (502, b"<html>bad gateway</html>", AigcServerError),
        (403, b"forbidden", AigcAuthError),
        (429, b"", AigcRateLimitError),
        (500, json.dumps({"code": 606, "msg": "调用超限"}).encode(), AigcRateLimitError),
    ],
)
def test_http_errors_are_classified(status: int, body: bytes, cls: type[AigcError]) -> None:
    with pytest.raises(cls) as info:
        jumdata.parse_submit(HttpResponse(status, body))
    assert type(info.value) is cls


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"code": 200, "msg": "ok"}',
        b'{"code": 200, "data": {"taskId": ""}}',
        b'{"code": 200, "data": {"taskId": 5}}',
        b'{"code": 200, "data": []}',
        b'{"msg": "ok", "data": {"taskId": "x"}}',
    ],
)
def test_parse_submit_rejects_malformed_bodies_quoting_them(body: bytes) -> None:
    with pytest.raises(AigcServerError) as info:
        jumdata.parse_submit(HttpResponse(200, body))
    assert body.decode()[:8] in str(info.value)


# --- parse_status ---------------------------------------------------------------------------------

# createTime 2023-09-21 22:15:41 in Asia/Shanghai is 14:15:41 UTC; + 3 months.
DONE_EXPIRES = "2023-12-21T14:15:41+00:00"


def test_done_example_lists_the_images_with_the_three_month_expiry() -> None:
    assert status_of(DONE) == JobStatus(
        "jumdata",
        "ai_draw",
        "task-1",
        JobState.SUCCEEDED,
        1.0,
        (Output(index=0, kind="image", url="xxxxx", expires_at=DONE_EXPIRES),),
    ).billed(1, "image", jumdata.BILLING_BASIS)


def test_several_images_keep_their_order() -> None:
    urls = [f"https://img.example/{i}.png" for i in range(6)]
    status = status_of(with_data(img=urls[0], imgUrls=[{"image": u} for u in urls]))
    assert [(o.index, o.url) for o in status.outputs] == list(enumerate(urls))


def test_each_generated_image_is_billed_once() -> None:
    """The document: "若一次请求生成多张图片,则每张图片计费1次" (each image of a request is billed once)."""
    urls = [f"https://img.example/{i}.png" for i in range(4)]
    status = status_of(with_data(img=urls[0], imgUrls=[{"image": u} for u in urls]))
    assert (status.billed_units, status.billed_unit) == (4, "image")
    assert "每张图片计费1次" in (status.billing_basis or "")


def test_a_running_job_has_no_billing_yet() -> None:
    assert status_of(RUNNING).billed_units is None


def test_done_without_img_urls_falls_back_to_img() -> None:
    status = status_of(with_data(imgUrls=[], img="https://img.example/only.png"))
    assert [o.url for o in status.outputs] == ["https://img.example/only.png"]


def test_done_with_string_status_and_without_create_time() -> None:
    data = {k: v for k, v in DONE["data"].items() if k != "createTime"}
    status = status_of({**DONE, "data": {**data, "status": "1"}})
    assert status.state is JobState.SUCCEEDED
    assert status.outputs[0].expires_at is None


@pytest.mark.parametrize(
    "running", [RUNNING, {**RUNNING, "data": {"status": 0}}, {**RUNNING, "data": {"status": "0"}}]
)
def test_status_zero_is_running_without_outputs(running: dict[str, Any]) -> None:
    assert status_of(running) == JobStatus("jumdata", "ai_draw", "task-1", JobState.RUNNING)


def test_query_failure_example_is_invalid_request() -> None:
    with pytest.raises(AigcInvalidRequestError, match="taskId不能为空"):
        status_of(QUERY_FAILED)


@pytest.mark.parametrize(
    "change",
    [
        {"status": 2},
        {"status": True},
        {"status": None},
        {"imgUrls": [], "img": ""},
        {"imgUrls": [], "img": None},
        {"imgUrls": ["https://bare.string/0.png"]},
        {"imgUrls": [{"url": "x"}]},
        {"imgUrls": [{"image": " "}]},
        {"imgUrls": {"image": "x"}},
        {"createTime": "2023/09/21 22:15"},
        {"createTime": 1695305741},
        {"createTime": "9999-12-01 00:00:00"},
    ],
)
def test_parse_status_rejects_bodies_off_the_document(change: dict[str, Any]) -> None:
    with pytest.raises(AigcServerError, match="unexpected response"):
        status_of(with_data(**change))


# --- expiry arithmetic ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        ("2023-11-30 10:00:00", "2024-02-29T02:00:00+00:00"),  # leap year: clamp to Feb 29
        ("2022-11-30 10:00:00", "2023-02-28T02:00:00+00:00"),  # clamp to Feb 28
        ("2023-10-31 07:59:59", "2024-01-30T23:59:59+00:00"),  # Jan 31 08:00 Shanghai -1 s, in UTC
        ("2023-12-31 12:00:00", "2024-03-31T04:00:00+00:00"),  # across the year
        ("2023-05-31 23:30:00", "2023-08-31T15:30:00+00:00"),
        ("2024-01-01 03:00:00", "2024-03-31T19:00:00+00:00"),  # Apr 1 03:00 Shanghai is Mar 31 in UTC
    ],
)
def test_expiry_is_three_calendar_months_after_create_time(created: str, expected: str) -> None:
    assert status_of(with_data(createTime=created)).outputs[0].expires_at == expected


def test_add_months_keeps_the_time_and_tzinfo() -> None:
    moment = datetime(2024, 8, 31, 13, 14, 15, tzinfo=timezone.utc)
    assert jumdata.add_months(moment, 6) == datetime(2025, 2, 28, 13, 14, 15, tzinfo=timezone.utc)
    assert jumdata.add_months(moment, 0) == moment


# --- robustness -----------------------------------------------------------------------------------

ROBUST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@ROBUST
@given(response=documented_responses(DOCUMENTED))
def test_parse_submit_only_raises_taxonomy_errors(response: HttpResponse) -> None:
    try:
        task_id = jumdata.parse_submit(response)
    except AigcError:
        return
    assert isinstance(task_id, str)
    assert task_id.strip()


@ROBUST
@given(response=documented_responses(DOCUMENTED))
def test_parse_status_only_raises_taxonomy_errors(response: HttpResponse) -> None:
    try:
        status = jumdata.parse_status(response, job_id="task-1", app="ai_draw", now=NOW)
    except AigcError:
        return
    assert status.state in (JobState.RUNNING, JobState.SUCCEEDED)
    assert (status.state is JobState.SUCCEEDED) == bool(status.outputs)


def test_every_single_field_mutation_of_the_documents_is_parsed_or_a_taxonomy_error() -> None:
    def parse_status(response: HttpResponse) -> object:
        return jumdata.parse_status(response, job_id="task-1", app="ai_draw", now=NOW)

    outcomes: set[str] = set()
    for body in (body for document in DOCUMENTED for body in single_mutations(document)):
        for parse in (jumdata.parse_submit, parse_status):
            try:
                parse(answer(body))
                outcomes.add("parsed")
            except AigcError as error:
                outcomes.add(type(error).__name__)
    assert {"parsed", "AigcServerError", "AigcInvalidRequestError"} <= outcomes
