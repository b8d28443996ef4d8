"""Alibaba Cloud Model Studio (DashScope) Wan text-to-image and text-to-video, sans-IO.

Three create-task protocols share one task API: ``image-synthesis`` (wan2.5 and earlier),
``image-generation`` (wan2.6, chat-style ``messages``) and ``video-synthesis`` (wan2.1-wan2.7),
each sent with ``X-DashScope-Async: enable``; ``GET /tasks/{task_id}`` reports ``PENDING`` ...
``SUCCEEDED``/``FAILED``/``CANCELED``/``UNKNOWN``. Task ids and output URLs live 24 hours.

The vendor silently cuts over-long prompts and defaults to four images; ``validate`` refuses the
first (naming the limit) and sends ``n=1`` unless asked. Choices where the documents are silent
or disagree are in docs/INTERFACES.md ("DashScope").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlsplit

from airflow_provider_aigc import exceptions
from airflow_provider_aigc.models import JobError, JobState, JobStatus, Output
from airflow_provider_aigc.vendors import common
from airflow_provider_aigc.vendors.base import HttpRequest, HttpResponse
from airflow_provider_aigc.vendors.spec import ConnectionForm, VendorSpec

if TYPE_CHECKING:
    from collections.abc import Mapping

VENDOR = "dashscope"
WAN_IMAGE = "wan_image"
WAN_VIDEO = "wan_video"
APPS = frozenset({WAN_IMAGE, WAN_VIDEO})
DEFAULT_BASE_URL = "https://dashscope.aliyuncs.com/api/v1"
# The documents suggest polling images about every 10 s (1-2 min jobs) and videos every 15 s.
DEFAULT_POLL_INTERVAL: dict[str, float] = {WAN_IMAGE: 10.0, WAN_VIDEO: 15.0}

IMAGE_SYNTHESIS_PATH = "/services/aigc/text2image/image-synthesis"
IMAGE_GENERATION_PATH = "/services/aigc/image-generation/generation"
VIDEO_SYNTHESIS_PATH = "/services/aigc/video-generation/video-synthesis"
TASKS_PATH = "/tasks/"
ASYNC_HEADER = "X-DashScope-Async"
WORKSPACE_HEADER = "X-DashScope-WorkSpace"
AUTHORIZATION = "Authorization"

SOURCE = "DashScope Wan"
# Task records and output URLs: "24 小时" on every Wan page.
OUTPUT_TTL_SECONDS = 86400.0
# ``submit_time``/``end_time`` carry no zone; read as UTC+8 they can only make an expiry earlier.
_BEIJING = timezone(timedelta(hours=8))
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
SEED_RANGE = (0, 2147483647)
N_RANGE = (1, 4)
DEFAULT_N = 1  # ours: the vendor's default is 4 (each billed)
NEGATIVE_PROMPT_MAX = 500
_SIZE = re.compile(r"([0-9]{1,5})\*([0-9]{1,5})")
_TASK_ID = re.compile(r"[A-Za-z0-9_.-]{1,128}")


@dataclass(frozen=True)
class ImageModel:
    """A text-to-image model: its protocol, prompt limit and size rule.

    ``pixel_rule`` True: total pixels within [1280², 1440²] and aspect 1:4-4:1 (wan2.5, wan2.6);
    False: each side 512-1440 (wan2.2 and older).
    """

    path: str
    prompt_max: int
    pixel_rule: bool
    default_size: str


@dataclass(frozen=True)
class VideoModel:
    """A text-to-video model: prompt limit, durations, audio, shot type, and its size parameters.

    ``sizes`` empty means the wan2.7 parameter set (``resolution`` + ``ratio``) instead of ``size``.
    """

    prompt_max: int
    durations: tuple[int, ...]
    default_duration: int
    audio: bool
    shot_type: bool = False
    sizes: tuple[str, ...] = ()
    default_size: str | None = None
    resolutions: tuple[str, ...] = ()


_LEGACY = IMAGE_SYNTHESIS_PATH
# wan2.2/wan2.1 prompt: 500 in one page version, 800 in another; the lower one is enforced, since
# a prompt cut silently by the vendor is paid for.
IMAGE_MODELS: dict[str, ImageModel] = {
    "wan2.6-t2i": ImageModel(IMAGE_GENERATION_PATH, 2100, pixel_rule=True, default_size="1280*1280"),
    "wan2.5-t2i-preview": ImageModel(_LEGACY, 2000, pixel_rule=True, default_size="1280*1280"),
    "wan2.2-t2i-flash": ImageModel(_LEGACY, 500, pixel_rule=False, default_size="1024*1024"),
    "wan2.2-t2i-plus": ImageModel(_LEGACY, 500, pixel_rule=False, default_size="1024*1024"),
    "wanx2.1-t2i-turbo": ImageModel(_LEGACY, 500, pixel_rule=False, default_size="1024*1024"),
    "wanx2.1-t2i-plus": ImageModel(_LEGACY, 500, pixel_rule=False, default_size="1024*1024"),
    "wan2.1-t2i-turbo": ImageModel(_LEGACY, 500, pixel_rule=False, default_size="1024*1024"),
    "wan2.1-t2i-plus": ImageModel(_LEGACY, 500, pixel_rule=False, default_size="1024*1024"),
    "wanx2.0-t2i-turbo": ImageModel(_LEGACY, 800, pixel_rule=False, default_size="1024*1024"),
}
DEFAULT_IMAGE_MODEL = "wan2.6-t2i"

SIZE_TIERS: dict[str, tuple[str, ...]] = {
    "480P": ("832*480", "480*832", "624*624"),
    "720P": ("1280*720", "720*1280", "960*960", "1088*832", "832*1088"),
    "1080P": ("1920*1080", "1080*1920", "1440*1440", "1632*1248", "1248*1632"),
}


def _tiers(*names: str) -> tuple[str, ...]:
    return tuple(size for name in names for size in SIZE_TIERS[name])


_WAN26 = VideoModel(
    1500, (5, 10, 15), 5, audio=True, shot_type=True, sizes=_tiers("720P", "1080P"), default_size="1920*1080"
)
_WAN21_TURBO = VideoModel(800, (5,), 5, audio=False, sizes=_tiers("480P", "720P"), default_size="1280*720")
_WAN21_PLUS = VideoModel(800, (5,), 5, audio=False, sizes=_tiers("720P"), default_size="1280*720")
VIDEO_MODELS: dict[str, VideoModel] = {
    # wan2.7: resolution + ratio, 2-15 s; its prompt limit is unverified (5000 third-party), so
    # the 1500 of wan2.6 is enforced.
    "wan2.7-t2v": VideoModel(1500, tuple(range(2, 16)), 5, audio=True, resolutions=("720P", "1080P")),
    "wan2.6-t2v": _WAN26,
    "wan2.6-t2v-us": _WAN26,
    "wan2.5-t2v-preview": VideoModel(
        1500, (5, 10), 5, audio=True, sizes=_tiers("480P", "720P", "1080P"), default_size="1920*1080"
    ),
    "wan2.2-t2v-plus": VideoModel(
        800, (5,), 5, audio=False, sizes=_tiers("480P", "1080P"), default_size="1920*1080"
    ),
    "wanx2.1-t2v-turbo": _WAN21_TURBO,
    "wan2.1-t2v-turbo": _WAN21_TURBO,
    "wanx2.1-t2v-plus": _WAN21_PLUS,
    "wan2.1-t2v-plus": _WAN21_PLUS,
}
DEFAULT_VIDEO_MODEL = "wan2.6-t2v"
RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4")
DEFAULT_RESOLUTION, DEFAULT_RATIO = "1080P", "16:9"
SHOT_TYPES = ("single", "multi")

IMAGE_PARAMETERS = ("model", "prompt", "negative_prompt", "size", "n", "seed", "prompt_extend", "watermark")
VIDEO_PARAMETERS = (
    "model",
    "prompt",
    "negative_prompt",
    "size",
    "resolution",
    "ratio",
    "duration",
    "audio_url",
    "prompt_extend",
    "shot_type",
    "seed",
    "watermark",
)
# Fields that go under ``input`` (the rest of the request, but ``model``, under ``parameters``).
_INPUT_FIELDS = frozenset({"prompt", "negative_prompt", "audio_url"})

_STATES: dict[str, JobState] = {
    "PENDING": JobState.QUEUED,
    "RUNNING": JobState.RUNNING,
    "SUCCEEDED": JobState.SUCCEEDED,
    "FAILED": JobState.FAILED,
    "CANCELED": JobState.FAILED,
}

# Billing (docs/billing.md).
IMAGE_BILLED_UNIT = "image"
IMAGE_BILLING_BASIS = (
    'dashscope Wan text-to-image: usage.image_count, "only successful images are counted and'
    ' billed"; cost = unit price x image_count'
)
VIDEO_BILLED_UNIT = "second"
VIDEO_BILLING_BASIS = (
    "dashscope Wan text-to-video: per-second unit price of the resolution tier x seconds;"
    " usage.output_video_duration (wan2.6) or usage.video_duration (wan2.5 and older)"
)

# The error-code table (docs: error-code page); Throttling* and BadRequest.* are read by rule too.
ERROR_CODES: dict[str, type[exceptions.AigcError]] = {
    "InvalidApiKey": exceptions.AigcAuthError,
    "AccessDenied": exceptions.AigcAuthError,
    "AccessDenied.Unpurchased": exceptions.AigcAuthError,
    "Workspace.AccessDenied": exceptions.AigcAuthError,
    "Model.AccessDenied": exceptions.AigcAuthError,
    "Throttling": exceptions.AigcRateLimitError,
    "Throttling.RateQuota": exceptions.AigcRateLimitError,
    "Throttling.AllocationQuota": exceptions.AigcRateLimitError,
    "LimitRequests": exceptions.AigcRateLimitError,
    "Arrearage": exceptions.AigcQuotaExceededError,
    "PrepaidBillOverdue": exceptions.AigcQuotaExceededError,
    "PostpaidBillOverdue": exceptions.AigcQuotaExceededError,
    "CommodityNotPurchased": exceptions.AigcQuotaExceededError,
    "AllocationQuota.FreeTierOnly": exceptions.AigcQuotaExceededError,
    "InvalidParameter": exceptions.AigcInvalidRequestError,
    "InvalidURL": exceptions.AigcInvalidRequestError,
    "UnsupportedOperation": exceptions.AigcInvalidRequestError,
    "ModelNotFound": exceptions.AigcInvalidRequestError,
    "WorkSpaceNotFound": exceptions.AigcInvalidRequestError,
    "DataInspectionFailed": exceptions.AigcContentRejectedError,
    "RequestTimeOut": exceptions.AigcServerError,
    "InternalError": exceptions.AigcServerError,
    "InternalError.Algo": exceptions.AigcServerError,
    "InternalError.Timeout": exceptions.AigcServerError,
    "SystemError": exceptions.AigcServerError,
    "ModelServiceFailed": exceptions.AigcServerError,
    "ModelUnavailable": exceptions.AigcServerError,
}
# Codes whose meaning depends on the message: a concurrency refusal, or free quota used up.
_CONCURRENCY_CODES = frozenset({"Throttling", "Throttling.AllocationQuota"})
_CONCURRENCY_WORDS = ("concurren", "并发")
_FREE_QUOTA_WORDS = ("free allocated quota", "free quota", "免费额度")
# Class names a failed task's own ``output.code`` maps to (everything else: the model failed).
_TASK_FAILURES: dict[str, type[exceptions.AigcError]] = {
    "DataInspectionFailed": exceptions.AigcContentRejectedError,
    "InvalidParameter": exceptions.AigcInvalidRequestError,
}


@dataclass(frozen=True)
class DashScopeCredentials:
    """The Model Studio API key (bound to its region) and, for a RAM user's key, the workspace."""

    api_key: str = field(repr=False)
    workspace: str | None = None


# --- errors -------------------------------------------------------------------------------------


def error_class(code: str, message: str) -> type[exceptions.AigcError] | None:
    """The taxonomy class of a DashScope ``code``, reading the message only where the code is
    ambiguous: ``Throttling``/``Throttling.AllocationQuota`` naming concurrency is a concurrency
    refusal, ``Throttling.AllocationQuota`` naming free quota is a used-up quota. None: undocumented."""
    text = message.lower()
    if code in _CONCURRENCY_CODES and any(word in text for word in _CONCURRENCY_WORDS):
        return exceptions.AigcConcurrencyLimitError
    if code == "Throttling.AllocationQuota" and any(word in text for word in _FREE_QUOTA_WORDS):
        return exceptions.AigcQuotaExceededError
    if code in ERROR_CODES:
        return ERROR_CODES[code]
    if code.startswith("BadRequest."):
        return exceptions.AigcInvalidRequestError
    if code.startswith("AccessDenied."):
        return exceptions.AigcAuthError
    if code.startswith("Throttling."):
        return exceptions.AigcRateLimitError
    return None


def _envelope_failure(code: str, message: str, request_id: str | None) -> exceptions.AigcError:
    cls = error_class(code, message)
    text = f"{message} (request_id {request_id})" if request_id else message
    return common.envelope_error(VENDOR, {code: cls} if cls else {}, code, text)


def _failure(response: HttpResponse) -> exceptions.AigcError:
    """A refused call: the ``{code, message, request_id}`` envelope, else the HTTP status."""
    body = common.try_decode_json(response)
    code = common.read_code(body, "code")
    if code:
        return _envelope_failure(code, _text(body.get("message")), _opt_text(body.get("request_id")))
    return common.http_error(VENDOR, response)


def _text(value: object) -> str:
    return exceptions.trim(value, 200) if isinstance(value, str) and value else "no message"


def _opt_text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


# --- validation ---------------------------------------------------------------------------------


def validate(app: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The request for ``app``: every documented limit of the chosen model checked, defaults
    made explicit (``n`` 1, the model's size and duration), fields of other models refused."""
    common.check_app(VENDOR, app, APPS)
    if app == WAN_IMAGE:
        return _validate_image(common.known_params(VENDOR, app, params, IMAGE_PARAMETERS))
    return _validate_video(common.known_params(VENDOR, app, params, VIDEO_PARAMETERS))


def _validate_image(given: Mapping[str, Any]) -> dict[str, Any]:
    model_name = common.validate_choice(
        "model", given.get("model", DEFAULT_IMAGE_MODEL), IMAGE_MODELS, source=SOURCE
    )
    model = IMAGE_MODELS[model_name]
    size = _image_size(model_name, model, given.get("size", model.default_size))
    request: dict[str, Any] = {
        "model": model_name,
        "prompt": _prompt(model_name, given.get("prompt"), model.prompt_max),
        **_negative_prompt(given),
        "size": size,
        "n": common.validate_int(
            "n", given.get("n", DEFAULT_N), source=SOURCE, minimum=N_RANGE[0], maximum=N_RANGE[1]
        ),
    }
    return {**request, **_common_switches(given)}


def _validate_video(given: Mapping[str, Any]) -> dict[str, Any]:
    model_name = common.validate_choice(
        "model", given.get("model", DEFAULT_VIDEO_MODEL), VIDEO_MODELS, source=SOURCE
    )
    model = VIDEO_MODELS[model_name]
    request: dict[str, Any] = {
        "model": model_name,
        "prompt": _prompt(model_name, given.get("prompt"), model.prompt_max),
        **_negative_prompt(given),
        **_video_shape(model_name, model, given),
    }
    durations = ", ".join(str(value) for value in model.durations)
    duration = common.validate_int("duration", given.get("duration", model.default_duration), source=SOURCE)
    if duration not in model.durations:
        raise _invalid(f"duration {duration} is not offered by {model_name}; allowed seconds: {durations}")
    request["duration"] = duration
    if "audio_url" in given:
        if not model.audio:
            raise _invalid(f"audio_url is not accepted by {model_name} (silent model)")
        request["audio_url"] = _audio_url(given["audio_url"])
    switches = _common_switches(given)
    if "shot_type" in given:
        if not model.shot_type:
            raise _invalid(f"shot_type is accepted only by wan2.6-t2v models, not {model_name}")
        shot_type = common.validate_choice("shot_type", given["shot_type"], SHOT_TYPES, source=SOURCE)
        if shot_type == "multi" and switches.get("prompt_extend") is False:
            raise _invalid("shot_type 'multi' takes effect only with prompt_extend true")
        request["shot_type"] = shot_type
    return {**request, **switches}


def _video_shape(model_name: str, model: VideoModel, given: Mapping[str, Any]) -> dict[str, Any]:
    """``size`` for wan2.6 and older; ``resolution`` + ``ratio`` for wan2.7 (never mixed)."""
    if not model.sizes:
        if "size" in given:
            raise _invalid(f"{model_name} takes resolution and ratio, not size")
        return {
            "resolution": common.validate_choice(
                "resolution", given.get("resolution", DEFAULT_RESOLUTION), model.resolutions, source=SOURCE
            ),
            "ratio": common.validate_choice(
                "ratio", given.get("ratio", DEFAULT_RATIO), RATIOS, source=SOURCE
            ),
        }
    for name in ("resolution", "ratio"):
        if name in given:
            raise _invalid(f"{model_name} takes size (e.g. 1280*720), not {name} (wan2.7 only)")
    size = given.get("size", model.default_size)
    _parse_size(size)
    if size not in model.sizes:
        raise _invalid(f"size {size} is not offered by {model_name}; allowed: {', '.join(model.sizes)}")
    return {"size": size}


def _prompt(model_name: str, value: object, limit: int) -> str:
    """The prompt within the model's limit: the vendor would cut a longer one and bill it anyway."""
    if isinstance(value, str) and len(value) > limit:
        raise _invalid(
            f"prompt has {len(value)} characters; {model_name} takes at most {limit} and would silently"
            " cut the rest (and bill the truncated job), so nothing was sent"
        )
    return common.validate_text("prompt", value, source=SOURCE, max_length=limit)


def _negative_prompt(given: Mapping[str, Any]) -> dict[str, str]:
    if "negative_prompt" not in given:
        return {}
    value = given["negative_prompt"]
    if isinstance(value, str) and len(value) > NEGATIVE_PROMPT_MAX:
        raise _invalid(
            f"negative_prompt has {len(value)} characters; at most {NEGATIVE_PROMPT_MAX} are taken"
            " (the vendor cuts the rest)"
        )
    text = common.validate_text("negative_prompt", value, source=SOURCE, max_length=NEGATIVE_PROMPT_MAX)
    return {"negative_prompt": text}


def _common_switches(given: Mapping[str, Any]) -> dict[str, Any]:
    """``seed``, ``prompt_extend`` and ``watermark``, when given."""
    out: dict[str, Any] = {}
    if "seed" in given:
        out["seed"] = common.validate_int(
            "seed", given["seed"], source=SOURCE, minimum=SEED_RANGE[0], maximum=SEED_RANGE[1]
        )
    for name in ("prompt_extend", "watermark"):
        if name in given:
            out[name] = common.validate_bool(name, given[name], source=SOURCE, vendor=VENDOR)
    return out


def _parse_size(value: object) -> tuple[int, int]:
    match = _SIZE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise _invalid(
            "size must be 'width*height' with an asterisk (e.g. 1024*1024),"
            f" got {exceptions.trim(repr(value), 40)}"
        )
    return int(match.group(1)), int(match.group(2))


def _image_size(model_name: str, model: ImageModel, value: object) -> str:
    width, height = _parse_size(value)
    if model.pixel_rule:
        low, high = 1280 * 1280, 1440 * 1440
        if not (low <= width * height <= high and width * 4 >= height and height * 4 >= width):
            raise _invalid(
                f"size {value} does not fit {model_name}: total pixels must be within 1280*1280 and"
                " 1440*1440 and the aspect ratio within 1:4 and 4:1"
            )
    elif not (512 <= width <= 1440 and 512 <= height <= 1440):
        raise _invalid(f"size {value} does not fit {model_name}: each side must be 512-1440 pixels")
    return f"{width}*{height}"


def _audio_url(value: object) -> str:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise _invalid(
            f"audio_url must be an http(s) URL of a wav or mp3 file, got {exceptions.trim(repr(value), 60)}"
        )
    return common.require_utf8("audio_url", value, source=SOURCE)


def _invalid(reason: str) -> exceptions.AigcInvalidRequestError:
    return exceptions.AigcInvalidRequestError(f"{reason} ({SOURCE} limit)", vendor=VENDOR)


def describe_request(app: str, request: Mapping[str, Any]) -> dict[str, Any]:
    """The validated request as XCom may show it (it never holds credentials)."""
    common.check_app(VENDOR, app, APPS)
    return dict(request)


# --- requests -----------------------------------------------------------------------------------


def submit_path(app: str, model: str) -> str:
    """The create-task path of ``model``: wan2.6-t2i has its own protocol."""
    if app == WAN_VIDEO:
        return VIDEO_SYNTHESIS_PATH
    return IMAGE_MODELS[model].path


def request_body(app: str, request: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body of a validated request: ``input`` and ``parameters`` as the protocol wants."""
    model = request["model"]
    inputs = {name: value for name, value in request.items() if name in _INPUT_FIELDS}
    parameters = {
        name: value for name, value in request.items() if name not in _INPUT_FIELDS and name != "model"
    }
    if submit_path(app, model) == IMAGE_GENERATION_PATH:
        # wan2.6-t2i: one user message with one text item; negative_prompt is a parameter there.
        message = {"role": "user", "content": [{"text": inputs.pop("prompt")}]}
        if "negative_prompt" in inputs:
            parameters["negative_prompt"] = inputs.pop("negative_prompt")
        inputs = {"messages": [message]}
    return {"model": model, "input": inputs, "parameters": parameters}


def _headers(credentials: DashScopeCredentials, *, create: bool) -> dict[str, str]:
    headers = {AUTHORIZATION: f"Bearer {credentials.api_key}"}
    if create:
        headers[ASYNC_HEADER] = "enable"
    if credentials.workspace:
        headers[WORKSPACE_HEADER] = credentials.workspace
    return headers


_SECRETS = frozenset({AUTHORIZATION})


def build_submit(
    app: str, request: Mapping[str, Any], credentials: DashScopeCredentials, now: float
) -> HttpRequest:
    """The create-task POST, asynchronous (``X-DashScope-Async: enable``)."""
    common.check_app(VENDOR, app, APPS)
    return HttpRequest(
        "POST",
        submit_path(app, request["model"]),
        json=request_body(app, request),
        headers=_headers(credentials, create=True),
        secret_fields=_SECRETS,
    )


def build_status(job_id: str, app: str, credentials: DashScopeCredentials, now: float) -> HttpRequest:
    """``GET /tasks/{task_id}`` (the id checked, so it cannot leave its path segment)."""
    return HttpRequest(
        "GET",
        TASKS_PATH + _task_id(job_id),
        headers=_headers(credentials, create=False),
        secret_fields=_SECRETS,
    )


def build_cancel(job_id: str, credentials: DashScopeCredentials) -> HttpRequest:
    """``POST /tasks/{task_id}/cancel``: accepted only while the task is ``PENDING`` (free then)."""
    return HttpRequest(
        "POST",
        f"{TASKS_PATH}{_task_id(job_id)}/cancel",
        headers=_headers(credentials, create=False),
        secret_fields=_SECRETS,
    )


def build_list(
    credentials: DashScopeCredentials, *, model: str, start: datetime, end: datetime, page_size: int = 10
) -> HttpRequest:
    """``GET /tasks/`` for ``model``'s tasks created between ``start`` and ``end`` (at most 24 h)."""
    params = {
        "model_name": model,
        "start_time": start.astimezone(_BEIJING).strftime("%Y%m%d%H%M%S"),
        "end_time": end.astimezone(_BEIJING).strftime("%Y%m%d%H%M%S"),
        "page_no": "1",
        "page_size": str(page_size),
    }
    return HttpRequest(
        "GET", TASKS_PATH, params=params, headers=_headers(credentials, create=False), secret_fields=_SECRETS
    )


def _task_id(job_id: str) -> str:
    task_id = common.validate_text("job_id", job_id, source=SOURCE)
    if not _TASK_ID.fullmatch(task_id):
        raise _invalid(f"job_id {exceptions.trim(repr(task_id), 60)} is not a DashScope task id")
    return quote(task_id, safe="")


# --- responses ----------------------------------------------------------------------------------


def _payload(response: HttpResponse) -> tuple[common.Payload, Mapping[str, Any]]:
    if not common.is_success(response):
        raise _failure(response)
    payload = common.Payload.from_response(VENDOR, response)
    root = payload.root()
    code = payload.opt_str(root, "code")
    if code:
        raise _envelope_failure(code, _text(root.get("message")), _opt_text(root.get("request_id")))
    return payload, root


def parse_submit(response: HttpResponse) -> str:
    """``output.task_id`` of a created task (queryable for 24 hours)."""
    payload, root = _payload(response)
    return payload.as_non_blank(payload.get_mapping(root, "output").get("task_id"), "output.task_id")


def parse_cancel(response: HttpResponse) -> None:
    """A cancel answer: nothing on success; ``UnsupportedOperation`` once the task left PENDING."""
    _payload(response)


@dataclass(frozen=True)
class ListedTask:
    """One task of the batch listing: evidence for an unconfirmed submit, never proof."""

    task_id: str
    status: str
    model: str | None
    created_at: str | None


def parse_list(response: HttpResponse) -> list[ListedTask]:
    """The ``data[]`` of ``GET /tasks/`` (``gmt_create`` in epoch milliseconds)."""
    payload, root = _payload(response)
    tasks = []
    for i, item in enumerate(payload.opt_list(root, "data") or ()):
        entry = payload.as_mapping(item, f"data[{i}]")
        created = payload.opt_number(entry, "gmt_create")
        tasks.append(
            ListedTask(
                task_id=payload.as_non_blank(entry.get("task_id"), f"data[{i}].task_id"),
                status=payload.opt_str(entry, "status") or "UNKNOWN",
                model=payload.opt_str(entry, "model_name"),
                created_at=None
                if created is None
                else common.to_iso_utc(datetime.fromtimestamp(created / 1000, timezone.utc)),
            )
        )
    return tasks


def parse_status(
    response: HttpResponse,
    *,
    job_id: str,
    app: str,
    now: datetime,
    output_ttl_seconds: float | None = None,
) -> JobStatus:
    """The task as ``GET /tasks/{id}`` reports it.

    ``UNKNOWN`` (never existed, or older than 24 h) raises ``AigcUnknownJobError``, so a wait ends
    at once. A ``SUCCEEDED`` image task may mix URLs with ``{code, message}`` items: those become
    outputs with ``failure`` set, listed as skipped by the archive; with no image at all it is FAILED.
    """
    common.check_app(VENDOR, app, APPS)
    payload, root = _payload(response)
    output = payload.get_mapping(root, "output")
    reported = payload.opt_str(output, "task_id")
    if reported is not None and reported != job_id:
        raise payload.malformed(f"task_id {reported} is not the polled task {job_id}")
    status = payload.get_str(output, "task_status")
    if status == "UNKNOWN":
        raise exceptions.AigcUnknownJobError(
            f"dashscope does not know task {job_id} (UNKNOWN: it never existed on this account and"
            " region, or it ended more than 24 hours ago and its record and URLs are gone)",
            vendor=VENDOR,
            code="UNKNOWN",
            refused=True,
        )
    if status not in _STATES:
        raise payload.malformed(f"task_status {status!r} is not one of {', '.join([*_STATES, 'UNKNOWN'])}")
    state = _STATES[status]
    base = JobStatus(VENDOR, app, job_id, state)
    if state is JobState.FAILED:
        return _failed(payload, output, base, status)
    if state is not JobState.SUCCEEDED:
        return base
    expires = _fallback_expiry(payload, output, now, output_ttl_seconds)
    usage = payload.opt_mapping(root, "usage") or {}
    if app == WAN_VIDEO:
        url = payload.as_non_blank(output.get("video_url"), "output.video_url")
        video = Output(index=0, kind="video", url=url, expires_at=_url_expiry(url, expires))
        done = JobStatus(VENDOR, app, job_id, state, 1.0, (video,))
        return done.billed(_video_seconds(payload, usage), VIDEO_BILLED_UNIT, VIDEO_BILLING_BASIS)
    outputs = _image_outputs(payload, output, expires)
    produced = [item for item in outputs if item.failure is None]
    if not produced:
        first = outputs[0].failure if outputs else None
        error = JobError(
            exceptions.AigcJobFailedError.__name__,
            f"dashscope task SUCCEEDED without any image ({first or 'no results'})",
        )
        return JobStatus(VENDOR, app, job_id, JobState.FAILED, outputs=tuple(outputs), error=error).billed(
            0, IMAGE_BILLED_UNIT, IMAGE_BILLING_BASIS
        )
    billed = payload.opt_int(usage, "image_count")
    done = JobStatus(VENDOR, app, job_id, state, 1.0, tuple(outputs))
    return done.billed(len(produced) if billed is None else billed, IMAGE_BILLED_UNIT, IMAGE_BILLING_BASIS)


def _failed(payload: common.Payload, output: Mapping[str, Any], base: JobStatus, status: str) -> JobStatus:
    code = payload.opt_code(output, "code") or status
    message = payload.opt_str(output, "message") or "no message"
    if status == "CANCELED":
        cls: type[exceptions.AigcError] = exceptions.AigcJobFailedError
        message = "the task was cancelled while PENDING (nothing was billed)"
    else:
        cls = _TASK_FAILURES.get(code, exceptions.AigcJobFailedError)
    error = JobError(cls.__name__, f"dashscope task {status}: {code}: {exceptions.trim(message, 200)}", code)
    return JobStatus(base.vendor, base.app, base.job_id, JobState.FAILED, error=error)


def _image_outputs(payload: common.Payload, output: Mapping[str, Any], expires: datetime) -> list[Output]:
    """``results[]`` (image-synthesis) or ``choices[].message.content[]`` (image-generation)."""
    outputs: list[Output] = []
    results = payload.opt_list(output, "results")
    if results is not None:
        for i, item in enumerate(results):
            entry = payload.as_mapping(item, f"results[{i}]")
            url = payload.opt_str(entry, "url")
            if url:
                outputs.append(Output(index=i, kind="image", url=url, expires_at=_url_expiry(url, expires)))
                continue
            code = payload.opt_code(entry, "code")
            if code is None:
                raise payload.malformed(f"results[{i}] has neither url nor code")
            message = exceptions.trim(payload.opt_str(entry, "message") or "no message", 200)
            outputs.append(Output(index=i, kind="image", failure=f"{code}: {message}"))
        return outputs
    for i, item in enumerate(payload.opt_list(output, "choices") or ()):
        choice = payload.as_mapping(item, f"choices[{i}]")
        reply = payload.get_mapping(choice, "message")
        for j, part in enumerate(payload.opt_list(reply, "content") or ()):
            image = payload.opt_str(payload.as_mapping(part, f"choices[{i}].content[{j}]"), "image")
            if image:
                index = len(outputs)
                outputs.append(
                    Output(index=index, kind="image", url=image, expires_at=_url_expiry(image, expires))
                )
    return outputs


def _video_seconds(payload: common.Payload, usage: Mapping[str, Any]) -> int:
    for name in ("output_video_duration", "video_duration"):
        seconds = payload.opt_int(usage, name)
        if seconds is not None:
            return seconds
    duration = payload.opt_number(usage, "duration")
    if duration is None:
        raise payload.malformed("usage has no video duration")
    return round(duration)


def _fallback_expiry(
    payload: common.Payload, output: Mapping[str, Any], now: datetime, output_ttl_seconds: float | None
) -> datetime:
    """When a URL without ``Expires`` stops working: the connection's TTL from now if set, else
    24 h after ``end_time`` read as UTC+8 (never later than 24 h from now)."""
    if output_ttl_seconds is not None:
        return now + timedelta(seconds=output_ttl_seconds)
    latest = now + timedelta(seconds=OUTPUT_TTL_SECONDS)
    end = payload.opt_str(output, "end_time")
    if end is None:
        return latest
    try:
        ended = datetime.strptime(end.strip(), _TIME_FORMAT).replace(tzinfo=_BEIJING)
    except ValueError:
        raise payload.malformed("end_time should be 'YYYY-MM-DD HH:MM:SS.mmm'") from None
    return min(latest, ended + timedelta(seconds=OUTPUT_TTL_SECONDS))


def _url_expiry(url: str, fallback: datetime) -> str:
    """The OSS signature's ``Expires`` (epoch seconds), else ``fallback``."""
    try:
        values = parse_qs(urlsplit(url).query).get("Expires", [])
    except ValueError:
        values = []
    if len(values) == 1 and values[0].isdigit():
        try:
            return common.to_iso_utc(datetime.fromtimestamp(int(values[0]), timezone.utc))
        except (OverflowError, OSError, ValueError):
            pass
    return common.to_iso_utc(fallback)


SPEC: VendorSpec[DashScopeCredentials] = VendorSpec(
    name=VENDOR,
    integration="Alibaba Cloud Model Studio (DashScope) Wan",
    apps=APPS,
    default_base_url=DEFAULT_BASE_URL,
    poll_intervals=DEFAULT_POLL_INTERVAL,
    prompt_fields={WAN_IMAGE: "prompt", WAN_VIDEO: "prompt"},
    error_codes=ERROR_CODES,
    # Tasks in progress at once per model: 2 for wan2.2/2.1 models, 5 for wan2.5-2.7 (2026
    # rate-limit page). The lower one is safe for every model; raise it with the extra.
    max_running_jobs=2,
    output_validity="DashScope documents its task ids and output URLs as valid for 24 hours.",
    form=ConnectionForm(
        hook_name="Alibaba Cloud Model Studio (DashScope)",
        login=("Login", "not used"),
        password=("API Key", "sk-... (a key works only on its own region's host)"),
        extras={
            "workspace": {
                "label": "Workspace ID",
                "description": "llm-... : required for a RAM user's API key (sent as X-DashScope-WorkSpace)."
                " The host is the region's base URL (Beijing https://dashscope.aliyuncs.com/api/v1,"
                " Singapore https://dashscope-intl.aliyuncs.com/api/v1, US"
                " https://dashscope-us.aliyuncs.com/api/v1, or a workspace host); keys are bound to"
                " their region.",
                "schema": {"type": ["string", "null"]},
            }
        },
    ),
    hook_class="airflow_provider_aigc.hooks.dashscope.DashScopeHook",
    validate=validate,
    describe_request=describe_request,
    build_submit=build_submit,
    build_status=build_status,
    parse_submit=parse_submit,
    parse_status=parse_status,
)
