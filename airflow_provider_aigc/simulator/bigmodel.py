"""Zhipu BigModel / Z.AI v4 asynchronous media: GLM-Image and CogVideoX-3 under ``/paas/v4/``.

Written from the vendor's documents (../shared/vendors/zhipu_v4_async.md), not from the client:
``Authorization: Bearer <API key>`` or the legacy HS256 JWT (millisecond ``exp``/``timestamp``);
submits answer ``{model, id, request_id, task_status}``; ``GET /paas/v4/async-result/{id}``
answers PROCESSING, then SUCCESS with ``image_result`` or ``video_result`` (a real MP4 and a PNG
cover behind signed URLs that expire), or FAIL. Errors use both documented envelopes: the
nested ``{"error": {"code": "<digits>", "message"}}`` of the official example for 4xx business
codes, the flat OpenAPI ``{"code": <int>, "message"}`` for server errors.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from typing import Any

from aiohttp import web

from airflow_provider_aigc.simulator.downloads import check_expiring, expiring_url, serve_file, serve_image
from airflow_provider_aigc.simulator.faults import before, fire, injected_code, json_response
from airflow_provider_aigc.simulator.jobs import Job, Outcome, Phase
from airflow_provider_aigc.simulator.mp4 import Mp4Video
from airflow_provider_aigc.simulator.profile import API_FAULTS, SimVendor
from airflow_provider_aigc.simulator.state import STATE, SimState

VENDOR = "bigmodel"
API_KEY = "demo-bigmodel-key-id.demo-bigmodel-key-secret"
KEY_ID, _, KEY_SECRET = API_KEY.partition(".")
MODELS = {"glm_image": "glm-image", "cogvideox": "cogvideox-3"}
IMAGE_SIZES = frozenset(
    {"1280x1280", "1568x1056", "1056x1568", "1472x1088", "1088x1472", "1728x960", "960x1728"}
)
VIDEO_SIZES = frozenset(
    {"1280x720", "720x1280", "1024x1024", "1920x1080", "1080x1920", "2048x1080", "3840x2160"}
)
MAX_VIDEO_PROMPT = 512
MAX_IMAGE_INPUT_BYTES = 5 * 1024 * 1024
FILE_PATH = "/bigmodel-files/{kind}/{task}/{index}.{ext}"
MESSAGES = {
    "1000": "身份验证失败。",
    "1001": "Header中未收到Authentication参数，无法进行身份验证。",
    "1002": "Authorization Token非法，请确认Authorization Token正确传递。",
    "1003": "Authorization Token已过期。",
    "1004": "Authorization Token验证失败。",
    "1113": "您的账户已欠费，请充值后重试。",
    "1211": "模型不存在，请检查模型代码。",
    "1213": "未正常接收到prompt参数。",
    "1214": "参数非法。请检查文档。",
    "1231": "您已有请求：{request_id}",
    "1261": "Prompt 超长",
    "1301": "系统检测到输入或生成内容可能包含不安全或敏感内容，请您避免输入易产生敏感内容的提示语。",
    "1302": "您当前使用该API的并发数过高，请降低并发，或联系客服增加限额。",
    "1303": "您当前使用该API的频率过高，请降低频率，或联系客服增加限额。",
    "1304": "该API已达今日调用次数限额，如有更多需求，请联系客服购买。",
    "1305": "当前API请求过多，请稍后重试。",
    "1308": "已达到使用上限。",
    "1312": "该模型当前访问量过大，请您稍后再试",
    "500": "服务器内部错误。",
}
# The documents pair no business code with an HTTP status; these follow their coarse HTTP table.
AUTH_CODES = frozenset({"1000", "1001", "1002", "1003", "1004"})
SERVER_CODES = frozenset({"500", "1100", "1120", "1230", "1234"})
LIMIT_CODES = frozenset(
    {"1113", "1302", "1303", "1304", "1305", "1308", "1309", "1310", "1311", "1312", "1313"}
)


class Refused(ValueError):
    """A business code and its HTTP status (400 unless the documents' table says otherwise)."""

    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(message or MESSAGES.get(code, "请求失败"))
        self.code = code


def _error(state: SimState, kind: str, code: str, message: str) -> web.Response:
    state.stats.vendors[VENDOR].rejections[code] += 1
    http = 401 if code in AUTH_CODES else 500 if code in SERVER_CODES else 429 if code in LIMIT_CODES else 400
    if http >= 500:  # the OpenAPI schema's flat shape, an integer code
        return json_response(state, VENDOR, kind, {"code": int(code), "message": message}, status=http)
    return json_response(state, VENDOR, kind, {"error": {"code": code, "message": message}}, status=http)


def check_auth(request: web.Request, state: SimState) -> None:
    """The plain key, or a JWT signed with its secret whose millisecond ``exp`` is in the future."""
    header = request.headers.get("Authorization", "")
    if not header:
        raise Refused("1001")
    token = header.removeprefix("Bearer ").strip()
    if hmac.compare_digest(token, API_KEY):
        return
    parts = token.split(".")
    if len(parts) != 3:
        raise Refused("1002")
    try:
        head, claims = (
            json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))) for part in parts[:2]
        )
    except (ValueError, binascii.Error):
        raise Refused("1002") from None
    if not isinstance(head, dict) or head.get("alg") != "HS256" or not isinstance(claims, dict):
        raise Refused("1002")
    if claims.get("api_key") != KEY_ID:
        raise Refused("1000")
    signed = hmac.new(KEY_SECRET.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(base64.urlsafe_b64encode(signed).rstrip(b"=").decode(), parts[2]):
        raise Refused("1004")
    expires = claims.get("exp")
    if not isinstance(expires, int) or expires <= state.now() * 1000:
        raise Refused("1003")


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise Refused("1214", "请求体不是合法的JSON") from None
    if not isinstance(body, dict):
        raise Refused("1214", "请求体不是合法的JSON")
    return body


def _size(value: object, app: str) -> tuple[int, int]:
    """(width, height) of an allowed size; GLM-Image also takes a custom size by its rule."""
    allowed = IMAGE_SIZES if app == "glm_image" else VIDEO_SIZES
    match = re.fullmatch(r"(\d{1,5})x(\d{1,5})", value) if isinstance(value, str) else None
    if match is None:
        raise Refused("1214", f"size参数非法：{value!r}")
    width, height = int(match.group(1)), int(match.group(2))
    custom_ok = (
        app == "glm_image"
        and all(1024 <= side <= 2048 and side % 32 == 0 for side in (width, height))
        and width * height <= 2**22
    )
    if value not in allowed and not custom_ok:
        raise Refused("1214", f"size参数非法：{value!r}")
    return width, height


def _check_image_input(value: object) -> None:
    items = value if isinstance(value, list) else [value]
    if not 1 <= len(items) <= 2:
        raise Refused("1214", "image_url参数非法")
    for item in items:
        if not isinstance(item, str):
            raise Refused("1214", "image_url参数非法")
        if item.startswith("data:"):
            head, _, data = item.partition(",")
            if head not in ("data:image/png;base64", "data:image/jpeg;base64", "data:image/jpg;base64"):
                raise Refused("1214", "image_url仅支持png、jpeg、jpg")
            try:
                size = len(base64.b64decode(data, validate=True))
            except (ValueError, binascii.Error):
                raise Refused("1214", "image_url base64非法") from None
            if size > MAX_IMAGE_INPUT_BYTES:
                raise Refused("1214", "图片大小不能超过5M")
        elif not item.startswith(("http://", "https://")):
            raise Refused("1214", "image_url参数非法")


def validate(app: str, body: dict[str, Any]) -> tuple[str, tuple[int, int]]:
    """The prompt and the output size, or ``Refused`` as the platform answers."""
    model = body.get("model")
    if model != MODELS[app]:
        raise Refused("1211", f"模型不存在：{model!r}")
    prompt = body.get("prompt")
    if prompt is not None and (not isinstance(prompt, str) or not prompt.strip()):
        raise Refused("1214", "prompt参数非法")
    if app == "glm_image":
        if prompt is None:
            raise Refused("1213")
        if body.get("quality", "hd") != "hd":
            raise Refused("1214", "quality参数非法")
        size = _size(body.get("size", "1280x1280"), app)
    else:
        if prompt is None and body.get("image_url") is None:
            raise Refused("1213", "prompt与image_url不能同时为空")
        if prompt is not None and len(prompt) > MAX_VIDEO_PROMPT:
            raise Refused("1261")
        if body.get("quality", "speed") not in ("speed", "quality"):
            raise Refused("1214", "quality参数非法")
        if body.get("fps", 30) not in (30, 60) or body.get("duration", 5) not in (5, 10):
            raise Refused("1214", "fps或duration参数非法")
        if "image_url" in body:
            _check_image_input(body["image_url"])
        size = _size(body.get("size", "1920x1080"), app)
    for name, low, high in (("request_id", 6, 64), ("user_id", 6, 128)):
        value = body.get(name)
        if value is not None and (not isinstance(value, str) or not low <= len(value) <= high):
            raise Refused("1214", f"{name}长度需在{low}-{high}之间")
    for name in ("with_audio", "watermark_enabled"):
        if name in body and not isinstance(body[name], bool):
            raise Refused("1214", f"{name}参数非法")
    return prompt or "", size


def _submitter(app: str) -> Any:
    async def submit(request: web.Request) -> web.Response:
        state = request.app[STATE]
        early = await before(state, VENDOR, "submit")
        if early is not None:
            return early
        now = state.now()
        try:
            check_auth(request, state)
            code = injected_code(state, VENDOR, "submit")
            if code is not None:
                raise Refused(str(code))
            body = await _body(request)
            prompt, size = validate(app, body)
            request_id = body.get("request_id") or f"{state.serial():020d}"
            if request_id in state.request_ids:
                raise Refused("1231", MESSAGES["1231"].format(request_id=request_id))
            if any(word in prompt for word in state.config.moderation_words):
                raise Refused("1301")
            if state.at_capacity(VENDOR, now):
                raise Refused("1302")
        except Refused as error:
            return _error(state, "submit", error.code, str(error))
        failing = fire(state, VENDOR, "submit", "job_failure") is not None
        job = Job(
            vendor=VENDOR,
            app=app,
            job_id=state.new_job_id(VENDOR, lambda: f"{state.rng.getrandbits(64):d}-{state.serial()}"),
            prompt=prompt,
            submitted_at=now,
            latency=state.config.latency_for(app),
            outcome=Outcome.FAILED if failing else Outcome.SUCCESS,
            images=(size,),
            image_bytes=state.config.image_bytes,
            urls_expire_at=now + (state.config.url_ttl[VENDOR] or 30 * 86400.0),
            params={"request_id": request_id, "model": MODELS[app]},
        )
        state.request_ids.add(request_id)
        state.accept(job)
        lost = fire(state, VENDOR, "submit", "accepted_5xx")
        if lost is not None:  # a gateway between the client and the platform fails after the job was taken
            return web.Response(status=lost.status, text="<html><body>504 Gateway Time-out</body></html>")
        answer = {
            "model": MODELS[app],
            "id": job.job_id,
            "request_id": request_id,
            "task_status": "PROCESSING",
        }
        return json_response(state, VENDOR, "submit", answer)

    return submit


async def async_result(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.stats.vendors[VENDOR].polls += 1
    early = await before(state, VENDOR, "status")
    if early is not None:
        return early
    try:
        check_auth(request, state)
        code = injected_code(state, VENDOR, "status")
        if code is not None:
            raise Refused(str(code))
    except Refused as error:
        return _error(state, "status", error.code, str(error))
    job = state.jobs.get(VENDOR, request.match_info["id"])
    if job is None:  # not documented; the project's choice (docs/INTERFACES.md)
        state.stats.vendors[VENDOR].rejections["404"] += 1
        body = {"error": {"code": "404", "message": "任务不存在"}}
        return json_response(state, VENDOR, "status", body, status=404)
    answer: dict[str, Any] = {
        "model": job.params["model"],
        "request_id": job.params["request_id"],
        "id": job.job_id,
    }
    if job.phase(state.now()) is not Phase.DONE:
        return json_response(state, VENDOR, "status", {**answer, "task_status": "PROCESSING"})
    if job.outcome is Outcome.FAILED:
        return json_response(state, VENDOR, "status", {**answer, "task_status": "FAIL"})
    answer["task_status"] = "SUCCESS"
    if job.app == "glm_image":
        answer["image_result"] = [{"url": _url(request, state, job, "image", 0, "png")}]
    else:
        answer["video_result"] = [
            {
                "url": _url(request, state, job, "video", 0, "mp4"),
                "cover_image_url": _url(request, state, job, "cover", 0, "png"),
            }
        ]
    return json_response(state, VENDOR, "status", answer)


def _url(request: web.Request, state: SimState, job: Job, kind: str, index: int, ext: str) -> str:
    path = FILE_PATH.format(kind=kind, task=job.job_id, index=index, ext=ext)
    return expiring_url(request, state, path, job.urls_expire_at)


async def download(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    kind, task, index = request.match_info["kind"], request.match_info["task"], request.match_info["index"]
    ext = "mp4" if kind == "video" else "png"
    signed, expires_at = check_expiring(
        request, state, FILE_PATH.format(kind=kind, task=task, index=index, ext=ext)
    )
    if kind != "video":
        return await serve_image(
            request, state, VENDOR, task, int(index), signed=signed, expires_at=expires_at
        )

    def video() -> Mp4Video | None:
        job = state.jobs.get(VENDOR, task)
        if job is None or int(index) != 0:
            return None
        return Mp4Video(f"{VENDOR}:{task}".encode(), state.config.video_bytes)

    return await serve_file(request, state, VENDOR, video, "video/mp4", signed=signed, expires_at=expires_at)


def routes() -> list[web.RouteDef]:
    return [
        web.post("/paas/v4/async/images/generations", _submitter("glm_image")),
        web.post("/paas/v4/videos/generations", _submitter("cogvideox")),
        web.get("/paas/v4/async-result/{id}", async_result),
        web.get(
            r"/bigmodel-files/{kind:image|video|cover}/{task:[0-9-]+}/{index:\d+}.{ext:png|mp4}", download
        ),
    ]


def connection(base_url: str, url_ttl: float | None) -> dict[str, Any]:
    return {"conn_type": "aigc_bigmodel", "host": base_url, "password": API_KEY}


PROFILE = SimVendor(
    name=VENDOR,
    latency={"glm_image": 20.0, "cogvideox": 120.0},
    kinds=("submit", "status", "download"),
    routes=routes,
    credentials={"api_key": API_KEY},
    connection=connection,
    # accepted_5xx: the job is taken, then a gateway answers 5xx instead of the task id.
    faults={"submit": (*API_FAULTS, "job_failure", "accepted_5xx")},
    # 1302 (concurrency) is the `concurrency` knob's answer.
    fault_codes={"rate_limit": (1305, 1312, 1303), "quota": (1113, 1304, 1308)},
    url_ttl=30 * 86400.0,
)
