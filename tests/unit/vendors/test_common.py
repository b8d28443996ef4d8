from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from airflow_provider_aigc.exceptions import (
    AigcAuthError,
    AigcInvalidRequestError,
    AigcRateLimitError,
    AigcServerError,
)
from airflow_provider_aigc.vendors.base import HttpResponse
from airflow_provider_aigc.vendors.common import (
    Payload,
    check_app,
    decode_json,
    http_error,
    is_success,
    known_params,
    parse_percent,
    read_code,
    to_iso_utc,
    try_decode_json,
    validate_choice,
    validate_int,
    validate_text,
)


def payload_of(data: object) -> Payload:
    return Payload.from_response("acme", HttpResponse(200, json.dumps(data, ensure_ascii=False).encode()))


@pytest.mark.parametrize(
    ("status", "ok"), [(199, False), (200, True), (204, True), (299, True), (301, False)]
)
def test_is_success_is_2xx_only(status: int, ok: bool) -> None:
    assert is_success(HttpResponse(status, b"")) is ok


def test_decode_json_returns_the_value() -> None:
    assert decode_json("acme", HttpResponse(200, '{"a": [1, "中"]}'.encode())) == {"a": [1, "中"]}


@pytest.mark.parametrize("body", [b"<html>bad gateway</html>", b"", b"\xff\xfe\x00garbage", b"[" * 100_000])
def test_decode_json_rejects_non_json_with_the_trimmed_body(body: bytes) -> None:
    with pytest.raises(AigcServerError) as info:
        decode_json("acme", HttpResponse(502, body))
    assert info.value.vendor == "acme"
    assert "HTTP 502" in str(info.value)
    assert len(str(info.value)) < 500


def test_decode_json_quotes_the_body() -> None:
    with pytest.raises(AigcServerError, match="bad gateway"):
        decode_json("acme", HttpResponse(502, b"<html>bad gateway</html>"))


def test_try_decode_json_gives_none_for_non_json() -> None:
    assert try_decode_json(HttpResponse(500, b"oops")) is None
    assert try_decode_json(HttpResponse(500, b'{"code": 1}')) == {"code": 1}


@pytest.mark.parametrize(
    ("body", "expected"),
    [({"code": 601}, "601"), ({"code": " 10002 "}, "10002"), ({"code": True}, None), ({"code": 1.5}, None)],
)
def test_read_code(body: object, expected: str | None) -> None:
    assert read_code(body, "code") == expected


def test_read_code_ignores_non_objects() -> None:
    assert read_code([{"code": 1}], "code") is None
    assert read_code(None, "code") is None


def test_http_error_classifies_and_only_429_is_a_refusal() -> None:
    # Retry-After is read by the hook (hooks.retry.parse_retry_after, the one parser).
    error = http_error("acme", HttpResponse(429, b"slow down", {"retry-after": "3"}))
    assert isinstance(error, AigcRateLimitError)
    assert error.refused
    assert not http_error("acme", HttpResponse(502, b"<html>bad gateway</html>")).refused
    assert isinstance(http_error("acme", HttpResponse(403, b"no")), AigcAuthError)
    assert isinstance(http_error("acme", HttpResponse(503, b"down")), AigcServerError)


def test_payload_reads_typed_fields() -> None:
    payload = payload_of({"m": {"s": "x", "i": 3, "n": 2.5, "c": 200}})
    obj = payload.get_mapping(payload.root(), "m")
    assert payload.get_str(obj, "s") == "x"
    assert payload.get_int(obj, "i") == 3
    assert payload.opt_number(obj, "n") == 2.5
    assert payload.opt_number(obj, "i") == 3.0
    assert payload.get_code(obj, "c") == "200"


def test_payload_optional_readers_accept_absent_and_null() -> None:
    payload = payload_of({"a": None})
    root = payload.root()
    assert payload.opt_str(root, "a") is None
    assert payload.opt_mapping(root, "missing") is None
    assert payload.opt_list(root, "missing") is None
    assert payload.opt_int(root, "missing") is None
    assert payload.opt_code(root, "missing") is None


def test_payload_required_field_missing_names_it_and_quotes_the_body() -> None:
    payload = payload_of({"result": {}, "marker": "here"})
    with pytest.raises(AigcServerError) as info:
        payload.get_str(payload.get_mapping(payload.root(), "result"), "task_id")
    assert "'task_id' is missing" in str(info.value)
    assert "marker" in str(info.value)


@pytest.mark.parametrize(
    ("reader", "value"),
    [
        ("get_str", 5),
        ("get_int", "5"),
        ("get_int", True),
        ("get_int", 2.0),
        ("opt_list", {}),
        ("get_mapping", []),
        ("opt_number", False),
        ("opt_number", "1"),
        ("get_code", 1.5),
    ],
)
def test_payload_wrong_types_are_server_errors(reader: str, value: object) -> None:
    payload = payload_of({"f": value})
    with pytest.raises(AigcServerError, match="field 'f' should be"):
        getattr(payload, reader)(payload.root(), "f")


def test_payload_number_out_of_float_range_is_a_server_error() -> None:
    payload = Payload.from_response("acme", HttpResponse(200, b'{"f": 1' + b"0" * 400 + b"}"))
    with pytest.raises(AigcServerError, match="out of range"):
        payload.opt_number(payload.root(), "f")


@pytest.mark.parametrize("data", [[], "text", 3, None])
def test_payload_root_must_be_an_object(data: object) -> None:
    with pytest.raises(AigcServerError, match="expected a JSON object"):
        payload_of(data).root()


def test_payload_nested_value_checks() -> None:
    payload = payload_of({})
    assert payload.as_mapping({"a": 1}, "item") == {"a": 1}
    with pytest.raises(AigcServerError, match="item should be an object"):
        payload.as_mapping("x", "item")


@pytest.mark.parametrize("value", ["", "  ", None, 5, ["id"]])
def test_payload_as_non_blank_rejects_blank_or_non_strings(value: object) -> None:
    with pytest.raises(AigcServerError, match=r"data\.taskId should be a non-blank string"):
        payload_of({}).as_non_blank(value, "data.taskId")
    assert payload_of({}).as_non_blank("t-1", "data.taskId") == "t-1"


def test_payload_error_trims_a_huge_body() -> None:
    payload = payload_of({"blob": "x" * 10_000})
    error = payload.malformed("reason")
    assert f"({len(payload.raw)} chars)" in str(error)
    assert len(payload.raw) > 10_000
    assert len(str(error)) < 500


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0%", 0.0), ("37%", 0.37), ("100%", 1.0), ("12.5%", 0.125), (" 40 % ", 0.4)],
)
def test_parse_percent(text: str, expected: float) -> None:
    assert parse_percent(text) == pytest.approx(expected)


@pytest.mark.parametrize("value", ["37", "101%", "-5%", "%", "abc%", "١٢%", 37, None, "1e2%"])
def test_parse_percent_rejects_non_percentages(value: object) -> None:
    assert parse_percent(value) is None


def test_to_iso_utc_converts_offsets() -> None:
    moment = datetime(2023, 9, 21, 22, 15, 41, 999, tzinfo=timezone(timedelta(hours=8)))
    assert to_iso_utc(moment) == "2023-09-21T14:15:41+00:00"


def test_to_iso_utc_takes_naive_values_as_utc() -> None:
    assert to_iso_utc(datetime(2023, 9, 21, 22, 15, 41)) == "2023-09-21T22:15:41+00:00"


def test_check_app_rejects_unknown_apps() -> None:
    check_app("acme", "draw", {"draw"})
    with pytest.raises(AigcInvalidRequestError, match="acme has no app 'paint'; expected one of draw"):
        check_app("acme", "paint", {"draw"})


def test_known_params_drops_none_and_rejects_unknown_names() -> None:
    assert known_params("acme", "draw", {"a": 1, "b": None}, {"a", "b"}) == {"a": 1}
    with pytest.raises(
        AigcInvalidRequestError, match=r"unknown parameter\(s\) x, y for acme draw; expected a"
    ):
        known_params("acme", "draw", {"a": 1, "y": 2, "x": 3}, {"a"})


def test_validate_text_limits() -> None:
    assert validate_text("text", "a" * 100, source="Acme", max_length=100) == "a" * 100
    assert validate_text("text", "  padded ", source="Acme") == "  padded "
    with pytest.raises(
        AigcInvalidRequestError, match=r"text must be 1-100 characters \(Acme limit\), got 101"
    ):
        validate_text("text", "a" * 101, source="Acme", max_length=100)


@pytest.mark.parametrize("value", ["", "   ", "\n\t"])
def test_validate_text_rejects_blank(value: str) -> None:
    with pytest.raises(AigcInvalidRequestError, match=r"query must be a non-blank string \(Acme limit\)"):
        validate_text("query", value, source="Acme")


@pytest.mark.parametrize("value", [None, 5, ["a"], b"bytes"])
def test_validate_text_rejects_non_strings_naming_the_parameter(value: object) -> None:
    with pytest.raises(AigcInvalidRequestError, match=r"^query must be"):
        validate_text("query", value, source="Acme")


@pytest.mark.parametrize(("value", "expected"), [(4, 4), ("4", 4), (" 6 ", 6), (1.0, 1), ("+2", 2)])
def test_validate_int_accepts_lossless_values(value: object, expected: int) -> None:
    result = validate_int("num", value, source="Acme", minimum=1, maximum=6)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize("value", [True, False, 2.5, "2.5", "four", "", None, [3], "1" * 40])
def test_validate_int_rejects_lossy_or_foreign_values(value: object) -> None:
    with pytest.raises(AigcInvalidRequestError, match=r"^num must be an integer 1-6 \(Acme limit\), got"):
        validate_int("num", value, source="Acme", minimum=1, maximum=6)


@pytest.mark.parametrize(("value", "ok"), [(0, False), (1, True), (6, True), (7, False)])
def test_validate_int_range_edges(value: int, ok: bool) -> None:
    if ok:
        assert validate_int("num", value, source="Acme", minimum=1, maximum=6) == value
    else:
        with pytest.raises(AigcInvalidRequestError, match=f"got {value}$"):
            validate_int("num", value, source="Acme", minimum=1, maximum=6)


def test_validate_int_one_sided_limits_are_quoted() -> None:
    with pytest.raises(
        AigcInvalidRequestError, match=r"max_length must be an integer >= 1 \(Acme limit\), got 0"
    ):
        validate_int("max_length", 0, source="Acme", minimum=1)
    with pytest.raises(AigcInvalidRequestError, match="must be an integer <= 3"):
        validate_int("n", 4, source="Acme", maximum=3)
    assert validate_int("n", -(10**9), source="Acme") == -(10**9)


def test_validate_choice() -> None:
    assert (
        validate_choice("resolution", "1024*1024", ["1024*1024", "1536*1024"], source="Acme") == "1024*1024"
    )
    with pytest.raises(
        AigcInvalidRequestError,
        match=r"resolution must be one of 1024\*1024, 1536\*1024 \(Acme limit\), got '512\*512'",
    ):
        validate_choice("resolution", "512*512", ["1024*1024", "1536*1024"], source="Acme")
    with pytest.raises(AigcInvalidRequestError, match="got 1024"):
        validate_choice("resolution", 1024, ["1024"], source="Acme")
