"""Jumdata (聚美智数) AI drawing protocol, sans-IO.

Every call is a form POST signed with ``sha256(appId + appSecret + timestamp)``; answers are
HTTP 200 envelopes ``{"code", "msg", "taskNo", "charge", "data"}`` whose ``code`` says what happened.
"""

from __future__ import annotations

import calendar
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow_provider_aigc import exceptions
from airflow_provider_aigc.models import JobState, JobStatus, Output
from airflow_provider_aigc.vendors import common
from airflow_provider_aigc.vendors.base import HttpRequest
from airflow_provider_aigc.vendors.spec import ConnectionForm, VendorSpec

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow_provider_aigc.vendors.base import HttpResponse

VENDOR = "jumdata"
AI_DRAW = "ai_draw"
APPS = frozenset({AI_DRAW})
DEFAULT_BASE_URL = "https://api-hw.jumdata.com"
# The document gives no latency; image models of this kind take tens of seconds.
DEFAULT_POLL_INTERVAL: dict[str, float] = {AI_DRAW: 5.0}

MAX_TEXT_LENGTH = 100
RESOLUTIONS = ("1024*1024", "1024*1536", "1536*1024")
STYLES = (
    "探索无限",
    "古风",
    "二次元",
    "写实风格",
    "浮世绘",
    "low poly",
    "未来主义",
    "像素风格",
    "概念艺术",
    "赛博朋克",
    "洛丽塔风格",
    "巴洛克风格",
    "超现实主义",
    "水彩画",
    "蒸汽波艺术",
    "油画",
    "卡通画",
)
MIN_IMAGES, MAX_IMAGES, DEFAULT_IMAGES = 1, 6, 1
# Image URLs are valid for three calendar months from the task's creation (document).
OUTPUT_VALIDITY_MONTHS = 3
# Billing (docs/billing.md): the document bills each generated image; its answers' ``charge`` flag
# is true on an accepted submit and false on queries ("查询结果接口不计费").
BILLED_UNIT = "image"
BILLING_BASIS = (
    'jumdata: "根据生成图片张数计费,若一次请求生成多张图片,则每张图片计费1次" (billed by the number of'
    " images generated, each image once); one unit per image in data.imgUrls"
)

_SOURCE = "Jumdata"
_OK = "200"
_SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")  # no DST since 1991
_CREATE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_SECRET_FIELDS = frozenset({"sign"})
# Of the server-error codes only 500 "系统维护,请稍候再试" (under maintenance, try later) says the
# request was turned away; 610 "请求超时" (timed out inside the vendor) and 999 "其他" (other) may
# follow an accepted job, so a submit answered with them is unconfirmed.
_REFUSING_SERVER_CODES = frozenset({"500"})
# The document's code table ("200" is success).
ERROR_CODES: dict[str, type[exceptions.AigcError]] = {
    "201": exceptions.AigcUnknownJobError,
    "202": exceptions.AigcContentRejectedError,
    "400": exceptions.AigcInvalidRequestError,
    "404": exceptions.AigcInvalidRequestError,
    "500": exceptions.AigcServerError,
    "610": exceptions.AigcServerError,
    "999": exceptions.AigcServerError,
    "601": exceptions.AigcAuthError,
    "602": exceptions.AigcAuthError,
    "604": exceptions.AigcAuthError,
    "607": exceptions.AigcAuthError,
    "606": exceptions.AigcRateLimitError,
    "609": exceptions.AigcRateLimitError,
}


@dataclass(frozen=True)
class JumdataCredentials:
    """appId and appSecret; every call signs them with a fresh millisecond timestamp."""

    app_id: str
    app_secret: str = field(repr=False)


def sign(app_id: str, app_secret: str, timestamp_ms: int) -> str:
    """The request signature: lower-case hex ``sha256(appId + appSecret + timestamp)``."""
    return hashlib.sha256(f"{app_id}{app_secret}{timestamp_ms}".encode()).hexdigest()


def validate(app: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """``text`` (1-100 chars), ``resolution``, ``style``, ``num`` (1-6, default 1), as documented."""
    common.check_app(VENDOR, app, APPS)
    values = common.known_params(VENDOR, app, params, ("text", "resolution", "style", "num"))
    return {
        "text": common.validate_text("text", values.get("text"), source=_SOURCE, max_length=MAX_TEXT_LENGTH),
        "resolution": common.validate_choice(
            "resolution", values.get("resolution"), RESOLUTIONS, source=_SOURCE
        ),
        "style": common.validate_choice("style", values.get("style"), STYLES, source=_SOURCE),
        "num": common.validate_int(
            "num", values.get("num", DEFAULT_IMAGES), source=_SOURCE, minimum=MIN_IMAGES, maximum=MAX_IMAGES
        ),
    }


def describe_request(app: str, request: Mapping[str, Any]) -> dict[str, Any]:
    """The validated request as XCom may show it (it never holds credentials)."""
    common.check_app(VENDOR, app, APPS)
    return dict(request)


def build_submit(
    app: str, request: Mapping[str, Any], credentials: JumdataCredentials, now: float
) -> HttpRequest:
    """``POST /ai/draw/submit``: the signed form with the parameters ``validate`` returned."""
    common.check_app(VENDOR, app, APPS)
    form = {**_auth_form(credentials, now), **{name: str(value) for name, value in request.items()}}
    return HttpRequest("POST", "/ai/draw/submit", form=form, secret_fields=_SECRET_FIELDS)


def build_status(job_id: str, app: str, credentials: JumdataCredentials, now: float) -> HttpRequest:
    """``POST /ai/draw/query``: the signed form with the ``taskId``."""
    task_id = common.validate_text("job_id", job_id, source=_SOURCE)
    form = {**_auth_form(credentials, now), "taskId": task_id}
    return HttpRequest("POST", "/ai/draw/query", form=form, secret_fields=_SECRET_FIELDS)


def parse_submit(response: HttpResponse) -> str:
    """The ``data.taskId`` of an accepted job (valid for one month at the vendor).

    An error answer is a refusal the hook may resend only as ``_envelope_error`` decides: never
    when it says ``charge: true`` (billed), whatever its code.
    """
    payload, data = _data(response)
    return payload.as_non_blank(data.get("taskId"), "data.taskId")


def parse_status(
    response: HttpResponse,
    *,
    job_id: str,
    app: str,
    now: datetime,
    output_ttl_seconds: float | None = None,
) -> JobStatus:
    """Map a ``/ai/draw/query`` answer onto ``JobStatus``.

    ``data.status`` 0 (queued or drawing) -> RUNNING, 1 -> SUCCEEDED with ``imgUrls[].image``
    (``img`` when the list is empty). The document fixes the URL lifetime (``createTime`` + 3
    months), so ``now`` and ``output_ttl_seconds`` are not needed here.
    """
    common.check_app(VENDOR, app, APPS)
    payload, data = _data(response)
    status = payload.get_code(data, "status")
    if status == "0":
        return JobStatus(VENDOR, app, job_id, JobState.RUNNING)
    if status != "1":
        raise payload.malformed(f"data.status should be 0 or 1, got {status!r}")
    expires_at = _expires_at(payload, data)
    urls = [
        payload.as_non_blank(payload.as_mapping(item, f"imgUrls[{i}]").get("image"), f"imgUrls[{i}].image")
        for i, item in enumerate(payload.opt_list(data, "imgUrls") or [])
    ]
    if not urls:
        urls = [payload.as_non_blank(data.get("img"), "data.img (a finished task without imgUrls)")]
    outputs = tuple(
        Output(index=i, kind="image", url=url, expires_at=expires_at) for i, url in enumerate(urls)
    )
    done = JobStatus(VENDOR, app, job_id, JobState.SUCCEEDED, 1.0, outputs)
    return done.billed(len(outputs), BILLED_UNIT, BILLING_BASIS)


def add_months(moment: datetime, months: int) -> datetime:
    """The same wall-clock time ``months`` later, the day clamped to the month's end (Nov 30 -> Feb 28/29)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _auth_form(credentials: JumdataCredentials, now: float) -> dict[str, str]:
    """The signed part of every form; ``now`` (epoch seconds) gives the millisecond timestamp."""
    app_id, timestamp_ms = credentials.app_id, int(now * 1000)
    return {
        "appId": app_id,
        "timestamp": str(timestamp_ms),
        "sign": sign(app_id, credentials.app_secret, timestamp_ms),
    }


def _data(response: HttpResponse) -> tuple[common.Payload, Mapping[str, Any]]:
    """Check the HTTP status and the envelope's ``code``; return the ``data`` object."""
    if not common.is_success(response):
        raise _http_failure(response)
    payload = common.Payload.from_response(VENDOR, response)
    root = payload.root()
    code = payload.get_code(root, "code")
    if code != _OK:
        raise _envelope_error(root, code)
    return payload, payload.get_mapping(root, "data")


def _http_failure(response: HttpResponse) -> exceptions.AigcError:
    """A non-2xx answer (undocumented): a Jumdata envelope names the error, else the HTTP status does."""
    body = common.try_decode_json(response)
    code = common.read_code(body, "code")
    if code is not None and code in ERROR_CODES:
        return _envelope_error(body, code)
    return common.http_error(VENDOR, response)


def _envelope_error(root: Mapping[str, Any], code: str) -> exceptions.AigcError:
    """The error for an envelope's ``code``; ``charge: true`` means billed, so never a refusal."""
    error = common.envelope_error(
        VENDOR, ERROR_CODES, code, _message(root), refusing_server_codes=_REFUSING_SERVER_CODES
    )
    if root.get("charge") is True:
        error.refused = False
    return error


def _message(root: Mapping[str, Any]) -> str:
    """``msg`` plus the request number (``taskNo``) and billing flag support will ask about."""
    msg, task_no, charge = root.get("msg"), root.get("taskNo"), root.get("charge")
    text = msg if isinstance(msg, str) else "no message"
    if isinstance(task_no, str) and task_no:
        text += f" (taskNo {task_no})"
    if charge is True:
        text += " (billed)"
    return text


def _expires_at(payload: common.Payload, data: Mapping[str, Any]) -> str | None:
    created_text = payload.opt_str(data, "createTime")
    if created_text is None:
        return None
    try:
        created = datetime.strptime(created_text.strip(), _CREATE_TIME_FORMAT).replace(tzinfo=_SHANGHAI)
        return common.to_iso_utc(add_months(created, OUTPUT_VALIDITY_MONTHS))
    except (ValueError, OverflowError):
        raise payload.malformed("createTime should be 'YYYY-MM-DD HH:MM:SS'") from None


SPEC: VendorSpec[JumdataCredentials] = VendorSpec(
    name=VENDOR,
    integration="Jumdata AI drawing",
    apps=APPS,
    default_base_url=DEFAULT_BASE_URL,
    poll_intervals=DEFAULT_POLL_INTERVAL,
    prompt_fields={AI_DRAW: "text"},
    error_codes=ERROR_CODES,
    output_validity="Jumdata documents its image URLs as valid for 3 months.",
    form=ConnectionForm(
        hook_name="Jumdata AI drawing",
        login=("appId", "appId assigned by Jumdata"),
        password=("appSecret", "appSecret assigned by Jumdata"),
    ),
    hook_class="airflow_provider_aigc.hooks.jumdata.JumdataHook",
    validate=validate,
    describe_request=describe_request,
    build_submit=build_submit,
    build_status=build_status,
    parse_submit=parse_submit,
    parse_status=parse_status,
)
