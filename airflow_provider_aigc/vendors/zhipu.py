"""Zhipu (AMiner WuDao) protocol: CogView images and news generation, sans-IO.

Both apps share one envelope ``{"status": code, "message", "result"}`` and one status endpoint.
Credentials travel in the JSON body, so every built request names them in ``secret_fields``.
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_aigc import exceptions
from airflow_provider_aigc.models import JobError, JobState, JobStatus, Output
from airflow_provider_aigc.vendors import common
from airflow_provider_aigc.vendors.base import HttpRequest
from airflow_provider_aigc.vendors.spec import ConnectionForm, VendorSpec

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow_provider_aigc.vendors.base import HttpResponse

VENDOR = "zhipu"
COGVIEW = "cogview"
NEWS = "news_generate"
APPS = frozenset({COGVIEW, NEWS})
DEFAULT_BASE_URL = "https://pretrain.aminer.cn/api"
DEFAULT_QUEUE = "queue1"
# The documents quote 3-5 min for CogView and about 1 s for news.
DEFAULT_POLL_INTERVAL: dict[str, float] = {COGVIEW: 15.0, NEWS: 2.0}

_SOURCE = "Zhipu"
_PATHS = {COGVIEW: "/v1/cogview", NEWS: "/v1/news"}
_PARAMS = {COGVIEW: ("key", "query"), NEWS: ("key", "content", "max_length")}
_SECRET_FIELDS = frozenset({"apikey", "apisecret"})
_DES3_KEY_SIZES = (16, 24)
# ``result.status`` values: "wait" is documented; the documents' done answers carry no status,
# and the simulator's say "finish". None: the field is absent.
_WAITING_STATES = (None, "wait")
_DONE_STATES = (None, "finish")
# Billing (docs/billing.md): the documents state no price and no billing rule; the one text about
# counting calls is error 10004. So jobs are recorded, one per finished task, not priced.
BILLED_UNIT = "job"
BILLING_BASIS = (
    'zhipu: the documents state no billing rule; the only count they name is error 10004 "接口周期次数超限制"'
    " (the API's calls per period exceeded); one job recorded per finished task"
)
# The documents list 10001-10004, all refusals; any other code proves nothing.
ERROR_CODES: dict[str, type[exceptions.AigcError]] = {
    "10001": exceptions.AigcAuthError,
    "10002": exceptions.AigcAuthError,
    "10003": exceptions.AigcRateLimitError,
    "10004": exceptions.AigcQuotaExceededError,
}
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ZhipuKeys:
    """The ``apikey``/``apisecret`` pair sent in every body; kept out of ``repr`` so logs stay clean."""

    apikey: str = field(repr=False)
    apisecret: str = field(repr=False)


def parse_des3_key(text: str) -> bytes:
    """The 3DES key from a connection, by one rule that never reads a value two ways:

    1. standard base64 *with its padding* (canonical, as ``base64.b64encode`` writes it) of 16 or
       24 bytes: those bytes. The only overlap with rule 2 is a 24-character text ending in "==",
       and such a value is read as base64 (the standard encoding of a 16-byte key);
    2. otherwise text of 16 or 24 UTF-8 bytes: those bytes;
    3. otherwise base64 without padding (22 or 32 characters) of 16 or 24 bytes.

    Any key can also be given as the padded base64 of its bytes. Errors never quote the key.
    """
    hint = "des3_key must be 16 or 24 bytes of text, or base64 of 16 or 24 bytes"
    if not isinstance(text, str):
        raise exceptions.AigcAuthError(f"{hint}; got {type(text).__name__}", vendor=VENDOR)
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError:
        raise exceptions.AigcAuthError(f"{hint}; got text UTF-8 cannot encode", vendor=VENDOR) from None
    padded = _base64_key(text)
    if padded is not None and len(padded) in _DES3_KEY_SIZES and base64.b64encode(padded) == raw:
        raw = padded
    elif len(raw) not in _DES3_KEY_SIZES:
        unpadded = _base64_key(text + "=" * (-len(text) % 4))
        if unpadded is None:
            raise exceptions.AigcAuthError(f"{hint}; got {len(raw)} bytes that are not base64", vendor=VENDOR)
        if len(unpadded) not in _DES3_KEY_SIZES:
            raise exceptions.AigcAuthError(
                f"{hint}; its base64 decodes to {len(unpadded)} bytes", vendor=VENDOR
            )
        raw = unpadded
    from Crypto.Cipher import DES3

    try:
        return DES3.adjust_key_parity(raw)
    except ValueError:
        raise exceptions.AigcAuthError(
            "des3_key degenerates to single DES (its 8-byte parts repeat); use a key with distinct parts",
            vendor=VENDOR,
        ) from None


def _base64_key(text: str) -> bytes | None:
    """The bytes of strict standard base64 (alphabet and padding checked); None when it is not."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def derive_keys(api_name: str, app_key: str, app_secret: str, des3_key_text: str) -> ZhipuKeys:
    """Per-API keys: base64(3DES-ECB-PKCS7(key, "api_name:app_key")) and the same over app_secret."""
    from Crypto.Cipher import DES3
    from Crypto.Util.Padding import pad

    key = parse_des3_key(des3_key_text)

    def encrypt(secret: str) -> str:
        plain = f"{api_name}:{secret}".encode()
        cipher = DES3.new(key, DES3.MODE_ECB)
        return base64.b64encode(cipher.encrypt(pad(plain, DES3.block_size))).decode("ascii")

    return ZhipuKeys(apikey=encrypt(app_key), apisecret=encrypt(app_secret))


def validate(app: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The body fields to submit: ``key`` (queue, default "queue1") plus the app's own fields."""
    common.check_app(VENDOR, app, APPS)
    values = common.known_params(VENDOR, app, params, _PARAMS[app])
    request: dict[str, Any] = {
        "key": common.validate_text("key", values.get("key", DEFAULT_QUEUE), source=_SOURCE)
    }
    if app == COGVIEW:
        request["query"] = common.validate_text("query", values.get("query"), source=_SOURCE)
    else:
        request["content"] = common.validate_text("content", values.get("content"), source=_SOURCE)
        request["max_length"] = common.validate_int(
            "max_length", values.get("max_length"), source=_SOURCE, minimum=1
        )
    return request


def describe_request(app: str, request: Mapping[str, Any]) -> dict[str, Any]:
    """The validated request as XCom may show it (it never holds credentials)."""
    common.check_app(VENDOR, app, APPS)
    return dict(request)


def build_submit(app: str, request: Mapping[str, Any], keys: ZhipuKeys, now: float) -> HttpRequest:
    """``POST /v1/cogview`` or ``/v1/news``: the request ``validate`` returned, plus the keys."""
    common.check_app(VENDOR, app, APPS)
    body = {**request, "apikey": keys.apikey, "apisecret": keys.apisecret}
    return HttpRequest("POST", _PATHS[app], json=body, secret_fields=_SECRET_FIELDS)


def build_status(job_id: str, app: str, keys: ZhipuKeys, now: float) -> HttpRequest:
    """``GET /v1/status?task_id=``: the one status call both apps share (no credentials)."""
    return HttpRequest(
        "GET", "/v1/status", params={"task_id": common.validate_text("job_id", job_id, source=_SOURCE)}
    )


def parse_submit(response: HttpResponse) -> str:
    """The ``result.task_id`` of an accepted job."""
    payload, result = _result(response, status_call=False)
    return payload.as_non_blank(result.get("task_id"), "result.task_id")


def parse_status(
    response: HttpResponse,
    *,
    job_id: str,
    app: str,
    now: datetime,
    output_ttl_seconds: float | None = None,
) -> JobStatus:
    """Map a ``/v1/status`` answer onto ``JobStatus``.

    The documents define completion by ``output`` and name one ``status`` value, "wait":
    waiting is ``output`` empty or absent with ``status`` "wait" or absent (``progress.value``
    "0%" -> QUEUED, more -> RUNNING); done is URLs (cogview) or ``{"text"}`` (news), whatever the
    ``status`` says (an unknown one is logged). ``status`` "failed" -> FAILED with ``error``.
    Any other ``status`` without output is not a state we can wait on: it raises
    ``AigcServerError`` naming the raw value, so polling ends after its bounded run of failures
    instead of waiting silently until the deadline.
    The documents give no URL lifetime, so expiry is ``updated_at`` + the connection's TTL.
    """
    common.check_app(VENDOR, app, APPS)
    payload, result = _result(response, status_call=True)
    state = payload.opt_str(result, "status")
    payload.opt_number(result, "process_time")  # not needed downstream; read to reject odd bodies
    if state == "failed":
        reason = payload.opt_str(result, "error") or "the vendor reported the task as failed"
        error = JobError(
            type=exceptions.AigcJobFailedError.__name__, message=f"zhipu task {job_id} failed: {reason}"
        )
        failed = JobStatus(VENDOR, app, job_id, JobState.FAILED, error=error)
        return failed.billed(1, BILLED_UNIT, BILLING_BASIS)
    output = result.get("output")
    if output is None or (isinstance(output, (dict, list)) and not output):
        if state not in _WAITING_STATES:
            raise payload.malformed(
                f"task status {repr(state)[:60]} without output is not one the documents define"
                f" (waiting: {', '.join(repr(s) for s in _WAITING_STATES if s)} or no status;"
                " done: an output; failed: 'failed')"
            )
        progress = _progress(payload, result)
        running = JobState.QUEUED if progress == 0.0 else JobState.RUNNING
        return JobStatus(VENDOR, app, job_id, running, progress)
    if state not in _DONE_STATES:
        _log.warning(
            "zhipu task %s has an output and the undocumented status %s; taking the output as done",
            job_id,
            repr(state)[:60],
        )
    expires_at = _expires_at(payload, result, now, output_ttl_seconds)
    if app == COGVIEW:
        if not isinstance(output, list):
            raise payload.malformed("cogview output should be a list of image URLs")
        outputs = tuple(
            Output(
                index=i, kind="image", url=payload.as_non_blank(item, f"output[{i}]"), expires_at=expires_at
            )
            for i, item in enumerate(output)
        )
    else:
        text = payload.get_str(payload.as_mapping(output, "news output"), "text")
        outputs = (Output(index=0, kind="text", text=text, expires_at=expires_at),)
    return JobStatus(VENDOR, app, job_id, JobState.SUCCEEDED, 1.0, outputs).billed(
        1, BILLED_UNIT, BILLING_BASIS
    )


def _result(response: HttpResponse, *, status_call: bool) -> tuple[common.Payload, Mapping[str, Any]]:
    """Check the HTTP status and the envelope's code; return the ``result`` object."""
    if not common.is_success(response):
        raise _http_failure(response, status_call=status_call)
    payload = common.Payload.from_response(VENDOR, response)
    root = payload.root()
    code = payload.get_int(root, "status")
    if code != 0:
        raise common.envelope_error(VENDOR, ERROR_CODES, code, _message(root))
    return payload, payload.get_mapping(root, "result")


def _http_failure(response: HttpResponse, *, status_call: bool) -> exceptions.AigcError:
    """A non-2xx answer: a Zhipu envelope names the error, anything else is classified by HTTP status."""
    body = common.try_decode_json(response)
    code = common.read_code(body, "status")
    if code is not None and code in ERROR_CODES:
        return common.envelope_error(VENDOR, ERROR_CODES, code, _message(body))
    if status_call and response.status == 404 and code == "404":
        return exceptions.AigcUnknownJobError(
            f"zhipu does not know this task: {_message(body)}", vendor=VENDOR
        )
    return common.http_error(VENDOR, response)


def _message(root: Mapping[str, Any]) -> str:
    message = root.get("message")
    return message if isinstance(message, str) else "no message"


def _progress(payload: common.Payload, result: Mapping[str, Any]) -> float | None:
    progress = payload.opt_mapping(result, "progress")
    if progress is None or progress.get("value") is None:
        return None
    value = common.parse_percent(progress.get("value"))
    if value is None:
        raise payload.malformed("progress.value should be a percentage such as '37%'")
    return value


def _expires_at(
    payload: common.Payload, result: Mapping[str, Any], now: datetime, ttl_seconds: float | None
) -> str | None:
    if ttl_seconds is None:
        return None
    updated_text = payload.opt_str(result, "updated_at")
    updated = now if updated_text is None else _rfc1123(payload, updated_text)
    try:
        return common.to_iso_utc(updated + timedelta(seconds=ttl_seconds))
    except (OverflowError, ValueError):
        raise payload.malformed("updated_at plus the output TTL is out of range") from None


def _rfc1123(payload: common.Payload, text: str) -> datetime:
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        raise payload.malformed("updated_at should be an RFC 1123 date") from None


_SECRET_TEXT: dict[str, Any] = {"type": ["string", "null"], "format": "password"}
SPEC: VendorSpec[ZhipuKeys] = VendorSpec(
    name=VENDOR,
    integration="Zhipu AIGC",
    apps=APPS,
    default_base_url=DEFAULT_BASE_URL,
    poll_intervals=DEFAULT_POLL_INTERVAL,
    prompt_fields={COGVIEW: "query", NEWS: "content"},
    error_codes=ERROR_CODES,
    output_validity=None,
    form=ConnectionForm(
        hook_name="Zhipu AIGC (CogView, news)",
        login=("apikey (console)", "console apikey, or leave empty to derive from the app key"),
        password=("apisecret (console)", "console apisecret, or leave empty to derive"),
        extras={
            "queue": {
                "label": "Queue",
                "description": "The request's queue name (key) when a task does not set one.",
                "schema": {"type": ["string", "null"], "default": DEFAULT_QUEUE},
            },
            # Secret extras carry "secret" in their names: Airflow's REST API and UI hide an extra
            # by its name only (``[core] sensitive_var_conn_names`` words), whatever the form
            # declares. The names before 0.2, ``app_key`` and ``des3_key``, still work (shown in
            # clear, with a warning).
            "secret_app_key": {
                "label": "App key",
                "description": "With App secret and DES3 key, derives per-API keys when login/password"
                " are empty (formerly the extra app_key).",
                "schema": _SECRET_TEXT,
            },
            "app_secret": {
                "label": "App secret",
                "description": "Used to derive per-API keys when login/password are empty.",
                "schema": _SECRET_TEXT,
            },
            "secret_des3_key": {
                "label": "DES3 key",
                "description": "3DES key for key derivation (formerly the extra des3_key): standard base64"
                " of 16 or 24 bytes, or 16 or 24 bytes of text. A 24-character value ending in '==' is"
                " read as base64.",
                "schema": _SECRET_TEXT,
            },
        },
    ),
    hook_class="airflow_provider_aigc.hooks.zhipu.ZhipuHook",
    validate=validate,
    describe_request=describe_request,
    build_submit=build_submit,
    build_status=build_status,
    parse_submit=parse_submit,
    parse_status=parse_status,
)
