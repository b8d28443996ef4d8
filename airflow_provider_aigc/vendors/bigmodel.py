"""Zhipu BigModel / Z.AI open platform v4 asynchronous media, sans-IO: GLM-Image and CogVideoX-3.

JSON calls under ``/paas/v4/`` with ``Authorization: Bearer <API key>`` (or a short-lived HS256
JWT minted from the key, the legacy form the official SDK still implements). A submit answers the
platform's task ``id``; ``GET /paas/v4/async-result/{id}`` reads ``task_status`` PROCESSING /
SUCCESS / FAIL and the result URLs. Errors come as ``{"error": {"code", "message"}}`` (the
documents' example, a string code) or flat ``{"code", "message"}`` (their OpenAPI schema, an
integer code): both are read. Protocol notes: ../shared/vendors/zhipu_v4_async.md; the choices
for what the documents leave open are in docs/INTERFACES.md.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_aigc import exceptions
from airflow_provider_aigc.models import JobError, JobState, JobStatus, Output
from airflow_provider_aigc.vendors import common
from airflow_provider_aigc.vendors.base import HttpRequest
from airflow_provider_aigc.vendors.spec import ConnectionForm, VendorSpec

if TYPE_CHECKING:
    from airflow_provider_aigc.vendors.base import HttpResponse

VENDOR = "bigmodel"
GLM_IMAGE = "glm_image"
COGVIDEOX = "cogvideox"
APPS = frozenset({GLM_IMAGE, COGVIDEOX})
DEFAULT_BASE_URL = "https://open.bigmodel.cn/api"
ZAI_BASE_URL = "https://api.z.ai/api"
# An image takes about 20 s (documents); a video takes minutes, so polling it every few seconds
# would only cost requests.
DEFAULT_POLL_INTERVAL: dict[str, float] = {GLM_IMAGE: 5.0, COGVIDEOX: 15.0}

SUBMIT_PATHS = {GLM_IMAGE: "/paas/v4/async/images/generations", COGVIDEOX: "/paas/v4/videos/generations"}
STATUS_PATH = "/paas/v4/async-result/"
SOURCE = "BigModel"
AUTHORIZATION = "Authorization"

GLM_IMAGE_MODELS = ("glm-image",)
IMAGE_QUALITIES = ("hd",)
IMAGE_SIZES = ("1280x1280", "1568x1056", "1056x1568", "1472x1088", "1088x1472", "1728x960", "960x1728")
CUSTOM_SIDE_RANGE = (1024, 2048)
CUSTOM_SIDE_MULTIPLE = 32
CUSTOM_MAX_PIXELS = 2**22
# The API reference's enum is cogvideox-3; the path serves other video models with other schemas
# (Vidu), which these operators do not validate, so they are refused rather than sent unchecked.
VIDEO_MODELS = ("cogvideox-3",)
VIDEO_QUALITIES = ("speed", "quality")
VIDEO_SIZES = ("1280x720", "720x1280", "1024x1024", "1920x1080", "1080x1920", "2048x1080", "3840x2160")
VIDEO_FPS = (30, 60)
VIDEO_DURATIONS = (5, 10)
MAX_VIDEO_PROMPT_CHARS = 512
MAX_IMAGE_INPUTS = 2  # first frame and last frame
MAX_IMAGE_INPUT_BYTES = 5 * 1024 * 1024
IMAGE_INPUT_TYPES = ("png", "jpeg", "jpg")
REQUEST_ID_CHARS = (6, 64)
USER_ID_CHARS = (6, 128)
MAX_URL_CHARS = 2048
# Images: "temporary links valid for 30 days" (z.ai spec). Videos and covers: not documented.
IMAGE_URL_VALIDITY = timedelta(days=30)
# A JWT lives this long, as the official SDK mints it (now + 210 s).
JWT_LIFETIME_MS = 210_000

_DATA_URI = re.compile(r"data:image/(png|jpeg|jpg);base64,(.*)", re.DOTALL | re.IGNORECASE)
_SECRET_FIELDS = frozenset({AUTHORIZATION})
_PROCESSING, _SUCCESS, _FAIL = "PROCESSING", "SUCCESS", "FAIL"

# Billing (docs/billing.md): the API returns no usage for media tasks; the price pages bill each
# generated image, and each generated video at a price set by its options.
BILLED_UNITS = {GLM_IMAGE: "image", COGVIDEOX: "video"}
BILLING_BASIS = {
    GLM_IMAGE: "bigmodel: GLM-Image is priced per generated image (price page; the API returns no usage);"
    " one unit per image_result item; a FAIL task counts one (the documents do not say it is free)",
    COGVIDEOX: "bigmodel: CogVideoX-3 is priced per generated video, the price set by its options"
    " (quality, fps, duration, size, with_audio, in the request; price page, the API returns no"
    " usage); one unit per video_result item; a FAIL task counts one (the documents do not say it"
    " is free)",
}

# The business codes of the documents' error-code page, by taxonomy class. A concurrency refusal
# (1302) buys nothing and waits, deferred, for capacity; call frequency (1303) is a per-second limit
# that the short in-worker backoff outlasts, like the platform's overload codes (1305, 1312).
ERROR_CODES: dict[str, type[exceptions.AigcError]] = {
    **dict.fromkeys(
        ("1000", "1001", "1002", "1003", "1004", "1110", "1111", "1112", "1121"), exceptions.AigcAuthError
    ),
    "1113": exceptions.AigcBalanceError,
    **dict.fromkeys(("1304", "1308", "1309", "1310", "1311", "1313"), exceptions.AigcQuotaExceededError),
    "1302": exceptions.AigcConcurrencyLimitError,
    **dict.fromkeys(("1303", "1305", "1312"), exceptions.AigcRateLimitError),
    **dict.fromkeys(
        ("1200", "1210", "1211", "1212", "1213", "1214", "1215", "1220", "1221", "1222", "1261"),
        exceptions.AigcInvalidRequestError,
    ),
    **dict.fromkeys(("1300", "1301"), exceptions.AigcContentRejectedError),
    # "You already have a request: {request_id}": an earlier submit with this request_id reached
    # the platform; the answer names no task id, so the job's outcome stays to be looked up.
    "1231": exceptions.AigcSubmitUnconfirmedError,
    **dict.fromkeys(("500", "1100", "1120", "1230", "1234"), exceptions.AigcServerError),
}
TOKEN_EXPIRED = "1003"


@dataclass(frozen=True)
class BigModelCredentials:
    """The API key (``<id>.<secret>``) and how it is sent: as it is, or as a JWT signed with it."""

    api_key: str = field(repr=False)
    jwt: bool = False


def jwt_token(api_key: str, now: float) -> str:
    """The legacy JWT form: HS256 over ``{"api_key": id, "exp", "timestamp"}`` in milliseconds,
    header ``{"alg": "HS256", "sign_type": "SIGN"}``, keyed with the key's secret part."""
    key_id, dot, secret = api_key.partition(".")
    if not (dot and key_id and secret):
        raise exceptions.AigcAuthError(
            "the BigModel API key must read '<id>.<secret>' to sign a JWT; use the plain key (jwt off)"
            " or the key as the console shows it",
            vendor=VENDOR,
        )
    now_ms = int(now * 1000)
    header = {"alg": "HS256", "sign_type": "SIGN"}
    claims = {"api_key": key_id, "exp": now_ms + JWT_LIFETIME_MS, "timestamp": now_ms}
    signing_input = f"{_b64url(header)}.{_b64url(claims)}"
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def _b64url(value: Mapping[str, Any]) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def authorization(credentials: BigModelCredentials, now: float) -> str:
    """The ``Authorization`` header value of one call (a JWT is minted afresh per call)."""
    token = jwt_token(credentials.api_key, now) if credentials.jwt else credentials.api_key
    return f"Bearer {token}"


# --- validation --------------------------------------------------------------------------------

_COMMON_FIELDS = ("model", "prompt", "quality", "size", "watermark_enabled", "user_id", "request_id")
_FIELDS = {
    GLM_IMAGE: _COMMON_FIELDS,
    COGVIDEOX: (*_COMMON_FIELDS, "image_url", "with_audio", "fps", "duration"),
}
DEFAULT_MODELS = {GLM_IMAGE: GLM_IMAGE_MODELS[0], COGVIDEOX: VIDEO_MODELS[0]}


def validate(app: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The request as sent: every documented field checked against its documented limit.

    Fields left None are not sent (the platform's default applies); ``model`` defaults to the
    current documented model of the app.
    """
    common.check_app(VENDOR, app, APPS)
    given = common.known_params(VENDOR, app, params, _FIELDS[app])
    request: dict[str, Any] = {
        "model": common.validate_choice(
            "model",
            given.get("model", DEFAULT_MODELS[app]),
            GLM_IMAGE_MODELS if app == GLM_IMAGE else VIDEO_MODELS,
            source=SOURCE,
        )
    }
    if app == GLM_IMAGE:
        request["prompt"] = common.validate_text("prompt", given.get("prompt"), source=SOURCE)
        _put(
            request,
            given,
            "quality",
            lambda v: common.validate_choice("quality", v, IMAGE_QUALITIES, source=SOURCE),
        )
        _put(request, given, "size", _image_size)
    else:
        _video_fields(request, given)
    _put(request, given, "watermark_enabled", lambda v: _bool("watermark_enabled", v))
    _put(request, given, "user_id", lambda v: _id_text("user_id", v, USER_ID_CHARS))
    _put(request, given, "request_id", lambda v: _id_text("request_id", v, REQUEST_ID_CHARS))
    return request


def _video_fields(request: dict[str, Any], given: Mapping[str, Any]) -> None:
    if "prompt" not in given and "image_url" not in given:
        raise exceptions.AigcInvalidRequestError(
            "CogVideoX needs a prompt, an image_url, or both (BigModel limit)", vendor=VENDOR
        )
    _put(
        request,
        given,
        "prompt",
        lambda v: common.validate_text("prompt", v, source=SOURCE, max_length=MAX_VIDEO_PROMPT_CHARS),
    )
    _put(
        request,
        given,
        "quality",
        lambda v: common.validate_choice("quality", v, VIDEO_QUALITIES, source=SOURCE),
    )
    _put(request, given, "with_audio", lambda v: _bool("with_audio", v))
    _put(request, given, "image_url", _image_inputs)
    _put(request, given, "size", lambda v: common.validate_choice("size", v, VIDEO_SIZES, source=SOURCE))
    _put(request, given, "fps", lambda v: _int_choice("fps", v, VIDEO_FPS))
    _put(request, given, "duration", lambda v: _int_choice("duration", v, VIDEO_DURATIONS))
    if isinstance(request.get("image_url"), list) and request.get("quality", "speed") != "speed":
        # z.ai: first/last-frame mode works only with quality "speed" (the default).
        raise exceptions.AigcInvalidRequestError(
            "a first and last frame (two image_url items) work only with quality 'speed' (BigModel limit)",
            vendor=VENDOR,
        )


def _put(request: dict[str, Any], given: Mapping[str, Any], name: str, check: Any) -> None:
    if name in given:
        request[name] = check(given[name])


def _bool(name: str, value: object) -> bool:
    return common.validate_bool(name, value, source=SOURCE, vendor=VENDOR)


def _int_choice(name: str, value: object, choices: tuple[int, ...]) -> int:
    number = common.validate_int(name, value, source=SOURCE)
    if number not in choices:
        raise exceptions.AigcInvalidRequestError(
            f"{name} must be one of {', '.join(map(str, choices))} ({SOURCE} limit), got {number}",
            vendor=VENDOR,
        )
    return number


def _id_text(name: str, value: object, bounds: tuple[int, int]) -> str:
    text = common.validate_text(name, value, source=SOURCE, max_length=bounds[1])
    if len(text) < bounds[0]:
        raise exceptions.AigcInvalidRequestError(
            f"{name} must be {bounds[0]}-{bounds[1]} characters ({SOURCE} limit), got {len(text)}",
            vendor=VENDOR,
        )
    return text


def _image_size(value: object) -> str:
    """A recommended size, or a custom ``WxH``: sides 1024-2048, multiples of 32, at most 2^22 pixels."""
    if not isinstance(value, str):
        raise exceptions.AigcInvalidRequestError(
            f"size must be a string such as '1280x1280', got {value!r}", vendor=VENDOR
        )
    if value in IMAGE_SIZES:
        return value
    match = re.fullmatch(r"([0-9]{1,5})x([0-9]{1,5})", value)
    low, high = CUSTOM_SIDE_RANGE
    rule = (
        f"one of {', '.join(IMAGE_SIZES)}, or a custom 'WIDTHxHEIGHT' (an 'x', not '*') with each side"
        f" {low}-{high} px and a multiple of {CUSTOM_SIDE_MULTIPLE}, at most {CUSTOM_MAX_PIXELS} pixels"
    )
    if match is None:
        raise exceptions.AigcInvalidRequestError(
            f"size must be {rule} ({SOURCE} limit), got {value!r}", vendor=VENDOR
        )
    width, height = int(match.group(1)), int(match.group(2))
    sides_ok = all(low <= side <= high and side % CUSTOM_SIDE_MULTIPLE == 0 for side in (width, height))
    if not sides_ok or width * height > CUSTOM_MAX_PIXELS:
        raise exceptions.AigcInvalidRequestError(
            f"size must be {rule} ({SOURCE} limit), got {value!r}", vendor=VENDOR
        )
    return value


def _image_inputs(value: object) -> str | list[str]:
    """One image (a string, sent as the CN spec shows) or two (first and last frame, a list)."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not 1 <= len(items) <= MAX_IMAGE_INPUTS:
        raise exceptions.AigcInvalidRequestError(
            f"image_url must be one image or a list of {MAX_IMAGE_INPUTS} (first and last frame)"
            f" ({SOURCE} limit), got {value!r:.80}",
            vendor=VENDOR,
        )
    checked = [_image_input(f"image_url[{i}]", item) for i, item in enumerate(items)]
    return checked[0] if isinstance(value, str) else checked


def _image_input(name: str, value: object) -> str:
    """An http(s) URL, or a ``data:image/png|jpeg;base64,`` URI of at most 5 MB."""
    if not isinstance(value, str) or not value.strip():
        raise exceptions.AigcInvalidRequestError(
            f"{name} must be an http(s) URL or a data URI", vendor=VENDOR
        )
    match = _DATA_URI.fullmatch(value.strip())
    if match is not None:
        try:
            size = len(base64.b64decode(match.group(2), validate=True))
        except (binascii.Error, ValueError):
            raise exceptions.AigcInvalidRequestError(
                f"{name} is a data URI whose base64 is invalid", vendor=VENDOR
            ) from None
        if size > MAX_IMAGE_INPUT_BYTES:
            raise exceptions.AigcInvalidRequestError(
                f"{name} decodes to {size} bytes; the limit is 5 MB ({MAX_IMAGE_INPUT_BYTES} bytes)",
                vendor=VENDOR,
            )
        return value
    if re.match(r"https?://[^\s/]+", value) and len(value) <= MAX_URL_CHARS and not re.search(r"\s", value):
        return common.require_utf8(name, value, source=SOURCE)
    raise exceptions.AigcInvalidRequestError(
        f"{name} must be an http(s) URL (at most {MAX_URL_CHARS} characters) or a"
        f" data:image/png|jpeg;base64 URI ({SOURCE} limit), got {value[:60]!r}",
        vendor=VENDOR,
    )


def describe_request(app: str, request: Mapping[str, Any]) -> dict[str, Any]:
    """The request as XCom and manifests may show it: a data URI becomes its length."""
    common.check_app(VENDOR, app, APPS)

    def short(value: Any) -> Any:
        if isinstance(value, list):
            return [short(item) for item in value]
        if isinstance(value, str) and value[:5].lower() == "data:":
            return f"<data URI: {len(value)} chars>"
        return value

    return {name: short(value) for name, value in request.items()}


# --- requests and answers ----------------------------------------------------------------------


def build_submit(
    app: str, request: Mapping[str, Any], credentials: BigModelCredentials, now: float
) -> HttpRequest:
    """``POST`` the validated request to the app's submit path."""
    common.check_app(VENDOR, app, APPS)
    return HttpRequest("POST", SUBMIT_PATHS[app], json=dict(request), **_auth(credentials, now))


def build_status(job_id: str, app: str, credentials: BigModelCredentials, now: float) -> HttpRequest:
    """``GET /paas/v4/async-result/{id}``; the id is one path segment, so it may not hold a slash."""
    common.check_app(VENDOR, app, APPS)
    task_id = common.validate_text("job_id", job_id, source=SOURCE)
    if not re.fullmatch(r"[A-Za-z0-9._~-]+", task_id):
        raise exceptions.AigcInvalidRequestError(
            f"job_id {task_id[:80]!r} is not a BigModel task id", vendor=VENDOR
        )
    return HttpRequest("GET", STATUS_PATH + task_id, **_auth(credentials, now))


def _auth(credentials: BigModelCredentials, now: float) -> dict[str, Any]:
    return {"headers": {AUTHORIZATION: authorization(credentials, now)}, "secret_fields": _SECRET_FIELDS}


def parse_submit(response: HttpResponse) -> str:
    """The platform's task ``id`` (what is polled; not the ``request_id``)."""
    payload, root = _answer(response, status_call=False)
    return payload.as_non_blank(root.get("id"), "id")


def parse_status(
    response: HttpResponse,
    *,
    job_id: str,
    app: str,
    now: datetime,
    output_ttl_seconds: float | None = None,
) -> JobStatus:
    """``task_status`` PROCESSING -> RUNNING (no progress is reported), SUCCESS -> the outputs,
    FAIL -> FAILED (the documents give no reason field), counted as one billed unit since the
    documents do not say a failed task is free.

    Images: one ``image`` output per ``image_result`` item, valid 30 days. Videos: result ``n``
    becomes a ``video`` output at index ``2n`` and its ``cover`` at ``2n + 1``; their lifetime is
    not documented, so the connection's ``output_ttl_seconds`` dates them (none when unset).
    """
    common.check_app(VENDOR, app, APPS)
    payload, root = _answer(response, status_call=True)
    state = payload.get_str(root, "task_status")
    if state == _PROCESSING:
        return JobStatus(VENDOR, app, job_id, JobState.RUNNING)
    if state == _FAIL:
        error = JobError(
            type=exceptions.AigcJobFailedError.__name__,
            message=f"bigmodel task {job_id} ended FAIL (the platform gives no reason)",
        )
        failed = JobStatus(VENDOR, app, job_id, JobState.FAILED, error=error)
        return failed.billed(1, BILLED_UNITS[app], BILLING_BASIS[app])
    if state != _SUCCESS:
        raise payload.malformed(f"task_status {state[:40]!r} is not PROCESSING, SUCCESS or FAIL")
    outputs = (
        _images(payload, root, now) if app == GLM_IMAGE else _videos(payload, root, now, output_ttl_seconds)
    )
    if not outputs:
        raise payload.malformed("a SUCCESS task without results")
    units = sum(1 for output in outputs if output.kind in ("image", "video"))
    done = JobStatus(VENDOR, app, job_id, JobState.SUCCEEDED, 1.0, outputs)
    return done.billed(units, BILLED_UNITS[app], BILLING_BASIS[app])


def _images(payload: common.Payload, root: Mapping[str, Any], now: datetime) -> tuple[Output, ...]:
    expires_at = common.to_iso_utc(now + IMAGE_URL_VALIDITY)
    items = payload.opt_list(root, "image_result") or []
    return tuple(
        Output(
            index=i, kind="image", url=_url(payload, item, "url", f"image_result[{i}]"), expires_at=expires_at
        )
        for i, item in enumerate(items)
    )


def _videos(
    payload: common.Payload, root: Mapping[str, Any], now: datetime, ttl_seconds: float | None
) -> tuple[Output, ...]:
    try:
        expires_at = None if ttl_seconds is None else common.to_iso_utc(now + timedelta(seconds=ttl_seconds))
    except (OverflowError, ValueError):
        raise exceptions.AigcInvalidRequestError(
            f"the connection's output_ttl_seconds {ttl_seconds!r} is out of range", vendor=VENDOR
        ) from None
    outputs: list[Output] = []
    for n, item in enumerate(payload.opt_list(root, "video_result") or []):
        what = f"video_result[{n}]"
        outputs.append(
            Output(index=2 * n, kind="video", url=_url(payload, item, "url", what), expires_at=expires_at)
        )
        cover = payload.as_mapping(item, what).get("cover_image_url")
        if cover is not None:
            url = _url(payload, item, "cover_image_url", what)
            outputs.append(Output(index=2 * n + 1, kind="cover", url=url, expires_at=expires_at))
    return tuple(outputs)


def _url(payload: common.Payload, item: object, key: str, what: str) -> str:
    return payload.as_non_blank(payload.as_mapping(item, what).get(key), f"{what}.{key}")


def _answer(response: HttpResponse, *, status_call: bool) -> tuple[common.Payload, Mapping[str, Any]]:
    """The answer's JSON object, or the error it carries."""
    if not common.is_success(response):
        raise _http_failure(response, status_call=status_call)
    payload = common.Payload.from_response(VENDOR, response)
    root = payload.root()
    found = _error_envelope(root)
    if found is not None:
        raise _envelope_error(*found)
    return payload, root


def _error_envelope(body: object) -> tuple[str, str] | None:
    """(code, message) of either documented error shape: nested ``{"error": {...}}`` or flat."""
    if not isinstance(body, Mapping):
        return None
    nested = body.get("error")
    holder = nested if isinstance(nested, Mapping) else body
    code = common.read_code(holder, "code")
    if code is None or (holder is body and ("id" in body or "task_status" in body)):
        return None
    message = holder.get("message")
    return code, message if isinstance(message, str) else "no message"


def _http_failure(response: HttpResponse, *, status_call: bool) -> exceptions.AigcError:
    """A non-2xx answer: the business code decides when there is one, else the HTTP status.

    The documents do not say how an unknown or expired task id is answered; a 404 from the
    async-result path (which exists) is read as "no such task".
    """
    found = _error_envelope(common.try_decode_json(response))
    if found is not None and found[0] in ERROR_CODES:
        return _envelope_error(*found)
    if status_call and response.status == 404:
        message = found[1] if found else "HTTP 404"
        return exceptions.AigcUnknownJobError(
            f"bigmodel does not know this task: {message}", vendor=VENDOR, code=404
        )
    return common.http_error(VENDOR, response)


def _envelope_error(code: str, message: str) -> exceptions.AigcError:
    if code == "1231":
        return exceptions.AigcSubmitUnconfirmedError(
            f"bigmodel error 1231: {message}. An earlier submit with this request_id reached BigModel,"
            " so it was not bought again; the answer names no task id: find the task created with this"
            " request_id in the console (or bill) and wait for it with AigcJobSensor(job_id=<its id>),"
            " or set another request_id to buy a new one",
            vendor=VENDOR,
            code=code,
        )
    return common.envelope_error(VENDOR, ERROR_CODES, code, message)


SPEC: VendorSpec[BigModelCredentials] = VendorSpec(
    name=VENDOR,
    integration="Zhipu BigModel v4",
    apps=APPS,
    default_base_url=DEFAULT_BASE_URL,
    poll_intervals=DEFAULT_POLL_INTERVAL,
    prompt_fields={GLM_IMAGE: "prompt", COGVIDEOX: "prompt"},
    error_codes=ERROR_CODES,
    output_validity="BigModel documents image URLs as valid for 30 days; it gives no lifetime for videos.",
    form=ConnectionForm(
        hook_name="Zhipu BigModel v4 (GLM-Image, CogVideoX)",
        login=("Login", "not used"),
        password=("API key", "<id>.<secret>, from the BigModel or Z.AI console"),
        extras={
            "jwt": {
                "label": "Send a JWT",
                "description": "Sign a short-lived HS256 JWT with the key instead of sending the key"
                " itself (the legacy form; the current documents show only the plain key).",
                "schema": {"type": ["boolean", "null"], "default": False},
            },
        },
    ),
    hook_class="airflow_provider_aigc.hooks.bigmodel.BigModelHook",
    validate=validate,
    describe_request=describe_request,
    build_submit=build_submit,
    build_status=build_status,
    parse_submit=parse_submit,
    parse_status=parse_status,
)
