"""Jumdata (聚美智数) AI drawing: signed form posts to ``/ai/draw/submit`` and ``/ai/draw/query``."""

from __future__ import annotations

import calendar
import hmac
import math
from datetime import datetime, timedelta, timezone
from typing import Any

from aiohttp import web

from airflow_provider_aigc.simulator.bodies import read_form
from airflow_provider_aigc.simulator.downloads import check_expiring, expiring_url, serve_image
from airflow_provider_aigc.simulator.faults import before, injected_code, json_response
from airflow_provider_aigc.simulator.jobs import Job, Phase
from airflow_provider_aigc.simulator.profile import API_FAULTS, SimVendor
from airflow_provider_aigc.simulator.signing import jumdata_sign
from airflow_provider_aigc.simulator.state import STATE, SimState

VENDOR = "jumdata"
APP = "ai_draw"
CREDENTIALS = {"app_id": "demo-jumdata-app-id", "app_secret": "demo-jumdata-app-secret"}
SHANGHAI = timezone(timedelta(hours=8))  # China keeps no daylight saving time
MESSAGES = {
    200: "成功",
    201: "taskId不存在",
    202: "文本黄反拦截",
    400: "参数错误",
    500: "系统维护，请稍候再试",
    601: "接口未开通",
    606: "调用超限，请稍候再试",
    609: "请求过于频繁，请稍候再试",
    610: "请求超时",
    999: "其他",
}
STYLES = frozenset(
    {
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
    }
)
RESOLUTIONS = {"1024*1024": (1024, 1024), "1024*1536": (1024, 1536), "1536*1024": (1536, 1024)}
MAX_TEXT = 100
MAX_IMAGES = 6
IMAGE_PATH = "/jumdata-ai/draw/{task}/{index}.png"
URL_MONTHS = 3
TASK_ID_MONTHS = 1  # "taskId (有效期一个月)": queries after that answer 201


class Refused(ValueError):
    """A request Jumdata answers with an error code and message."""

    def __init__(self, code: int, message: str | None = None) -> None:
        super().__init__(message or MESSAGES[code])
        self.code = code


def _answer(state: SimState, kind: str, code: int, message: str, **extra: Any) -> web.Response:
    body = {"code": code, "msg": message, "taskNo": f"{state.serial():024d}", "charge": False, **extra}
    return json_response(state, VENDOR, kind, body)


def _reject(state: SimState, kind: str, error: Refused) -> web.Response:
    state.stats.vendors[VENDOR].rejections[str(error.code)] += 1
    return _answer(state, kind, error.code, str(error))


def _required(form: dict[str, str], name: str) -> str:
    value = form.get(name, "")
    if not value:
        raise Refused(400, f"{name}不能为空")
    return value


def check_auth(state: SimState, form: dict[str, str]) -> None:
    """appId, timestamp window and sha256 sign, in that order; raises ``Refused``."""
    app_id = _required(form, "appId")
    if app_id != CREDENTIALS["app_id"]:
        raise Refused(601)
    timestamp = _required(form, "timestamp")
    if not timestamp.isdigit():
        raise Refused(400, "timestamp格式不正确")
    if abs(int(timestamp) / 1000 - state.now()) > state.config.jumdata_timestamp_window:
        raise Refused(400, "timestamp已过期")
    expected = jumdata_sign(app_id, CREDENTIALS["app_secret"], timestamp)
    if not hmac.compare_digest(_required(form, "sign"), expected):
        raise Refused(400, "签名错误")


def validate(form: dict[str, str]) -> tuple[str, list[tuple[int, int]]]:
    """The text and one (width, height) per image, or ``Refused`` with the document's wording."""
    text = _required(form, "text")
    if len(text) > MAX_TEXT:
        raise Refused(400, f"text长度不能超过{MAX_TEXT}个字")
    resolution = RESOLUTIONS.get(_required(form, "resolution"))
    if resolution is None:
        raise Refused(400, "分辨率不正确")
    if _required(form, "style") not in STYLES:
        raise Refused(400, "风格值不正确")
    num = form.get("num") or "1"
    if not num.isdigit() or not 1 <= int(num) <= MAX_IMAGES:
        raise Refused(400, f"num取值范围为1-{MAX_IMAGES}")
    return text, [resolution] * int(num)


async def submit(request: web.Request) -> web.Response:
    state = request.app[STATE]
    early = await before(state, VENDOR, "submit")
    if early is not None:
        return early
    form = await read_form(request)
    config = state.config
    now = state.now()
    try:
        check_auth(state, form)
        code = injected_code(state, VENDOR, "submit")
        if code is not None:
            return _answer(state, "submit", code, MESSAGES.get(code, MESSAGES[999]))
        text, images = validate(form)
        if any(word in text for word in config.moderation_words):
            raise Refused(202)
        if state.at_capacity(VENDOR, now) or state.over_submit_rate(VENDOR, now):
            raise Refused(609)
    except Refused as error:
        return _reject(state, "submit", error)
    job = Job(
        vendor=VENDOR,
        app=APP,
        job_id=state.new_job_id(VENDOR, lambda: f"{state.rng.getrandbits(128):032x}"),
        prompt=text,
        submitted_at=now,
        latency=config.latency_for(APP),
        images=tuple(images),
        image_bytes=config.image_bytes,
    )
    job.urls_expire_at = urls_expire_at(math.floor(now), config.url_ttl[VENDOR])
    state.accept(job)
    body = {"code": 200, "msg": MESSAGES[200], "taskNo": f"{state.serial():024d}", "charge": True}
    return json_response(state, VENDOR, "submit", {**body, "data": {"taskId": job.job_id}})


def urls_expire_at(created: int, ttl: float | None) -> float:
    """``ttl`` seconds after createTime, or by default three calendar months (Shanghai dates)."""
    if ttl is not None:
        return math.ceil(created + ttl)
    return months_after(created, URL_MONTHS)


def months_after(created: float, count: int) -> float:
    """The same Shanghai wall-clock time ``count`` calendar months later (day clamped)."""
    local = datetime.fromtimestamp(created, SHANGHAI)
    months = local.month - 1 + count
    year, month = local.year + months // 12, months % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day).timestamp()


async def query(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.stats.vendors[VENDOR].polls += 1
    early = await before(state, VENDOR, "status")
    if early is not None:
        return early
    form = await read_form(request)
    try:
        check_auth(state, form)
        code = injected_code(state, VENDOR, "status")
        if code is not None:
            return _answer(state, "status", code, MESSAGES.get(code, MESSAGES[999]))
        job = state.jobs.get(VENDOR, _required(form, "taskId"))
        if job is None or state.now() >= months_after(math.floor(job.submitted_at), TASK_ID_MONTHS):
            raise Refused(201)
    except Refused as error:
        return _reject(state, "status", error)
    return _answer(state, "status", 200, MESSAGES[200], data=task_data(request, state, job))


def task_data(request: web.Request, state: SimState, job: Job) -> dict[str, Any]:
    created = datetime.fromtimestamp(math.floor(job.submitted_at), SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    if job.phase(state.now()) is not Phase.DONE:
        return {"img": "", "imgUrls": [], "createTime": created, "status": 0}
    urls = [
        expiring_url(request, state, IMAGE_PATH.format(task=job.job_id, index=index), job.urls_expire_at)
        for index in range(len(job.images))
    ]
    return {"img": urls[0], "imgUrls": [{"image": url} for url in urls], "createTime": created, "status": 1}


async def download(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    task, index = request.match_info["task"], request.match_info["index"]
    signed, expires_at = check_expiring(request, state, IMAGE_PATH.format(task=task, index=index))
    return await serve_image(request, state, VENDOR, task, int(index), signed=signed, expires_at=expires_at)


def routes() -> list[web.RouteDef]:
    return [
        web.post("/ai/draw/submit", submit),
        web.post("/ai/draw/query", query),
        web.get(r"/jumdata-ai/draw/{task:[0-9a-f]+}/{index:\d+}.png", download),
    ]


def connection(base_url: str, url_ttl: float | None) -> dict[str, Any]:
    return {
        "conn_type": "aigc_jumdata",
        "host": base_url,
        "login": CREDENTIALS["app_id"],
        "password": CREDENTIALS["app_secret"],
    }


PROFILE = SimVendor(
    name=VENDOR,
    latency={APP: 30.0},
    kinds=("submit", "status", "download"),
    routes=routes,
    credentials=CREDENTIALS,
    connection=connection,
    faults={"submit": API_FAULTS},
    fault_codes={"rate_limit": (609, 606)},
)
