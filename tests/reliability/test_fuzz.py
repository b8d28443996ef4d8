"""Cross-vendor fuzzing: every parser of untrusted input either returns a well-formed value or raises
a classified error (an ``AigcError`` subclass); never KeyError/TypeError/ValueError/RecursionError.

Each target runs twice: ``quick`` (a few hundred examples, in ``make test``) and ``soak``
(``make test-soak``; together well over 100,000 examples). ``AIGC_FUZZ_EXAMPLES`` overrides both.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections import Counter
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import pytest
from airflow.sdk.exceptions import AirflowException
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_aigc.archive.body import CappedBody
from airflow_provider_aigc.archive.keys import KeyLayout, safe_segment
from airflow_provider_aigc.archive.redact import public_url, scrub
from airflow_provider_aigc.archive.sniff import GIF, JPEG, OCTET_STREAM, PNG, SNIFF_BYTES, WEBP, sniff
from airflow_provider_aigc.archive.url_policy import UrlPolicy, address_refusal
from airflow_provider_aigc.exceptions import EXCEPTION_CLASSES, AigcError, AigcInvalidRequestError
from airflow_provider_aigc.models import JobState, JobStatus
from airflow_provider_aigc.triggers.events import JobEvent
from airflow_provider_aigc.vendors import baidu, jumdata, zhipu
from tests.reliability import payloads
from tests.reliability.conftest import fuzz_examples, record_figures

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_aigc.vendors.base import HttpResponse

NOW = datetime(2023, 9, 22, 12, 0, tzinfo=timezone.utc)
MAX_MESSAGE_CHARS = 2000

# 18 targets x 8,000 = 144,000 examples in the soak run.
QUICK, SOAK = 150, 8_000
SCALES = [
    pytest.param(QUICK, id="quick"),
    pytest.param(SOAK, id="soak", marks=pytest.mark.soak),
]
_examples: Counter[str] = Counter()


def fuzz(name: str, strategy: st.SearchStrategy[Any], check: Callable[[Any], None], examples: int) -> None:
    """Run ``check`` on ``examples`` values drawn from ``strategy`` and count them."""

    @settings(
        max_examples=fuzz_examples(examples),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(value: Any) -> None:
        _examples[name] += 1
        check(value)

    run()
    record_figures("fuzz_examples", {"total": sum(_examples.values()), **dict(sorted(_examples.items()))})


def classified(call: Callable[[], Any]) -> Any:
    """The call's result, or None when it raised a taxonomy error (which must be well-formed)."""
    try:
        return call()
    except AigcError as error:
        check_error(error)
        return None


def check_error(error: AigcError) -> None:
    """A taxonomy error that names what happened in a message of bounded size."""
    assert type(error) in EXCEPTION_CLASSES.values(), type(error)
    assert isinstance(error.message, str)
    assert error.message.strip()
    assert len(str(error)) <= MAX_MESSAGE_CHARS, f"message of {len(str(error))} chars floods the log"


def check_status(status: JobStatus, job_id: str, app: str, vendor: str) -> None:
    """A parsed status is internally consistent, JSON-clean, and makes a valid trigger event."""
    assert (status.vendor, status.app, status.job_id) == (vendor, app, job_id)
    assert status.progress is None or 0.0 <= status.progress <= 1.0
    if status.state is JobState.SUCCEEDED:
        assert status.outputs, "a SUCCEEDED job without outputs"
        event = JobEvent.success(status)
    elif status.state is JobState.FAILED:
        assert status.error is not None
        assert status.error.type in EXCEPTION_CLASSES
        event = JobEvent.job_failed(status)
    else:  # a running Baidu job may already list the images of finished sub tasks
        event = None
    for output in status.outputs:
        assert (output.url if output.kind == "image" else output.text) is not None
        if output.url is not None:
            assert output.url.strip()
        if output.expires_at is not None:
            datetime.fromisoformat(output.expires_at)
    data = json.loads(json.dumps(status.to_dict(), allow_nan=False))
    assert JobStatus.from_dict(data) == status
    if event is not None:
        payload = json.loads(json.dumps(event.to_payload(), allow_nan=False))
        assert JobEvent.from_payload(payload) == event


# --- vendor parsers ------------------------------------------------------------------------------

# Any float a caller could pass (before issue 10 a huge TTL raised a raw OverflowError in Baidu's).
_ANY_TTL = st.floats(allow_nan=True, allow_infinity=True)


@pytest.mark.scenario("fuzz.vendor-parsers")
@pytest.mark.parametrize("examples", SCALES)
def test_zhipu_parse_submit(examples: int) -> None:
    def check(response: HttpResponse) -> None:
        job_id = classified(lambda: zhipu.parse_submit(response))
        assert job_id is None or (isinstance(job_id, str) and job_id.strip())

    fuzz("zhipu.parse_submit", payloads.responses(payloads.ZHIPU_DOCUMENTS), check, examples)


@pytest.mark.scenario("fuzz.vendor-parsers")
@pytest.mark.parametrize("examples", SCALES)
def test_zhipu_parse_status(examples: int) -> None:
    strategy = st.tuples(
        payloads.responses(payloads.ZHIPU_DOCUMENTS),
        st.sampled_from(sorted(zhipu.APPS)),
        st.none() | st.floats(min_value=0.001, max_value=1e12) | _ANY_TTL,
    )

    def check(case: tuple[HttpResponse, str, float | None]) -> None:
        response, app, ttl = case
        status = classified(
            lambda: zhipu.parse_status(response, job_id="job-1", app=app, now=NOW, output_ttl_seconds=ttl)
        )
        if status is not None:
            check_status(status, "job-1", app, "zhipu")

    fuzz("zhipu.parse_status", strategy, check, examples)


@pytest.mark.scenario("fuzz.vendor-parsers")
@pytest.mark.parametrize("examples", SCALES)
def test_baidu_parse_token(examples: int) -> None:
    def check(response: HttpResponse) -> None:
        token = classified(lambda: baidu.parse_token(response, now=1_700_000_000.0))
        if token is not None:
            assert token.value.strip()
            assert token.expires_at > 1_700_000_000.0
            assert "value" not in repr(token)

    fuzz("baidu.parse_token", payloads.responses(payloads.BAIDU_DOCUMENTS), check, examples)


@pytest.mark.scenario("fuzz.vendor-parsers")
@pytest.mark.parametrize("examples", SCALES)
def test_baidu_parse_submit(examples: int) -> None:
    def check(response: HttpResponse) -> None:
        job_id = classified(lambda: baidu.parse_submit(response))
        assert job_id is None or job_id.isdigit()

    fuzz("baidu.parse_submit", payloads.responses(payloads.BAIDU_DOCUMENTS), check, examples)


@pytest.mark.scenario("fuzz.vendor-parsers")
@pytest.mark.parametrize("examples", SCALES)
def test_baidu_parse_status(examples: int) -> None:
    strategy = st.tuples(
        payloads.responses(payloads.BAIDU_DOCUMENTS),
        st.none() | st.floats(min_value=0.001, max_value=1e9) | _ANY_TTL,
    )

    def check(case: tuple[HttpResponse, float | None]) -> None:
        response, ttl = case
        job_id = payloads.BAIDU_JOB_ID
        status = classified(
            lambda: baidu.parse_status(
                response, job_id=job_id, app="txt2imgv2", now=NOW, output_ttl_seconds=ttl
            )
        )
        if status is not None:
            check_status(status, job_id, "txt2imgv2", "baidu")
            for output in status.outputs:
                assert output.moderation in (None, "pass", "review", "block")

    fuzz("baidu.parse_status", strategy, check, examples)


@pytest.mark.scenario("fuzz.vendor-parsers")
@pytest.mark.parametrize("examples", SCALES)
def test_baidu_expiry_from_url_never_raises(examples: int) -> None:
    url = st.one_of(
        st.text(max_size=80),
        st.just(payloads.BCE_URL).flatmap(
            lambda base: payloads.byte_mutated(base.encode()).map(lambda raw: raw.decode("utf-8", "replace"))
        ),
        st.builds(
            "http://h/x.png?authorization=bce-auth-v1%2Fak%2F{}%2F{}%2Fhost%2Fsig".format,
            st.text(max_size=24),
            st.text(alphabet="0123456789", min_size=1, max_size=30),
        ),
    )

    def check(text: str) -> None:
        expiry = baidu.expiry_from_bce_url(text)
        assert expiry is None or expiry.tzinfo is not None

    fuzz("baidu.expiry_from_bce_url", url, check, examples)


@pytest.mark.scenario("fuzz.vendor-parsers")
@pytest.mark.parametrize("examples", SCALES)
def test_jumdata_parse_submit(examples: int) -> None:
    def check(response: HttpResponse) -> None:
        job_id = classified(lambda: jumdata.parse_submit(response))
        assert job_id is None or job_id.strip()

    fuzz("jumdata.parse_submit", payloads.responses(payloads.JUMDATA_DOCUMENTS), check, examples)


@pytest.mark.scenario("fuzz.vendor-parsers")
@pytest.mark.parametrize("examples", SCALES)
def test_jumdata_parse_status(examples: int) -> None:
    def check(response: HttpResponse) -> None:
        status = classified(lambda: jumdata.parse_status(response, job_id="t-1", app="ai_draw", now=NOW))
        if status is not None:
            check_status(status, "t-1", "ai_draw", "jumdata")

    fuzz("jumdata.parse_status", payloads.responses(payloads.JUMDATA_DOCUMENTS), check, examples)


# --- archive inputs ------------------------------------------------------------------------------

_SIGNATURES = [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"RIFF\x00\x00\x00\x00WEBP"]


@pytest.mark.scenario("fuzz.archive-inputs")
@pytest.mark.parametrize("examples", SCALES)
def test_content_sniffing_and_size_cap(examples: int) -> None:
    """Sniffing any head gives a known type; the capped body passes exactly the bytes, or refuses
    with the classified oversize error once more than the cap has arrived."""
    head = st.one_of(
        st.binary(max_size=40),
        st.tuples(st.sampled_from(_SIGNATURES), st.binary(max_size=20)).map(lambda pair: pair[0] + pair[1]),
    )
    strategy = st.tuples(
        head,
        st.lists(st.binary(max_size=40), max_size=6),
        st.integers(min_value=0, max_value=200),
        st.lists(st.integers(min_value=-1, max_value=50), min_size=1, max_size=8),
    )

    def check(case: tuple[bytes, list[bytes], int, list[int]]) -> None:
        first, rest, limit, reads = case
        chunks = [first, *rest]
        media = sniff(first[:SNIFF_BYTES])
        assert media in (PNG, JPEG, GIF, WEBP, OCTET_STREAM)
        whole = b"".join(chunks)
        body = CappedBody(iter(chunks), limit=limit, what="fuzz output")
        got = bytearray()
        refused: AigcInvalidRequestError | None = None
        try:
            peeked = body.peek(SNIFF_BYTES)
            for size in [*reads, -1]:
                got += body.read(size)
        except AigcInvalidRequestError as error:
            refused = error
        if refused is not None:
            assert len(whole) > limit
            assert "max_object_bytes" in refused.message
            return
        assert len(whole) <= limit
        assert whole.startswith(peeked)
        assert bytes(got) == whole
        assert body.size == len(whole)
        import hashlib

        assert body.sha256 == hashlib.sha256(whole).hexdigest()

    fuzz("archive.sniff+CappedBody", strategy, check, examples)


_ID_PIECES = st.text(st.characters(codec="utf-8"), max_size=3) | st.sampled_from(
    ["/", "..", ".", "\\", "\x00", "\n", "\x7f", "%2e", "\u202e", "\ufeff"]
)


@pytest.mark.scenario("fuzz.archive-inputs")
@pytest.mark.parametrize("examples", SCALES)
def test_keys_from_vendor_ids_stay_under_the_prefix(examples: int) -> None:
    ids = st.one_of(
        st.lists(_ID_PIECES, min_size=1, max_size=15).map("".join).filter(bool),
        st.sampled_from(["..", ".", "../../etc", "a/../../b", "/abs", "x" * 5000, "\x00", "..\\..", " "]),
    )
    strategy = st.tuples(ids, ids, st.integers(min_value=0, max_value=10_000))

    def check(case: tuple[str, str, int]) -> None:
        job_id, other_id, index = case
        layout = KeyLayout(prefix="tenant/a", vendor="baidu", app="txt2imgv2", job_id=job_id)
        for key in (layout.object_key(index, "png"), layout.manifest_key()):
            assert key.startswith("tenant/a/baidu/txt2imgv2/")
            segments = key.split("/")
            assert len(segments) == 6, key
            assert not any(part in ("", ".", "..") for part in segments)
            assert all(ch.isprintable() and ch != "\\" for ch in key), key
            assert len(key) < 300
        segment = safe_segment(job_id)
        assert (segment == safe_segment(other_id)) == (job_id == other_id)

    fuzz("archive.keys", strategy, check, examples)


@pytest.mark.scenario("fuzz.archive-inputs")
@pytest.mark.parametrize("examples", SCALES)
def test_url_display_never_leaks_the_query(examples: int) -> None:
    secret = "SIGNATURE0123456789abcdef"
    urls = st.tuples(
        st.sampled_from(["http", "https", "ftp", "", "file", "HTTP"]),
        st.text(max_size=20),
        st.text(max_size=20),
    ).map(lambda p: f"{p[0]}://{p[1]}/{p[2]}?authorization={secret}&e=1#frag{secret}")

    def check(url: str) -> None:
        shown = public_url(url)
        assert secret not in shown
        assert secret not in scrub(f"error while fetching {url} (retry)")

    fuzz("archive.public_url", urls, check, examples)


@pytest.mark.scenario("fuzz.archive-inputs")
@pytest.mark.parametrize("examples", SCALES)
def test_url_policy_classifies_any_url(examples: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Any URL and any resolution: refused with AigcError, or allowed only onto public addresses.
    Name resolution is faked (no DNS traffic) and connecting is forbidden outright."""
    resolved: dict[str, list[str]] = {}

    def fake_getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        host.encode("idna")  # the real resolver's UnicodeError on odd names
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)) for address in resolved["now"]]

    def no_connect(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the URL policy must not connect")

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", no_connect)
    addresses = st.one_of(
        st.ip_addresses(v=4).map(str),
        st.ip_addresses(v=6).map(str),
        st.sampled_from(["127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "fd00::1", "8.8.8.8"]),
    )
    strategy = st.tuples(
        st.one_of(
            st.text(max_size=40),
            st.builds(
                "{}://{}{}/x?sig=1".format,
                st.sampled_from(["http", "https", "file", "gopher", "ftp", "HTTPS", "data"]),
                st.one_of(
                    st.text(max_size=15), st.sampled_from(["h.example", "[::1]", "127.1", "0x7f.1", ""])
                ),
                st.sampled_from(["", ":80", ":0", ":99999", ":x"]),
            ),
        ),
        st.lists(addresses, min_size=1, max_size=3),
        st.booleans(),
    )

    def check(case: tuple[str, list[str], bool]) -> None:
        url, answer, allow_private = case
        resolved["now"] = answer
        policy = UrlPolicy(allow_private=allow_private)

        def allowed() -> bool:
            policy.check_url(url)
            return True

        if classified(allowed):
            for address in answer:
                assert address_refusal(ipaddress.ip_address(address), allow_private=allow_private) is None

    fuzz("archive.url_policy", strategy, check, examples)


# --- events and operator input -------------------------------------------------------------------

_GOOD_JOB = {
    "vendor": "jumdata",
    "app": "ai_draw",
    "job_id": "t-1",
    "state": "SUCCEEDED",
    "progress": 1.0,
    "outputs": [{"index": 0, "kind": "image", "url": "https://x/a.png", "expires_at": None}],
    "error": None,
    "conn_id": "c",
    "request": {},
}
_EVENTS: list[dict[str, Any]] = [
    {
        "status": "success",
        "job_id": "t-1",
        "message": "ok",
        "job": _GOOD_JOB,
        "error_type": None,
        "code": None,
    },
    {
        "status": "error",
        "job_id": "t-1",
        "message": "failed",
        "job": {
            **_GOOD_JOB,
            "state": "FAILED",
            "outputs": [],
            "error": {"type": "AigcJobFailedError", "message": "m"},
        },
        "error_type": "AigcJobFailedError",
        "code": "201",
    },
    {"status": "timeout", "job_id": "t-1", "message": "late", "job": None, "error_type": None, "code": None},
]


@pytest.mark.scenario("fuzz.events")
@pytest.mark.parametrize("examples", SCALES)
def test_event_validation(examples: int) -> None:
    strategy = st.one_of(st.sampled_from(_EVENTS).flatmap(payloads.mutated), payloads.json_values)

    def check(payload: Any) -> None:
        refusal: str | None
        try:
            event = JobEvent.from_payload(payload)
        except AirflowException as error:
            refusal = str(error)
        else:
            refusal = None
        if refusal is not None:
            assert "Unexpected event from AigcJobTrigger" in refusal
            assert len(refusal) <= MAX_MESSAGE_CHARS
            return
        assert event is not None
        assert event.to_payload()["status"] in ("success", "error", "timeout")
        if event.status == "error":
            assert isinstance(event.to_error(), AigcError)

    fuzz("events.from_payload", strategy, check, examples)


def _event(**changes: Any) -> dict[str, Any]:
    return {**_EVENTS[1], **changes}


# Found by the fuzzer above; kept as fixed cases so they are checked on every run.
@pytest.mark.scenario("fuzz.events")
@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(_event(status=[]), id="unhashable-status"),
        pytest.param(_event(error_type=[]), id="unhashable-error_type"),
        pytest.param(_event(job={**_EVENTS[1]["job"], "error": " "}), id="job-error-not-a-dict"),
        pytest.param(_event(job={**_EVENTS[1]["job"], "outputs": ["x"]}), id="job-output-not-a-dict"),
        pytest.param(_event(job={**_EVENTS[1]["job"], "progress": "x"}), id="job-progress-not-a-number"),
    ],
)
def test_event_validation_refuses_malformed_payloads(payload: dict[str, Any]) -> None:
    with pytest.raises(AirflowException, match="Unexpected event from AigcJobTrigger"):
        JobEvent.from_payload(payload)


_PARAM_NAMES = {
    ("zhipu", "cogview"): ["query", "key"],
    ("zhipu", "news_generate"): ["content", "max_length", "key"],
    ("baidu", "txt2imgv2"): [
        "prompt",
        "version",
        "width",
        "height",
        "image_num",
        "image",
        "url",
        "pdf_file",
        "pdf_file_num",
        "change_degree",
    ],
    ("jumdata", "ai_draw"): ["text", "resolution", "style", "num"],
}
_MODULES = {"zhipu": zhipu, "baidu": baidu, "jumdata": jumdata}


@pytest.mark.scenario("fuzz.operator-input")
@pytest.mark.parametrize("examples", SCALES)
def test_operator_parameters_validate_or_name_the_limit(examples: int) -> None:
    values = st.one_of(
        payloads.json_values,
        st.sampled_from(["1024", "4", " 7 ", "v1", "v2", "古风", "1024*1024", "aGVsbG8=", "http://x/y.png"]),
        st.text(min_size=95, max_size=210),
    )

    @st.composite
    def cases(draw: st.DrawFn) -> tuple[str, str, dict[str, Any]]:
        vendor, app = draw(st.sampled_from(sorted(_PARAM_NAMES)))
        names = _PARAM_NAMES[(vendor, app)] + ["bogus"]
        params = draw(st.dictionaries(st.sampled_from(names), values, max_size=6))
        return vendor, app, params

    def check(case: tuple[str, str, dict[str, Any]]) -> None:
        vendor, app, params = case
        message: str | None
        try:
            request = _MODULES[vendor].validate(app, params)
        except AigcInvalidRequestError as error:
            message = error.message
        else:
            message = None
        if message is not None:
            assert "limit" in message or "unknown parameter" in message
            return
        json.dumps(request)
        assert _MODULES[vendor].validate(app, request) == request

    fuzz("vendors.validate", cases(), check, examples)


# Text with what a badly decoded file or a template can leave in it: lone surrogates, controls.
_AWKWARD_TEXT = st.one_of(
    st.text(st.characters(codec=None, exclude_categories=()), max_size=30),
    st.tuples(st.text(max_size=10), st.sampled_from(["\ud800", "\udfff", "\x00", "\u202e"])).map("".join),
)


@pytest.mark.scenario("fuzz.operator-input")
@pytest.mark.parametrize("examples", SCALES)
def test_rendered_operator_arguments_are_validated_then_fingerprinted(examples: int) -> None:
    """What a submit operator does with its rendered arguments before any paid call: validate, then
    fingerprint. Only AigcInvalidRequestError may come out (a lone surrogate used to raise
    UnicodeEncodeError from the fingerprint and burn the task's retries)."""
    from airflow_provider_aigc.operators.submit import request_fingerprint

    values = st.one_of(_AWKWARD_TEXT, payloads.json_values, st.sampled_from(["4", "1024", "v2", "古风"]))

    @st.composite
    def cases(draw: st.DrawFn) -> tuple[str, str, dict[str, Any]]:
        vendor, app = draw(st.sampled_from(sorted(_PARAM_NAMES)))
        params = draw(st.dictionaries(st.sampled_from(_PARAM_NAMES[(vendor, app)]), values, max_size=5))
        return vendor, app, params

    def check(case: tuple[str, str, dict[str, Any]]) -> None:
        vendor, app, params = case
        try:
            request = _MODULES[vendor].validate(app, params)
        except AigcInvalidRequestError as error:
            check_error(error)
            return
        assert len(request_fingerprint(vendor, app, "conn", request)) == 64
        json.dumps(request).encode("utf-8")

    fuzz("operators.validate+fingerprint", cases(), check, examples)


_EXTRA_NAMES = [
    "timeout",
    "max_retries",
    "output_ttl_seconds",
    "allowed_output_hosts",
    "allow_private_output_hosts",
    "queue",
    "secret_app_key",
    "app_secret",
    "secret_des3_key",
    "app_key",
    "des3_key",
    "unrelated",
]
_EXTRA_VALUES = st.one_of(
    payloads.json_values,
    _AWKWARD_TEXT,
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from(["1e400", "nan", "-0", "10", " 3 ", "true", "img.example.com, *.x.org", "http://h/x"]),
    st.lists(st.sampled_from(["a.example.com", "*.b.org", "", "x y", 5, "[::1]"]), max_size=4),
)


@pytest.mark.scenario("fuzz.connection-extras")
@pytest.mark.parametrize("examples", SCALES)
def test_connection_extras_are_checked_or_refused_by_name(examples: int) -> None:
    """Any connection (extras, host, port, credentials) gives settings inside the documented bounds
    or one AigcInvalidRequestError naming what to fix and quoting no secret; and a TTL it accepts
    never breaks a vendor parser."""
    from airflow_provider_aigc.hooks.connection import (
        MAX_OUTPUT_TTL_SECONDS,
        MAX_RETRIES,
        MAX_TIMEOUT,
        SECRET_EXTRAS,
        read_settings,
    )

    secret = "SECRET-SENTINEL-9f8e7d"
    strategy = st.tuples(
        st.one_of(
            st.dictionaries(st.sampled_from(_EXTRA_NAMES), _EXTRA_VALUES, max_size=6), payloads.json_values
        ),
        st.sampled_from(_SECRET_SLOTS),
        st.one_of(
            st.none(), _AWKWARD_TEXT, st.sampled_from(["http://127.0.0.1:8765", "http://[::1", "h:99999"])
        ),
        st.none() | st.integers(min_value=-5, max_value=70_000),
        st.none() | _AWKWARD_TEXT,
    )

    def check(case: tuple[Any, str, str | None, int | None, str | None]) -> None:
        extra, slot, host, port, login = case
        if isinstance(extra, dict) and slot:
            extra = {
                **extra,
                slot: extra.get(slot, secret) if not isinstance(extra.get(slot), str) else secret,
            }
        try:
            settings = read_settings(
                "fuzz",
                host=host,
                port=port,
                schema=None,
                login=login,
                password=secret,
                extra=extra,
                default_base_url="https://aip.baidubce.com",
            )
        except AigcInvalidRequestError as error:
            refusal: AigcInvalidRequestError | None = error
        else:
            refusal = None
        if refusal is not None:
            check_error(refusal)
            assert secret not in refusal.message
            return
        assert 0 < settings.timeout <= MAX_TIMEOUT
        assert 0 <= settings.max_retries <= MAX_RETRIES
        ttl = settings.output_policy.output_ttl_seconds
        assert ttl is None or 0 < ttl <= MAX_OUTPUT_TTL_SECONDS
        assert set(settings.secret_extras) <= set(SECRET_EXTRAS)
        assert secret not in repr(settings)
        status = _baidu_running_status(ttl)
        assert status.state in (JobState.RUNNING, JobState.QUEUED)

    fuzz("connection.read_settings", strategy, check, examples)


_SECRET_SLOTS = ["", "secret_app_key", "app_secret", "secret_des3_key", "app_key", "des3_key"]


def _baidu_running_status(ttl: float | None) -> JobStatus:
    from airflow_provider_aigc.vendors.base import HttpResponse

    body = {"data": {"task_id": payloads.BAIDU_JOB_ID, "task_status": "RUNNING", "task_progress": 0.5}}
    return baidu.parse_status(
        HttpResponse(200, json.dumps(body).encode()),
        job_id=payloads.BAIDU_JOB_ID,
        app="txt2imgv2",
        now=NOW,
        output_ttl_seconds=ttl,
    )


@pytest.mark.scenario("fuzz.connection-extras")
@pytest.mark.parametrize("examples", SCALES)
def test_des3_keys_derive_or_fail_as_auth_errors(examples: int) -> None:
    """Any des3_key text (base64 of any length, padded or not, odd text) derives keys or raises
    AigcAuthError without quoting the key."""
    import base64

    texts = st.one_of(
        _AWKWARD_TEXT,
        st.binary(min_size=0, max_size=40).map(lambda raw: base64.b64encode(raw).decode()),
        st.binary(min_size=0, max_size=40).map(lambda raw: base64.b64encode(raw).decode().rstrip("=")),
        st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", max_size=34),
    )

    def check(text: str) -> None:
        try:
            keys = zhipu.derive_keys("cogview", "app-key", "app-secret", text)
        except AigcError as error:
            refusal: AigcError | None = error
        else:
            refusal = None
        if refusal is not None:
            check_error(refusal)
            assert type(refusal).__name__ == "AigcAuthError"
            if len(text) >= 8:
                assert text not in refusal.message
            return
        assert keys.apikey
        assert keys.apisecret

    fuzz("zhipu.derive_keys", texts, check, examples)
