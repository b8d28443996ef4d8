"""Alibaba Cloud Model Studio (DashScope) Wan: the three async create paths, task query, listing
and cancel under ``/api/v1``, and OSS-style signed result URLs that expire after 24 hours.

Written from the DashScope documents (shared/vendors/dashscope_wan_async.md), not from the
client's ``vendors/dashscope.py``. Where the documents are silent the simulator answers as
docs/simulator.md says (the concurrency refusal's message, the header-missing code).
"""

from __future__ import annotations

import hmac
import math
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from aiohttp import web

from airflow_provider_aigc.simulator.bodies import BadBody, read_fields
from airflow_provider_aigc.simulator.downloads import origin, serve_file, serve_image
from airflow_provider_aigc.simulator.faults import before, fire, injected_code, json_response
from airflow_provider_aigc.simulator.jobs import Job, Outcome, Phase
from airflow_provider_aigc.simulator.mp4 import Mp4Video
from airflow_provider_aigc.simulator.profile import API_FAULTS, SimVendor
from airflow_provider_aigc.simulator.state import STATE, SimState

VENDOR = "dashscope"
API = "/api/v1"
API_KEY = "sk-demo-dashscope-api-key"
BEIJING = timezone(timedelta(hours=8))
IMAGE_PATH = "/dashscope-result/{task}/{index}.png"
VIDEO_PATH = "/dashscope-result/{task}/{index}.mp4"
TASK_TTL = 86400.0  # task records: 24 h after the task ends, then UNKNOWN

# Image models: (prompt limit, pixel rule: total 1280²-1440² and 1:4-4:1, else sides 512-1440).
IMAGE_SYNTHESIS_MODELS = {
    "wan2.5-t2i-preview": (2000, True),
    "wan2.2-t2i-flash": (800, False),
    "wan2.2-t2i-plus": (800, False),
    "wanx2.1-t2i-turbo": (800, False),
    "wanx2.1-t2i-plus": (800, False),
    "wan2.1-t2i-turbo": (800, False),
    "wan2.1-t2i-plus": (800, False),
    "wanx2.0-t2i-turbo": (800, False),
}
IMAGE_GENERATION_MODELS = {"wan2.6-t2i": (2100, True)}
_480 = ("832*480", "480*832", "624*624")
_720 = ("1280*720", "720*1280", "960*960", "1088*832", "832*1088")
_1080 = ("1920*1080", "1080*1920", "1440*1440", "1632*1248", "1248*1632")
# Video models: (prompt limit, sizes, durations, default size); wan2.7 takes resolution + ratio.
VIDEO_MODELS: dict[str, tuple[int, tuple[str, ...], tuple[int, ...], str]] = {
    "wan2.6-t2v": (1500, _720 + _1080, (5, 10, 15), "1920*1080"),
    "wan2.6-t2v-us": (1500, _720 + _1080, (5, 10, 15), "1920*1080"),
    "wan2.5-t2v-preview": (1500, _480 + _720 + _1080, (5, 10), "1920*1080"),
    "wan2.2-t2v-plus": (800, _480 + _1080, (5,), "1920*1080"),
    "wanx2.1-t2v-turbo": (800, _480 + _720, (5,), "1280*720"),
    "wan2.1-t2v-turbo": (800, _480 + _720, (5,), "1280*720"),
    "wanx2.1-t2v-plus": (800, _720, (5,), "1280*720"),
    "wan2.1-t2v-plus": (800, _720, (5,), "1280*720"),
}
WAN27 = "wan2.7-t2v"
# Create-task limits per model and account (rate-limit page, 2026): (submits per second, tasks in
# progress at once). Beijing lists wan2.6-t2i at 1 submit/s, which the other regions' 5 suggest is
# a page error; the simulator takes 5. The `submit_rate` and `concurrency` knobs replace them.
_FAST, _SLOW = (5.0, 5), (2.0, 2)
MODEL_LIMITS: dict[str, tuple[float, int]] = {
    "wan2.6-t2i": _FAST,
    "wan2.5-t2i-preview": _FAST,
    **dict.fromkeys(IMAGE_SYNTHESIS_MODELS.keys() - {"wan2.5-t2i-preview"}, _SLOW),
    **dict.fromkeys((WAN27, "wan2.6-t2v", "wan2.6-t2v-us", "wan2.5-t2v-preview"), _FAST),
    **dict.fromkeys(VIDEO_MODELS.keys() - {"wan2.6-t2v", "wan2.6-t2v-us", "wan2.5-t2v-preview"}, _SLOW),
}
RATIOS = {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1), "4:3": (4, 3), "3:4": (3, 4)}
RESOLUTIONS = {"720P": 720, "1080P": 1080}
# A fault's numeric code (the simulator's knobs are integers) -> (HTTP status, DashScope code).
FAULT_CODES: dict[int, tuple[int, str]] = {
    400: (400, "InvalidParameter"),
    401: (401, "InvalidApiKey"),
    403: (403, "AccessDenied"),
    408: (408, "RequestTimeOut"),
    429: (429, "Throttling.RateQuota"),
    4291: (429, "Throttling.AllocationQuota"),
    4292: (429, "Throttling"),  # the concurrency refusal
    4001: (400, "Arrearage"),
    4031: (403, "AllocationQuota.FreeTierOnly"),
    500: (500, "InternalError"),
    503: (503, "ModelUnavailable"),
}
MESSAGES = {
    "InvalidParameter": "The parameters are invalid.",
    "InvalidApiKey": "Invalid API-key provided.",
    "AccessDenied": "Access denied.",
    "RequestTimeOut": "Request timed out, please try again later.",
    "Throttling.RateQuota": "Requests rate limit exceeded, please try again later.",
    "Throttling.AllocationQuota": "Allocated quota exceeded, please increase your quota limit.",
    "Throttling": "Requests throttling triggered: too many concurrent tasks, please try again later.",
    "Arrearage": "Access denied, please make sure your account is in good standing.",
    "AllocationQuota.FreeTierOnly": "The free tier of the model has been exhausted.",
    "InternalError": "An internal error has occured, please try again later.",
    "ModelUnavailable": "Model is unavailable, please try again later.",
    "DataInspectionFailed": "Input data may contain inappropriate content.",
}


class Refused(ValueError):
    """An answer in the ``{request_id, code, message}`` envelope."""

    def __init__(self, status: int, code: str, message: str | None = None) -> None:
        super().__init__(message or MESSAGES.get(code, code))
        self.status = status
        self.code = code


def _request_id(state: SimState) -> str:
    return str(uuid.UUID(int=state.serial()))


def _reject(state: SimState, kind: str, error: Refused) -> web.Response:
    state.stats.vendors[VENDOR].rejections[error.code] += 1
    body = {"request_id": _request_id(state), "code": error.code, "message": str(error)}
    return json_response(state, VENDOR, kind, body, status=error.status)


def _injected(state: SimState, kind: str) -> Refused | None:
    code = injected_code(state, VENDOR, kind)
    if code is None:
        return None
    status, name = FAULT_CODES.get(code, (500, "InternalError"))
    return Refused(status, name)


def check_auth(request: web.Request) -> None:
    """``Authorization: Bearer <key>``; a missing or wrong key is 401 ``InvalidApiKey``."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme != "Bearer" or not hmac.compare_digest(key.strip().encode(), API_KEY.encode()):
        raise Refused(401, "InvalidApiKey")


def _clock_text(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, BEIJING).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _sides(size: object) -> tuple[int, int]:
    if not isinstance(size, str):
        raise Refused(400, "InvalidParameter", "size must be a string like 1024*1024")
    width, star, height = size.partition("*")
    if not (star and width.isdigit() and height.isdigit()):
        raise Refused(400, "InvalidParameter", f"size {size} must be width*height")
    return int(width), int(height)


def _image_size(size: object, pixel_rule: bool) -> tuple[int, int]:
    width, height = _sides(size)
    if pixel_rule:
        ok = 1280 * 1280 <= width * height <= 1440 * 1440 and width <= 4 * height and height <= 4 * width
    else:
        ok = 512 <= width <= 1440 and 512 <= height <= 1440
    if not ok:
        raise Refused(400, "InvalidParameter", f"size {size} is not supported by the model")
    return width, height


def _int_in(parameters: dict[str, Any], name: str, low: int, high: int, default: int) -> int:
    value = parameters.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Refused(400, "InvalidParameter", f"{name} must be an integer in [{low}, {high}]")
    return value


def _seed(parameters: dict[str, Any]) -> None:
    if "seed" in parameters:
        _int_in(parameters, "seed", 0, 2147483647, 0)


def _prompt(text: object, limit: int) -> str:
    """The prompt, cut to ``limit`` characters as the vendor does (silently)."""
    if not isinstance(text, str) or not text.strip():
        raise Refused(400, "BadRequest.EmptyInput", "Required parameter(s) missing or invalid: input.prompt")
    return text[:limit]


def _image_request(path: str, body: dict[str, Any]) -> tuple[str, str, list[tuple[int, int]]]:
    """(model, prompt, one size per image) of an image create call, or ``Refused``."""
    model = body.get("model")
    models = IMAGE_GENERATION_MODELS if path == "generation" else IMAGE_SYNTHESIS_MODELS
    if not isinstance(model, str) or not model:
        raise Refused(400, "BadRequest.EmptyModel", "Required parameter(s) missing or invalid: model")
    if model not in models:
        raise Refused(400, "InvalidParameter", f"Model {model} is not supported on this path")
    limit, pixel_rule = models[model]
    inputs, parameters = _objects(body)
    if path == "generation":
        messages = inputs.get("messages")
        texts = []
        if isinstance(messages, list) and len(messages) == 1 and isinstance(messages[0], dict):
            content = messages[0].get("content")
            texts = [item.get("text") for item in content or [] if isinstance(item, dict) and "text" in item]
        if len(texts) != 1:
            raise Refused(400, "InvalidParameter", "input.messages must hold one user message with one text")
        prompt = _prompt(texts[0], limit)
    else:
        prompt = _prompt(inputs.get("prompt"), limit)
    size = _image_size(parameters.get("size", "1280*1280" if pixel_rule else "1024*1024"), pixel_rule)
    count = _int_in(parameters, "n", 1, 4, 4)  # the documented default: four images
    _seed(parameters)
    return model, prompt, [size] * count


def _video_request(body: dict[str, Any]) -> tuple[str, str, tuple[int, int], int]:
    """(model, prompt, size, duration) of a video create call, or ``Refused``."""
    model = body.get("model")
    inputs, parameters = _objects(body)
    if model == WAN27:
        if "size" in parameters:
            raise Refused(400, "InvalidParameter", "wan2.7-t2v takes resolution and ratio, not size")
        resolution = RESOLUTIONS.get(parameters.get("resolution", "1080P"))
        ratio = RATIOS.get(parameters.get("ratio", "16:9"))
        if resolution is None or ratio is None:
            raise Refused(400, "InvalidParameter", "resolution must be 720P/1080P and ratio one of 16:9, ...")
        short = resolution
        long_side = short * max(ratio) // min(ratio)
        size = (long_side, short) if ratio[0] >= ratio[1] else (short, long_side)
        return model, _prompt(inputs.get("prompt"), 5000), size, _int_in(parameters, "duration", 2, 15, 5)
    if not isinstance(model, str) or model not in VIDEO_MODELS:
        raise Refused(400, "InvalidParameter", f"Model {model} is not supported for text-to-video")
    limit, sizes, durations, default_size = VIDEO_MODELS[model]
    size = parameters.get("size", default_size)
    if size not in sizes:
        raise Refused(400, "InvalidParameter", f"size {size} is not supported by {model}")
    duration = parameters.get("duration", 5)
    if duration not in durations or isinstance(duration, bool):
        raise Refused(400, "InvalidParameter", f"duration {duration} is not supported by {model}")
    if "shot_type" in parameters and not model.startswith("wan2.6"):
        raise Refused(400, "InvalidParameter", "shot_type is supported by wan2.6 only")
    if "audio_url" in inputs and not model.startswith(("wan2.6", "wan2.5")):
        raise Refused(400, "InvalidParameter", f"audio_url is not supported by {model}")
    _seed(parameters)
    return model, _prompt(inputs.get("prompt"), limit), _sides(size), duration


def _objects(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    inputs, parameters = body.get("input"), body.get("parameters") or {}
    if not isinstance(inputs, dict):
        raise Refused(400, "BadRequest.EmptyInput", "Required parameter(s) missing or invalid: input")
    if not isinstance(parameters, dict):
        raise Refused(400, "InvalidParameter", "parameters must be an object")
    return inputs, parameters


async def _create(request: web.Request, path: str) -> web.Response:
    state = request.app[STATE]
    early = await before(state, VENDOR, "submit")
    if early is not None:
        return early
    config = state.config
    now = state.now()
    try:
        check_auth(request)
        if request.headers.get("X-DashScope-Async") != "enable":
            raise Refused(403, "AccessDenied", "current user api does not support synchronous calls")
        try:
            body = await read_fields(request)
        except BadBody as error:
            raise Refused(400, "InvalidParameter", str(error)) from None
        injected = _injected(state, "submit")
        if injected is not None:
            raise injected
        if path == "video":
            model, prompt, size, duration = _video_request(body)
            sizes, app = [size], "wan_video"
        else:
            model, prompt, sizes = _image_request(path, body)
            duration, app = 0, "wan_image"
        if any(word in prompt for word in config.moderation_words):
            raise Refused(400, "DataInspectionFailed")
        _check_limits(state, model, now)
    except Refused as error:
        return _reject(state, "submit", error)
    outcome = Outcome.SUCCESS
    if fire(state, VENDOR, "submit", "job_failure") is not None:
        outcome = Outcome.FAILED
    elif len(sizes) > 1 and fire(state, VENDOR, "submit", "partial_failure") is not None:
        outcome = Outcome.PARTIAL
    job = Job(
        vendor=VENDOR,
        app=app,
        job_id=state.new_job_id(VENDOR, lambda: str(uuid.UUID(int=state.rng.getrandbits(128), version=4))),
        prompt=prompt,
        submitted_at=now,
        latency=config.latency_for(app),
        outcome=outcome,
        images=tuple(sizes),
        image_bytes=config.image_bytes,
        params={"model": model, "duration": duration, "request_id": _request_id(state), "path": path},
    )
    job.urls_expire_at = math.ceil(job.done_at + (config.url_ttl[VENDOR] or TASK_TTL))
    state.accept(job)
    answer = {
        "output": {"task_status": "PENDING", "task_id": job.job_id},
        "request_id": job.params["request_id"],
    }
    return json_response(state, VENDOR, "submit", answer)


def _check_limits(state: SimState, model: str, now: float) -> None:
    """The model's limits, as the vendor counts them: tasks in progress (PENDING or RUNNING) of
    this model, then submits of this model in the last second (a submit let through is counted)."""
    rate, concurrency = MODEL_LIMITS[model]
    configured_concurrency = state.config.concurrency[VENDOR]
    configured_rate = state.config.submit_rate[VENDOR]
    if configured_concurrency is not None:
        concurrency = configured_concurrency
    if configured_rate is not None:
        rate = configured_rate
    in_progress = sum(
        1
        for job in state.jobs.of(VENDOR)
        if job.params["model"] == model and job.done_at > now and "canceled_at" not in job.params
    )
    if concurrency and in_progress >= concurrency:
        raise Refused(429, "Throttling")
    if state.over_submit_rate(VENDOR, now, model=model, rate=rate):
        raise Refused(429, "Throttling.RateQuota")


async def create_image_synthesis(request: web.Request) -> web.Response:
    return await _create(request, "synthesis")


async def create_image_generation(request: web.Request) -> web.Response:
    return await _create(request, "generation")


async def create_video(request: web.Request) -> web.Response:
    return await _create(request, "video")


def _status_of(state: SimState, job: Job) -> str:
    now = state.now()
    if "canceled_at" in job.params:
        return "CANCELED"
    phase = job.phase(now)
    if phase is Phase.QUEUED:
        return "PENDING"
    if phase is Phase.RUNNING:
        return "RUNNING"
    return "FAILED" if job.outcome is Outcome.FAILED else "SUCCEEDED"


def _live_job(state: SimState, task_id: str) -> Job | None:
    """The task, unless it never existed or ended more than 24 h ago (then the vendor says UNKNOWN)."""
    job = state.jobs.get(VENDOR, task_id)
    if job is None or state.now() >= job.done_at + (state.config.url_ttl[VENDOR] or TASK_TTL):
        return None
    return job


def _signed_url(request: web.Request, state: SimState, path: str, expires_at: float) -> str:
    """An OSS-style signed URL: ``?Expires=<epoch>&OSSAccessKeyId=...&Signature=...``."""
    expires = str(int(expires_at))
    signature = state.signer.sign(path, expires)
    key = state.signer.access_key
    return f"{origin(request)}{path}?Expires={expires}&OSSAccessKeyId={key}&Signature={signature}"


def task_output(
    request: web.Request, state: SimState, job: Job
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """``output`` and ``usage`` of a task query, as the task's protocol reports them."""
    status = _status_of(state, job)
    output: dict[str, Any] = {
        "task_id": job.job_id,
        "task_status": status,
        "submit_time": _clock_text(job.submitted_at),
    }
    if status in ("PENDING", "CANCELED"):
        return output, None
    output["scheduled_time"] = _clock_text(job.submitted_at + job.latency * 0.1)
    if status == "RUNNING":
        return output, None
    output["end_time"] = _clock_text(job.done_at)
    if status == "FAILED":
        output.update(code="InternalError.Algo", message="Algorithm process error (simulated).")
        return output, None
    path = job.params["path"]
    if path == "video":
        url = _signed_url(request, state, VIDEO_PATH.format(task=job.job_id, index=0), job.urls_expire_at)
        output.update(video_url=url, orig_prompt=job.prompt)
        duration = job.params["duration"]
        width, height = job.images[0]
        usage = {"video_duration": duration, "video_ratio": f"{width}*{height}", "video_count": 1}
        return output, usage
    urls = [
        _signed_url(request, state, IMAGE_PATH.format(task=job.job_id, index=index), job.urls_expire_at)
        for index in range(len(job.images))
    ]
    failed = {len(urls) - 1} if job.outcome is Outcome.PARTIAL else set()
    produced = len(urls) - len(failed)
    if path == "generation":
        content = [{"image": url, "type": "image"} for url in urls]
        choice = {"finish_reason": "stop", "message": {"role": "assistant", "content": content}}
        output.update(finished=True, choices=[choice])
        usage = {"image_count": produced, "size": "{}*{}".format(*job.images[0]), "input_tokens": 0}
        return output, usage
    results: list[dict[str, Any]] = [
        {"code": "DataInspectionFailed", "message": "Output data may contain inappropriate content."}
        if index in failed
        else {"url": url, "orig_prompt": job.prompt}
        for index, url in enumerate(urls)
    ]
    output.update(
        results=results, task_metrics={"TOTAL": len(urls), "SUCCEEDED": produced, "FAILED": len(failed)}
    )
    return output, {"image_count": produced}


async def query(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.stats.vendors[VENDOR].polls += 1
    early = await before(state, VENDOR, "status")
    if early is not None:
        return early
    try:
        check_auth(request)
        injected = _injected(state, "status")
        if injected is not None:
            raise injected
    except Refused as error:
        return _reject(state, "status", error)
    job = _live_job(state, request.match_info["task"])
    if job is None:
        unknown = {"task_id": request.match_info["task"], "task_status": "UNKNOWN"}
        return json_response(state, VENDOR, "status", {"request_id": _request_id(state), "output": unknown})
    output, usage = task_output(request, state, job)
    body: dict[str, Any] = {"request_id": _request_id(state), "output": output}
    if usage is not None:
        body["usage"] = usage
    return json_response(state, VENDOR, "status", body)


async def cancel(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        check_auth(request)
        job = _live_job(state, request.match_info["task"])
        if job is None or _status_of(state, job) != "PENDING":
            raise Refused(
                400,
                "UnsupportedOperation",
                "Failed to cancel the task, please confirm if the task is in PENDING status.",
            )
    except Refused as error:
        return _reject(state, "cancel", error)
    job.params["canceled_at"] = state.now()
    return json_response(state, VENDOR, "cancel", {"request_id": _request_id(state)})


def _window(query: Any, now: float) -> tuple[float, float]:
    """``start_time``/``end_time`` (``YYYYMMDDhhmmss``, Beijing time); default the last 24 h."""

    def read(name: str, default: float) -> float:
        text = query.get(name)
        if not text:
            return default
        try:
            return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=BEIJING).timestamp()
        except ValueError:
            raise Refused(400, "InvalidParameter", f"{name} must be YYYYMMDDhhmmss") from None

    end = read("end_time", now)
    start = read("start_time", end - TASK_TTL)
    if not 0 <= end - start <= TASK_TTL:
        raise Refused(400, "InvalidParameter", "the time window must be at most 24 hours")
    return start, end


async def list_tasks(request: web.Request) -> web.Response:
    """``GET /tasks/``: this account's tasks in a window, by model and status, a page at a time."""
    state = request.app[STATE]
    query = request.query
    try:
        check_auth(request)
        start, end = _window(query, state.now())
        page_no = int(query.get("page_no", "1"))
        page_size = int(query.get("page_size", "10"))
    except ValueError:
        return _reject(state, "list", Refused(400, "InvalidParameter", "page_no and page_size are integers"))
    except Refused as error:
        return _reject(state, "list", error)
    found = [
        job
        for job in state.jobs.of(VENDOR)
        if start <= job.submitted_at <= end
        and query.get("model_name", job.params["model"]) == job.params["model"]
        and query.get("task_id", job.job_id) == job.job_id
        and query.get("status", _status_of(state, job)) == _status_of(state, job)
        and _live_job(state, job.job_id) is not None
    ]
    found.sort(key=lambda job: job.submitted_at, reverse=True)
    page = found[(page_no - 1) * page_size : page_no * page_size]
    data = [
        {
            "task_id": job.job_id,
            "status": _status_of(state, job),
            "model_name": job.params["model"],
            "request_id": job.params["request_id"],
            "gmt_create": int(job.submitted_at * 1000),
            "region": "cn-beijing",
        }
        for job in page
    ]
    body = {
        "request_id": _request_id(state),
        "data": data,
        "total": len(found),
        "total_page": math.ceil(len(found) / page_size) if page_size else 0,
        "page_no": page_no,
        "page_size": page_size,
    }
    return json_response(state, VENDOR, "list", body)


def _verified(request: web.Request, state: SimState, path: str) -> tuple[bool, float]:
    expires = request.query.get("Expires", "")
    if expires.isdigit() and state.signer.verify(request.query.get("Signature", ""), path, expires):
        return True, float(expires)
    return False, 0.0


async def download_image(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    task, index = request.match_info["task"], request.match_info["index"]
    signed, expires_at = _verified(request, state, IMAGE_PATH.format(task=task, index=index))
    return await serve_image(request, state, VENDOR, task, int(index), signed=signed, expires_at=expires_at)


async def download_video(request: web.Request) -> web.StreamResponse:
    """The task's MP4 (a small real H.264 movie, padded to ``image_bytes`` when that is set)."""
    state = request.app[STATE]
    task = request.match_info["task"]
    signed, expires_at = _verified(request, state, VIDEO_PATH.format(task=task, index=0))

    def video() -> Mp4Video | None:
        job = state.jobs.get(VENDOR, task)
        if job is None or job.app != "wan_video":
            return None
        return Mp4Video(f"{VENDOR}:{task}".encode(), job.image_bytes)

    return await serve_file(request, state, VENDOR, video, "video/mp4", signed=signed, expires_at=expires_at)


def routes() -> list[web.RouteDef]:
    return [
        web.post(f"{API}/services/aigc/text2image/image-synthesis", create_image_synthesis),
        web.post(f"{API}/services/aigc/image-generation/generation", create_image_generation),
        web.post(f"{API}/services/aigc/video-generation/video-synthesis", create_video),
        web.get(f"{API}/tasks/", list_tasks),
        web.get(f"{API}/tasks/{{task}}", query),
        web.post(f"{API}/tasks/{{task}}/cancel", cancel),
        web.get(r"/dashscope-result/{task}/{index:\d+}.png", download_image),
        web.get(r"/dashscope-result/{task}/0.mp4", download_video),
    ]


def connection(base_url: str, url_ttl: float | None) -> dict[str, Any]:
    return {"conn_type": "aigc_dashscope", "host": f"{base_url}{API}", "password": API_KEY}


PROFILE = SimVendor(
    name=VENDOR,
    latency={"wan_image": 60.0, "wan_video": 180.0},
    kinds=("submit", "status", "download", "list", "cancel"),
    routes=routes,
    credentials={"api_key": API_KEY},
    connection=connection,
    faults={
        "submit": (*API_FAULTS, "job_failure", "partial_failure"),
        "list": API_FAULTS,
        "cancel": API_FAULTS,
    },
    # Numbers standing for the string codes: FAULT_CODES above maps them.
    fault_codes={"rate_limit": (429, 4291, 4292), "quota": (4001, 4031)},
    concurrency=None,  # MODEL_LIMITS
    submit_rate=None,
    url_ttl=86400.0,
)
