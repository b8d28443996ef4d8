"""Baidu ERNIE-ViLG v2 (AI作画-高级版) protocol: OAuth token, txt2imgv2 submit, getImgv2 status.

Sans-IO: builds ``HttpRequest`` values and parses ``HttpResponse`` values; the hooks do the I/O.
Any answer that does not match the vendor document raises ``AigcServerError``, never a
KeyError/TypeError/ValueError.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

from airflow_provider_aigc import exceptions
from airflow_provider_aigc.models import JobError, JobState, JobStatus, Output
from airflow_provider_aigc.vendors import common
from airflow_provider_aigc.vendors.base import HttpRequest, HttpResponse
from airflow_provider_aigc.vendors.spec import ConnectionForm, VendorSpec

VENDOR = "baidu"
APP = "txt2imgv2"
APPS = frozenset({APP})
DEFAULT_BASE_URL = "https://aip.baidubce.com"
# The document gives no latency; a few images take tens of seconds, so 5 s polls stay cheap.
DEFAULT_POLL_INTERVAL: dict[str, float] = {APP: 5.0}

TOKEN_PATH = "/oauth/2.0/token"
SUBMIT_PATH = "/rpc/2.0/ernievilg/v1/txt2imgv2"
STATUS_PATH = "/rpc/2.0/ernievilg/v1/getImgv2"
# "img_url ... 默认 1 小时失效": the fallback when neither the URL nor the connection says.
DEFAULT_OUTPUT_TTL_SECONDS = 3600.0

SOURCE = "baidu ERNIE-ViLG"
PROMPT_MAX_CHARS = 200
VERSIONS = ("v1", "v2")
DEFAULT_VERSION = "v2"
_V1_SIZES = ((1024, 1024), (1280, 720), (720, 1280), (2048, 2048), (2560, 1440), (1440, 2560))
SIZES: dict[str, tuple[tuple[int, int], ...]] = {
    "v1": _V1_SIZES,
    "v2": ((512, 512), (640, 360), (360, 640), *_V1_SIZES),
}
# Our default, not the vendor's: the document names none, and 1024x1024 (its example) suits both versions.
DEFAULT_SIZE = (1024, 1024)
DEFAULT_IMAGE_NUM = 1
IMAGE_NUM_RANGE = (1, 8)
CHANGE_DEGREE_RANGE = (1, 10)
URL_MAX_BYTES = 1024
BLOB_MAX_BYTES = 10 * 1024 * 1024
REFERENCE_FIELDS = ("image", "url", "pdf_file")
BLOB_FIELDS = frozenset({"image", "pdf_file"})
PARAMETERS = frozenset(
    {"prompt", "version", "width", "height", "image_num", "change_degree", "pdf_file_num", *REFERENCE_FIELDS}
)

_STATES: dict[str, JobState] = {
    "INIT": JobState.QUEUED,
    "WAIT": JobState.QUEUED,
    "RUNNING": JobState.RUNNING,
    "SUCCESS": JobState.SUCCEEDED,
    "FAILED": JobState.FAILED,
}
MODERATION_VERDICTS = frozenset({"pass", "review", "block"})
# Billing (docs/billing.md): getImgv2's task_status and sub_task_status both read "只有 SUCCESS 为成功
# 状态,进行计费" (only SUCCESS is a success, and it is billed); each image of a billed sub task counts.
BILLED_UNIT = "image"
BILLING_BASIS = (
    'baidu getImgv2 sub_task_status: "只有 SUCCESS 为成功状态,进行计费" (only SUCCESS is billed);'
    " one unit per image in a SUCCESS sub task's final_image_list"
)
# The document's error_code table (216630 "服务器内部错误,请再次请求" is an internal error that does
# not say no task was created, so on a submit it proves nothing; the others are refusals).
ERROR_CODES: dict[str, type[exceptions.AigcError]] = {
    "110": exceptions.AigcAuthError,
    "111": exceptions.AigcAuthError,
    "13": exceptions.AigcRateLimitError,  # QPS 超限: the submit rate, backed off inside the call
    "18": exceptions.AigcRateLimitError,  # Open api qps request limit reached
    "15": exceptions.AigcConcurrencyLimitError,  # 并发超限: the account runs its concurrency; wait for a slot
    "17": exceptions.AigcQuotaExceededError,  # 用量超限 / 日配额流量超限: the account's usage quota
    "4": exceptions.AigcQuotaExceededError,  # 请求超限: the total of AI drawings is used up
    "282003": exceptions.AigcInvalidRequestError,
    "282004": exceptions.AigcInvalidRequestError,
    "216100": exceptions.AigcInvalidRequestError,
    "216630": exceptions.AigcServerError,
}
# "access token invalid / expired": the hook fetches a new token and repeats the call once.
TOKEN_ERROR_CODES = frozenset({"110", "111"})
# sub_task_error_code, a namespace of its own.
SUB_TASK_ERROR_CODES: dict[str, type[exceptions.AigcError]] = {
    "501": exceptions.AigcContentRejectedError,
    "201": exceptions.AigcJobFailedError,
}
_SUB_TASK_OK = "0"
_SUB_TASK_MEANINGS = {"501": "the prompt was blocked by moderation", "201": "the model failed to draw"}
_DIGITS = re.compile(r"[0-9]+")
_BCE_AUTH_PARTS = 6  # bce-auth-v1/<ak>/<timestamp>/<seconds>/<signedHeaders>/<signature>


@dataclass(frozen=True)
class AccessToken:
    """An OAuth access token and when it stops working (epoch seconds); its value is never printed."""

    value: str = field(repr=False)
    expires_at: float


# --- token --------------------------------------------------------------------------------------


def build_token_request(api_key: str, secret_key: str) -> HttpRequest:
    """The client-credentials call that turns the connection's API Key/Secret Key into a token."""
    return HttpRequest(
        method="POST",
        path=TOKEN_PATH,
        params={"grant_type": "client_credentials", "client_id": api_key, "client_secret": secret_key},
        secret_fields=frozenset({"client_id", "client_secret"}),
    )


def parse_token(response: HttpResponse, now: float) -> AccessToken:
    """The token and its expiry (``now`` + ``expires_in``).

    A successful body holds the token itself, so errors about it name fields and never quote it.
    Any OAuth ``error`` below HTTP 500 (``invalid_client`` on 401/400) means the keys are wrong.
    """
    body = common.try_decode_json(response)
    fields: Mapping[str, Any] = body if isinstance(body, Mapping) else {}
    error = fields.get("error")
    if error is not None and response.status < 500:
        description = _quote(fields.get("error_description"))
        raise exceptions.AigcAuthError(
            f"baidu refused the API Key/Secret Key ({_quote(error)}: {description})."
            " Check the connection's login (API Key) and password (Secret Key).",
            vendor=VENDOR,
            code=error if isinstance(error, str) else None,
        )
    if not common.is_success(response):
        raise common.http_error(VENDOR, response)
    token, expires_in = fields.get("access_token"), fields.get("expires_in")
    if not isinstance(token, str) or not token.strip():
        raise exceptions.AigcServerError(
            f"baidu token answer has no access_token (fields: {exceptions.trim(sorted(fields), 120)})",
            vendor=VENDOR,
        )
    if isinstance(expires_in, bool) or not isinstance(expires_in, (int, float)) or not 0 < expires_in < 1e10:
        raise exceptions.AigcServerError(
            "baidu token answer has no valid expires_in (seconds)", vendor=VENDOR
        )
    return AccessToken(value=token, expires_at=now + float(expires_in))


def _quote(value: object) -> str:
    """A vendor's message, shortened; "-" when it sent none."""
    return exceptions.trim(value, 120) if isinstance(value, str) else "-"


# --- requests -----------------------------------------------------------------------------------


def build_submit(app: str, request: Mapping[str, Any], token: AccessToken, now: float) -> HttpRequest:
    """The txt2imgv2 call for a request returned by ``validate`` (None values omitted)."""
    common.check_app(VENDOR, app, APPS)
    return _rpc(SUBMIT_PATH, {name: value for name, value in request.items() if value is not None}, token)


def build_status(job_id: str, app: str, token: AccessToken, now: float) -> HttpRequest:
    """The getImgv2 call; the id goes as a string so a 64-bit id never passes through a float."""
    return _rpc(STATUS_PATH, {"task_id": job_id}, token)


def _rpc(path: str, body: Mapping[str, Any], token: AccessToken) -> HttpRequest:
    return HttpRequest(
        method="POST",
        path=path,
        params={"access_token": token.value},
        json=body,
        secret_fields=frozenset({"access_token"}),
    )


# --- responses ----------------------------------------------------------------------------------


def _read(response: HttpResponse) -> tuple[common.Payload, Mapping[str, Any]]:
    """The top-level object, once Baidu's error envelope and HTTP errors have been raised."""
    body = common.try_decode_json(response)
    code = common.read_code(body, "error_code")
    if code is not None and code != "0":
        raise common.envelope_error(VENDOR, ERROR_CODES, code, _quote(body.get("error_msg")))
    if not common.is_success(response):
        raise common.http_error(VENDOR, response)
    payload = common.Payload(VENDOR, body, response.body.decode("utf-8", "replace"))
    return payload, payload.root()


def parse_submit(response: HttpResponse) -> str:
    """``data.task_id``, or ``data.primary_task_id`` (kept exact as ``str(int)``) when only it is sent."""
    payload, root = _read(response)
    data = payload.get_mapping(root, "data")
    task_id = payload.opt_code(data, "task_id") or payload.opt_code(data, "primary_task_id")
    if task_id is None or not _DIGITS.fullmatch(task_id):
        raise payload.malformed("no numeric data.task_id or data.primary_task_id")
    return task_id


def parse_status(
    response: HttpResponse,
    *,
    job_id: str,
    app: str,
    now: datetime,
    output_ttl_seconds: float | None = None,
) -> JobStatus:
    """The job as getImgv2 reports it, with or without the ``data`` wrapper.

    SUCCESS keeps the images that exist even when some sub tasks failed; SUCCESS without any image
    and FAILED both become FAILED with the first failing sub task's code.
    """
    common.check_app(VENDOR, app, APPS)
    payload, root = _read(response)
    wrapped = payload.opt_mapping(root, "data")
    task = root if wrapped is None else wrapped
    reported_id = payload.opt_code(task, "task_id")
    if reported_id is not None and reported_id != job_id:
        raise payload.malformed(f"task_id {reported_id} is not the polled job {job_id}")
    state = _state(payload, "task_status", payload.get_str(task, "task_status"))
    progress = _progress(payload, task, "task_progress")
    fallback_expiry = _fallback_expiry(now, output_ttl_seconds)
    outputs: list[Output] = []
    failures: list[str | None] = []
    billed = 0
    for item in payload.opt_list(task, "sub_task_result_list") or ():
        sub_task = payload.as_mapping(item, "sub_task_result_list item")
        sub_status = payload.opt_str(sub_task, "sub_task_status")
        sub_state = None if sub_status is None else _state(payload, "sub_task_status", sub_status)
        _progress(payload, sub_task, "sub_task_progress")
        code = payload.opt_code(sub_task, "sub_task_error_code") or _SUB_TASK_OK
        if not _DIGITS.fullmatch(code):
            raise payload.malformed(f"sub_task_error_code {code!r} is not a number")
        if code != _SUB_TASK_OK or sub_state is JobState.FAILED:
            failures.append(None if code == _SUB_TASK_OK else code)
        images = payload.opt_list(sub_task, "final_image_list") or ()
        for image in images:
            outputs.append(_output(payload, image, len(outputs), fallback_expiry))
        if (sub_state or state) is JobState.SUCCEEDED:
            billed += len(images)
    if state is JobState.SUCCEEDED and not outputs:
        if not failures:
            raise payload.malformed("task_status SUCCESS without any image")
        state = JobState.FAILED
    error = _job_error(failures[0] if failures else None) if state is JobState.FAILED else None
    status = JobStatus(
        vendor=VENDOR,
        app=app,
        job_id=job_id,
        state=state,
        progress=progress,
        outputs=tuple(outputs),
        error=error,
    )
    return status.billed(billed, BILLED_UNIT, BILLING_BASIS) if state.is_terminal() else status


def _fallback_expiry(now: datetime, output_ttl_seconds: float | None) -> datetime:
    """When an image URL without a readable signature expires: ``now`` + the connection's TTL
    (the document's 1 h when unset). A TTL no date can hold is the connection's error."""
    ttl = DEFAULT_OUTPUT_TTL_SECONDS if output_ttl_seconds is None else output_ttl_seconds
    try:
        return now + timedelta(seconds=ttl)
    except (OverflowError, ValueError, TypeError):
        raise exceptions.AigcInvalidRequestError(
            f"output_ttl_seconds {exceptions.trim(repr(ttl), 40)} is out of range;"
            " use a number of seconds up to a year",
            vendor=VENDOR,
        ) from None


def _state(payload: common.Payload, key: str, status: str) -> JobState:
    if status not in _STATES:
        raise payload.malformed(f"{key} {status!r} is not one of {', '.join(_STATES)}")
    return _STATES[status]


def _progress(payload: common.Payload, obj: Mapping[str, Any], key: str) -> float | None:
    progress = payload.opt_number(obj, key)
    if progress is not None and not 0.0 <= progress <= 1.0:
        raise payload.malformed(f"{key} {progress} is outside 0-1")
    return progress


def _output(payload: common.Payload, item: object, index: int, fallback_expiry: datetime) -> Output:
    image = payload.as_mapping(item, "final_image_list item")
    url = payload.get_str(image, "img_url")
    width, height = payload.opt_int(image, "width"), payload.opt_int(image, "height")
    verdict = payload.opt_str(image, "img_approve_conclusion")
    if not url.strip():
        raise payload.malformed("img_url is empty")
    if any(size is not None and size <= 0 for size in (width, height)):
        raise payload.malformed(f"image size {width}x{height} is not positive")
    if verdict is not None and verdict not in MODERATION_VERDICTS:
        raise payload.malformed(f"img_approve_conclusion {verdict!r} is not one of pass, review, block")
    return Output(
        index=index,
        kind="image",
        url=url,
        width=width,
        height=height,
        expires_at=common.to_iso_utc(expiry_from_bce_url(url) or fallback_expiry),
        moderation=verdict,
    )


def _job_error(code: str | None) -> JobError:
    """501 -> content rejected, 201 and undocumented codes -> job failed (INTERFACES.md)."""
    if code is None:
        return JobError(
            exceptions.AigcJobFailedError.__name__, "baidu reported the task FAILED without an error code"
        )
    error_class = SUB_TASK_ERROR_CODES.get(code, exceptions.AigcJobFailedError)
    meaning = _SUB_TASK_MEANINGS.get(code, "an undocumented sub-task error")
    return JobError(error_class.__name__, f"baidu sub task failed with code {code}: {meaning}", code)


def expiry_from_bce_url(url: str) -> datetime | None:
    """When a signed BOS URL stops working: the ``authorization`` timestamp plus its seconds.

    The parameter reads ``bce-auth-v1/<ak>/<2023-07-06T02:46:53Z>/<1800>/<headers>/<signature>``;
    None when it is absent or unreadable.
    """
    try:
        values = parse_qs(urlsplit(url).query).get("authorization", [])
    except ValueError:
        return None
    parts = values[0].split("/") if len(values) == 1 else []
    if len(parts) != _BCE_AUTH_PARTS or parts[0] != "bce-auth-v1" or not _DIGITS.fullmatch(parts[3]):
        return None
    try:
        signed_at = datetime.strptime(parts[2], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        return signed_at + timedelta(seconds=int(parts[3]))
    except (ValueError, OverflowError):
        return None


# --- validation ---------------------------------------------------------------------------------


def validate(app: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Check the parameters against the document's limits before any paid call; returns the request.

    The document allows only Chinese and everyday punctuation in ``prompt``; we do not enforce
    that: the vendor does, and a client-side character rule would block legitimate punctuation.
    """
    common.check_app(VENDOR, app, APPS)
    given = common.known_params(VENDOR, app, params, PARAMETERS)
    version = common.validate_choice(
        "version", given.get("version", DEFAULT_VERSION), VERSIONS, source=SOURCE
    )
    return {
        "prompt": common.validate_text(
            "prompt", given.get("prompt"), source=SOURCE, max_length=PROMPT_MAX_CHARS
        ),
        "version": version,
        **_size(given, version),
        "image_num": _int_in(given, "image_num", IMAGE_NUM_RANGE, DEFAULT_IMAGE_NUM),
        **_reference(given),
    }


def describe_request(app: str, request: Mapping[str, Any]) -> dict[str, Any]:
    """The request as XCom and manifests may show it: base64 blobs become their length."""
    common.check_app(VENDOR, app, APPS)
    return {
        name: f"<base64: {len(value)} chars>" if name in BLOB_FIELDS and isinstance(value, str) else value
        for name, value in request.items()
    }


def _int_in(given: Mapping[str, Any], name: str, bounds: tuple[int, int], default: int | None = None) -> int:
    value = given.get(name, default)
    return common.validate_int(name, value, source=SOURCE, minimum=bounds[0], maximum=bounds[1])


def _size(given: Mapping[str, Any], version: str) -> dict[str, int]:
    if "width" in given or "height" in given:
        width = common.validate_int("width", given.get("width"), source=SOURCE)
        height = common.validate_int("height", given.get("height"), source=SOURCE)
    else:
        width, height = DEFAULT_SIZE
    allowed = SIZES[version]
    if (width, height) not in allowed:
        raise exceptions.AigcInvalidRequestError(
            f"width x height {width}x{height} is not offered by version {version}; allowed: "
            f"{', '.join(f'{w}x{h}' for w, h in allowed)} ({SOURCE} limit)",
            vendor=VENDOR,
        )
    return {"width": width, "height": height}


def _reference(given: Mapping[str, Any]) -> dict[str, Any]:
    """The optional reference image; ambiguity is rejected although the vendor would pick one."""
    present = [name for name in REFERENCE_FIELDS if name in given]
    if len(present) > 1:
        raise _invalid(f"give at most one of image, url, pdf_file, got {', '.join(present)}")
    if "pdf_file_num" in given and present != ["pdf_file"]:
        raise _invalid("pdf_file_num applies only together with pdf_file")
    if not present:
        if "change_degree" in given:
            raise _invalid("change_degree applies only with a reference (image, url or pdf_file)")
        return {}
    name = present[0]
    if "change_degree" not in given:
        low, high = CHANGE_DEGREE_RANGE
        raise _invalid(f"change_degree (an integer {low}-{high}) is required with {name}")
    reference = {name: _url(given[name]) if name == "url" else _blob(name, given[name])}
    if "pdf_file_num" in given:
        # The document types the page number as a string.
        reference["pdf_file_num"] = str(
            common.validate_int("pdf_file_num", given["pdf_file_num"], source=SOURCE, minimum=1)
        )
    return {**reference, "change_degree": _int_in(given, "change_degree", CHANGE_DEGREE_RANGE)}


def _url(value: object) -> str:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise _invalid(f"url must be a full http(s) URL, got {exceptions.trim(value, 80)}")
    size = len(common.require_utf8("url", value, source=SOURCE).encode("utf-8"))
    if size > URL_MAX_BYTES:
        raise _invalid(f"url must be at most {URL_MAX_BYTES} bytes, got {size}")
    return value


def _blob(name: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise _invalid(f"{name} must be a non-empty base64 string")
    try:
        size = len(base64.b64decode(value, validate=True))
    except ValueError:
        raise _invalid(f"{name} is not valid base64 ({len(value)} chars)") from None
    if size > BLOB_MAX_BYTES:
        raise _invalid(f"{name} decodes to {size} bytes; the limit is 10 MB ({BLOB_MAX_BYTES} bytes)")
    return value


def _invalid(reason: str) -> exceptions.AigcInvalidRequestError:
    return exceptions.AigcInvalidRequestError(f"{reason} ({SOURCE} limit)", vendor=VENDOR)


SPEC: VendorSpec[AccessToken] = VendorSpec(
    name=VENDOR,
    integration="Baidu ERNIE-ViLG",
    apps=APPS,
    default_base_url=DEFAULT_BASE_URL,
    poll_intervals=DEFAULT_POLL_INTERVAL,
    prompt_fields={APP: "prompt"},
    error_codes=ERROR_CODES,
    max_running_jobs=2,  # "并发数:付费使用后默认并发数为 2"
    output_validity="Baidu documents its image URLs as valid for 1 hour after the job finishes.",
    form=ConnectionForm(
        hook_name="Baidu ERNIE-ViLG",
        login=("API Key", "API Key of the Baidu AI Cloud application"),
        password=("Secret Key", "Secret Key of the Baidu AI Cloud application"),
    ),
    hook_class="airflow_provider_aigc.hooks.baidu.BaiduHook",
    validate=validate,
    describe_request=describe_request,
    build_submit=build_submit,
    build_status=build_status,
    parse_submit=parse_submit,
    parse_status=parse_status,
)
