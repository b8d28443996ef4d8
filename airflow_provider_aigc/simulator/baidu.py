"""Baidu ERNIE-ViLG v2: OAuth client-credentials tokens, txt2imgv2 and getImgv2, BOS-style URLs."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from aiohttp import web

from airflow_provider_aigc.simulator.bodies import BadBody, read_fields, read_form
from airflow_provider_aigc.simulator.downloads import origin, serve_image
from airflow_provider_aigc.simulator.faults import before, fire, injected_code, json_response
from airflow_provider_aigc.simulator.jobs import QUEUED_FRACTION, Job, Outcome, Phase
from airflow_provider_aigc.simulator.profile import API_FAULTS, SimVendor
from airflow_provider_aigc.simulator.state import STATE, SimState, Token

VENDOR = "baidu"
APP = "txt2imgv2"
CREDENTIALS = {"api_key": "demo-baidu-api-key", "secret_key": "demo-baidu-secret-key"}
MESSAGES = {
    4: "请求超限",
    13: "QPS 超限",
    15: "并发超限",
    17: "Open api daily request limit reached",
    18: "Open api qps request limit reached",
    110: "Access token invalid or no longer valid",
    111: "Access token expired",
    216100: "invalid parameter",
    216630: "recognize error",
    282003: "missing required request parameter",
    282004: "invalid parameter(s)",
}
V1_SIZES = {(1024, 1024), (1280, 720), (720, 1280), (2048, 2048), (2560, 1440), (1440, 2560)}
SIZES = {"v1": V1_SIZES, "v2": V1_SIZES | {(512, 512), (640, 360), (360, 640)}}
MAX_PROMPT = 200
MAX_IMAGES = 8
IMAGE_PATH = "/aigc-t2p/artist-long/{task}_{index}_final.png"
TIMESTAMP = "%Y-%m-%dT%H:%M:%SZ"


class Invalid(ValueError):
    """A request parameter breaks the documented limits; carries the error code."""

    def __init__(self, code: int) -> None:
        super().__init__(MESSAGES[code])
        self.code = code


def _envelope(state: SimState, code: int) -> dict[str, Any]:
    return {"error_code": code, "error_msg": MESSAGES.get(code, "error"), "log_id": _log_id(state)}


def _reject(state: SimState, kind: str, code: int) -> web.Response:
    state.stats.vendors[VENDOR].rejections[str(code)] += 1
    return json_response(state, VENDOR, kind, _envelope(state, code))


def _log_id(state: SimState) -> int:
    return 1_600_000_000_000_000_000 + state.serial()


async def token(request: web.Request) -> web.Response:
    """``/oauth/2.0/token``: parameters in the query string (or a form), as the OAuth docs allow."""
    state = request.app[STATE]
    early = await before(state, VENDOR, "token")
    if early is not None:
        return early
    params = {**(await read_form(request)), **request.query}
    if params.get("grant_type") != "client_credentials":
        error = {
            "error": "unsupported_grant_type",
            "error_description": "The authorization grant type is not supported",
        }
        return _oauth_error(state, error, 400)
    if params.get("client_id") != CREDENTIALS["api_key"]:
        return _oauth_error(state, {"error": "invalid_client", "error_description": "unknown client id"}, 401)
    if params.get("client_secret") != CREDENTIALS["secret_key"]:
        error = {"error": "invalid_client", "error_description": "Client authentication failed"}
        return _oauth_error(state, error, 401)
    config = state.config
    now = state.now()
    ttl = int(config.token_ttl)
    value = f"24.{state.rng.getrandbits(128):032x}.{ttl}.{int(now)}.282335-{state.serial()}"
    state.tokens[value] = Token(expires_at=now + config.token_ttl, max_calls=config.token_max_calls)
    state.stats.vendors[VENDOR].tokens_issued += 1
    body = {
        "refresh_token": f"25.{state.rng.getrandbits(128):032x}.315360000.{int(now)}.282335-{state.serial()}",
        "expires_in": ttl,
        "session_key": f"{state.rng.getrandbits(128):032x}",
        "access_token": value,
        "scope": "public brain_all_scope brain_ernievilg_txt2img wise_adapt",
        "session_secret": f"{state.rng.getrandbits(128):032x}",
    }
    return json_response(state, VENDOR, "token", body)


def _oauth_error(state: SimState, error: dict[str, str], status: int) -> web.Response:
    state.stats.vendors[VENDOR].rejections[error["error"]] += 1
    return json_response(state, VENDOR, "token", error, status=status)


def token_error(state: SimState, value: str | None) -> int | None:
    """None when the access token may make this call (counting it), else 110 or 111."""
    token = state.tokens.get(value or "")
    if token is None:
        return 110
    if state.now() >= token.expires_at or (token.max_calls is not None and token.calls >= token.max_calls):
        return 111
    token.calls += 1
    return None


async def _guard(
    request: web.Request, state: SimState, kind: str
) -> tuple[web.Response | None, dict[str, Any]]:
    """Faults, token and body shared by both API calls: an early answer, or the JSON body."""
    early = await before(state, VENDOR, kind)
    if early is not None:
        return early, {}
    code = token_error(state, request.query.get("access_token"))
    if code is not None:
        return _reject(state, kind, code), {}
    try:
        body = await read_fields(request)
    except BadBody:
        return _reject(state, kind, 282004), {}
    code = injected_code(state, VENDOR, kind)
    if code is not None:
        return json_response(state, VENDOR, kind, _envelope(state, code)), {}
    return None, body


def _integer(body: dict[str, Any], name: str, default: int) -> int:
    value = body.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise Invalid(216100)
    return value


def validate(body: dict[str, Any]) -> tuple[str, list[tuple[int, int]]]:
    """The prompt and one (width, height) per image, or ``Invalid`` with the documented code."""
    prompt = body.get("prompt")
    if prompt is None or prompt == "":
        raise Invalid(282003)
    if not isinstance(prompt, str) or len(prompt) > MAX_PROMPT:
        raise Invalid(282004)
    version = body.get("version", "v2")
    if version not in SIZES:
        raise Invalid(216100)
    size = (_integer(body, "width", 1024), _integer(body, "height", 1024))
    count = _integer(body, "image_num", 1)
    if size not in SIZES[version] or not 1 <= count <= MAX_IMAGES:
        raise Invalid(216100)
    if any(body.get(name) for name in ("image", "url", "pdf_file")):
        if "change_degree" not in body:
            raise Invalid(282003)
        if not 1 <= _integer(body, "change_degree", 0) <= 10:
            raise Invalid(216100)
    return prompt, [size] * count


async def submit(request: web.Request) -> web.Response:
    state = request.app[STATE]
    early, body = await _guard(request, state, "submit")
    if early is not None:
        return early
    try:
        prompt, images = validate(body)
    except Invalid as error:
        return _reject(state, "submit", error.code)
    config = state.config
    now = state.now()
    if state.over_submit_rate(VENDOR, now):
        return _reject(state, "submit", 18)
    if state.at_capacity(VENDOR, now):
        return _reject(state, "submit", 15)
    outcome = Outcome.SUCCESS
    if any(word in prompt for word in config.moderation_words):
        outcome = Outcome.MODERATED
    elif fire(state, VENDOR, "submit", "job_failure"):
        outcome = Outcome.FAILED
    elif len(images) > 1 and fire(state, VENDOR, "submit", "partial_failure"):
        outcome = Outcome.PARTIAL
    job = Job(
        vendor=VENDOR,
        app=APP,
        job_id=state.new_job_id(VENDOR, lambda: str(state.rng.randrange(10**18, 2**63))),  # a Java long
        prompt=prompt,
        submitted_at=now,
        latency=0.0 if outcome is Outcome.MODERATED else config.latency_for(APP),
        outcome=outcome,
        images=tuple(images),
        image_bytes=config.image_bytes,
    )
    job.urls_expire_at = math.floor(job.done_at) + math.ceil(config.url_ttl[VENDOR] or 0)
    state.accept(job)
    data = {"primary_task_id": int(job.job_id), "task_id": job.job_id}
    return json_response(state, VENDOR, "submit", {"data": data, "log_id": _log_id(state)})


async def get_image(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.stats.vendors[VENDOR].polls += 1
    early, body = await _guard(request, state, "status")
    if early is not None:
        return early
    task_id = body.get("task_id")
    if task_id is None or task_id == "":
        return _reject(state, "status", 282003)
    job = state.jobs.get(VENDOR, str(task_id)) if isinstance(task_id, (int, str)) else None
    if job is None:
        return _reject(state, "status", 282004)
    return json_response(
        state, VENDOR, "status", {"log_id": _log_id(state), "data": task_data(request, state, job)}
    )


def task_data(request: web.Request, state: SimState, job: Job) -> dict[str, Any]:
    """getImgv2's ``data``: task status and one sub task per image."""
    now = state.now()
    phase = job.phase(now)
    count = len(job.images)
    if job.outcome is Outcome.MODERATED:
        return _task(job, "FAILED", [_failed(501)] * count)
    if phase is not Phase.DONE:
        status = "RUNNING" if phase is Phase.RUNNING else "INIT"
        if phase is Phase.QUEUED and job.progress(now) >= QUEUED_FRACTION / 2:
            status = "WAIT"
        sub = {
            "final_image_list": [],
            "sub_task_error_code": 0,
            "sub_task_progress": 0,
            "sub_task_status": status,
        }
        return _task(job, status, [dict(sub) for _ in range(count)], progress=0)
    if job.outcome is Outcome.FAILED:
        return _task(job, "FAILED", [_failed(201)] * count)
    subs = [_succeeded(request, state, job, index) for index in range(count)]
    if job.outcome is Outcome.PARTIAL:
        subs[-1] = _failed(201)
    return _task(job, "SUCCESS", subs)


def _task(job: Job, status: str, subs: list[dict[str, Any]], progress: int = 1) -> dict[str, Any]:
    return {
        "sub_task_result_list": subs,
        "task_id": int(job.job_id),
        "task_progress": progress,
        "task_status": status,
    }


def _failed(code: int) -> dict[str, Any]:
    return {"sub_task_error_code": code, "sub_task_progress": 0, "sub_task_status": "FAILED"}


def _succeeded(request: web.Request, state: SimState, job: Job, index: int) -> dict[str, Any]:
    width, height = job.images[index]
    image = {
        "height": height,
        "img_approve_conclusion": "pass",
        "img_url": image_url(request, state, job, index),
    }
    return {
        "final_image_list": [{**image, "width": width}],
        "sub_task_error_code": 0,
        "sub_task_progress": 1,
        "sub_task_status": "SUCCESS",
    }


def image_url(request: web.Request, state: SimState, job: Job, index: int) -> str:
    """A BOS-style presigned URL: signed at completion, valid for ``url_ttl`` seconds."""
    signed_at = math.floor(job.done_at)
    timestamp = datetime.fromtimestamp(signed_at, timezone.utc).strftime(TIMESTAMP)
    seconds = str(int(job.urls_expire_at) - signed_at)
    path = IMAGE_PATH.format(task=job.job_id, index=index)
    access_key = state.signer.access_key
    signature = state.signer.sign(path, access_key, timestamp, seconds)
    authorization = quote(f"bce-auth-v1/{access_key}/{timestamp}/{seconds}/host/{signature}", safe="")
    return f"{origin(request)}{path}?authorization={authorization}"


async def download(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    task, index = request.match_info["task"], request.match_info["index"]
    path = IMAGE_PATH.format(task=task, index=index)
    parts = request.query.get("authorization", "").split("/")
    signed, expires_at = False, 0.0
    if len(parts) == 6 and parts[0] == "bce-auth-v1" and parts[4] == "host" and parts[3].isdigit():
        _, access_key, timestamp, seconds, _, signature = parts
        signed = state.signer.verify(signature, path, access_key, timestamp, seconds)
        if signed:
            start = datetime.strptime(timestamp, TIMESTAMP).replace(tzinfo=timezone.utc)
            expires_at = start.timestamp() + int(seconds)
    return await serve_image(request, state, VENDOR, task, int(index), signed=signed, expires_at=expires_at)


def routes() -> list[web.RouteDef]:
    return [
        web.post("/oauth/2.0/token", token),
        web.get("/oauth/2.0/token", token),
        web.post("/rpc/2.0/ernievilg/v1/txt2imgv2", submit),
        web.post("/rpc/2.0/ernievilg/v1/getImgv2", get_image),
        web.get(r"/aigc-t2p/artist-long/{task:\d+}_{index:\d+}_final.png", download),
    ]


def connection(base_url: str, url_ttl: float | None) -> dict[str, Any]:
    return {
        "conn_type": "aigc_baidu",
        "host": base_url,
        "login": CREDENTIALS["api_key"],
        "password": CREDENTIALS["secret_key"],
    }


PROFILE = SimVendor(
    name=VENDOR,
    latency={APP: 30.0},
    kinds=("token", "submit", "status", "download"),
    routes=routes,
    credentials=CREDENTIALS,
    connection=connection,
    faults={"submit": (*API_FAULTS, "job_failure", "partial_failure")},
    fault_codes={"rate_limit": (18, 13), "quota": (17, 4)},
    concurrency=2,
    url_ttl=3600.0,
    url_ttl_required=True,
)
