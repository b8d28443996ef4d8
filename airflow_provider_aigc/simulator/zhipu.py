"""Zhipu (AMiner WuDao): CogView images and news generation, ``/v1/...`` under both documented bases."""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any

from aiohttp import web

from airflow_provider_aigc.simulator.bodies import BadBody, read_fields
from airflow_provider_aigc.simulator.downloads import check_expiring, expiring_url, serve_image
from airflow_provider_aigc.simulator.faults import before, fire, injected_code, json_response
from airflow_provider_aigc.simulator.jobs import Job, Outcome, Phase
from airflow_provider_aigc.simulator.profile import API_FAULTS, SimVendor
from airflow_provider_aigc.simulator.signing import des3_decrypt
from airflow_provider_aigc.simulator.state import STATE, SimState

VENDOR = "zhipu"
CREDENTIALS = {
    "app_key": "demo-zhipu-app-key",
    "app_secret": "demo-zhipu-app-secret",
    "des3_key": "demo-zhipu-des3-key-24b!",
    "apikey": "demo-zhipu-console-apikey",
    "apisecret": "demo-zhipu-console-apisecret",
}
MESSAGES = {
    10001: "apikey和apisecret与当前接口不匹配",
    10002: "apikey校验不成功",
    10003: "接口速率超限制",
    10004: "接口周期次数超限制",
}
USER = {"appId": "60cb108b9777582444f7b867", "id": "111", "name": "demo"}
IMAGE_PATH = "/api/cogview/get-image/{task}/{ms}/{index}.png"
NEWS_SENTENCES = (
    "据新华社报道，{topic}。",
    "相关负责人表示，这标志着我国在该领域迈出了坚实的一步。",
    "专家认为，此举将为后续工作积累宝贵经验。",
    "记者从现场了解到，各项工作进展顺利。",
    "业内人士指出，未来仍需持续加大投入力度。",
    "当地群众纷纷表示，对此充满信心和期待。",
    "据悉，下一阶段的任务已在紧张筹备之中。",
    "此次活动得到了社会各界的广泛关注。",
)


def _envelope(code: int, message: str | None = None) -> dict[str, Any]:
    return {"status": code, "message": message or MESSAGES.get(code, "error"), "result": {}}


def _reject(
    state: SimState, kind: str, code: int, message: str | None = None, http: int = 200
) -> web.Response:
    state.stats.vendors[VENDOR].rejections[str(code)] += 1
    return json_response(state, VENDOR, kind, _envelope(code, message), status=http)


def auth_error(api_name: str, apikey: Any, apisecret: Any) -> int | None:
    """None when the keys are valid for ``api_name``, else 10001 (other API) or 10002 (not ours)."""
    if apikey == CREDENTIALS["apikey"] and apisecret == CREDENTIALS["apisecret"]:
        return None
    if not isinstance(apikey, str) or not isinstance(apisecret, str):
        return 10002
    names = set()
    for value, expected in ((apikey, CREDENTIALS["app_key"]), (apisecret, CREDENTIALS["app_secret"])):
        name, _, credential = (des3_decrypt(CREDENTIALS["des3_key"], value) or "").partition(":")
        if credential != expected:
            return 10002
        names.add(name)
    return None if names == {api_name} else 10001


def _rfc1123(epoch: float) -> str:
    return format_datetime(datetime.fromtimestamp(int(epoch), timezone.utc), usegmt=True)


def news_text(job_id: str, topic: str, max_length: int) -> str:
    """Chinese news copy, deterministic per job, at most ``max_length`` characters."""
    digest = hashlib.sha256(job_id.encode()).digest()
    parts = [NEWS_SENTENCES[0].format(topic=topic)]
    parts += [NEWS_SENTENCES[1 + b % (len(NEWS_SENTENCES) - 1)] for b in digest[:12]]
    return "".join(parts)[:max_length]


def image_urls(request: web.Request, state: SimState, job: Job) -> list[str]:
    ms = int(job.done_at * 1000)
    return [
        expiring_url(
            request, state, IMAGE_PATH.format(task=job.job_id, ms=ms, index=index), job.urls_expire_at
        )
        for index in range(len(job.images))
    ]


def result_body(request: web.Request, state: SimState, job: Job) -> dict[str, Any]:
    """``result`` for submit and status: the documents' union of fields, by phase."""
    now = state.now()
    phase = job.phase(now)
    result: dict[str, Any] = {
        "app": job.app,
        "created_at": _rfc1123(job.submitted_at),
        "input": job.params["input"],
        "key": job.params["key"],
        "output": {},
        "process_time": 0,
        "progress": {"value": f"{job.percent(now)}%"},
        "status": "wait",
        "task_id": job.job_id,
        "updated_at": _rfc1123(job.submitted_at),
        "user": USER,
    }
    if phase is not Phase.DONE:
        return result
    result["updated_at"] = _rfc1123(job.done_at)
    result["process_time"] = round(max(job.latency, 0.001), 3)
    result["id"] = hashlib.sha256(job.job_id.encode()).hexdigest()[:24]
    if job.outcome is Outcome.FAILED:
        result.update(status="failed", error="model inference failed (simulated)")
    elif job.app == "cogview":
        result.update(status="finish", output=image_urls(request, state, job))
    else:
        text = news_text(job.job_id, job.prompt, job.params["input"]["max_length"])
        result.update(status="finish", output={"text": text})
    return result


def _positive_int(value: Any) -> int | None:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


async def _submit(request: web.Request, api_name: str) -> web.Response:
    state = request.app[STATE]
    early = await before(state, VENDOR, "submit")
    if early is not None:
        return early
    try:
        fields = await read_fields(request)
    except BadBody as error:
        return _reject(state, "submit", 400, str(error), http=400)
    code = auth_error(api_name, fields.get("apikey"), fields.get("apisecret"))
    if code is not None:
        return _reject(state, "submit", code)
    prompt_field = "query" if api_name == "cogview" else "content"
    for name in ("key", prompt_field):
        if not isinstance(fields.get(name), str) or not fields[name]:
            return _reject(state, "submit", 400, f"missing parameter: {name}", http=400)
    prompt = fields[prompt_field]
    if api_name == "cogview":
        job_input: dict[str, Any] = {"text": prompt}
    else:
        max_length = _positive_int(fields.get("max_length"))
        if max_length is None:
            return _reject(state, "submit", 400, "max_length must be a positive integer", http=400)
        job_input = {"content": prompt, "max_length": max_length}
    code = injected_code(state, VENDOR, "submit")
    if code is not None:
        return json_response(state, VENDOR, "submit", _envelope(code))
    config = state.config
    now = state.now()
    if state.at_capacity(VENDOR, now) or state.over_submit_rate(VENDOR, now):
        return _reject(state, "submit", 10003)
    images = config.cogview_images
    hex_chars = 16 if api_name == "cogview" else 24
    job = Job(
        vendor=VENDOR,
        app=api_name,
        job_id=state.new_job_id(VENDOR, lambda: f"{state.rng.getrandbits(4 * hex_chars):0{hex_chars}x}"),
        prompt=prompt,
        submitted_at=now,
        latency=config.latency_for(api_name),
        outcome=Outcome.FAILED if fire(state, VENDOR, "submit", "job_failure") else Outcome.SUCCESS,
        images=((images.width, images.height),) * images.count if api_name == "cogview" else (),
        image_bytes=config.image_bytes,
        params={"input": job_input, "key": fields["key"]},
    )
    job.urls_expire_at = math.ceil(job.done_at + (config.url_ttl[VENDOR] or 0))
    state.accept(job)
    body = {"message": "success", "result": result_body(request, state, job), "status": 0}
    return json_response(state, VENDOR, "submit", body)


async def submit_cogview(request: web.Request) -> web.Response:
    return await _submit(request, "cogview")


async def submit_news(request: web.Request) -> web.Response:
    return await _submit(request, "news_generate")


async def status(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.stats.vendors[VENDOR].polls += 1
    early = await before(state, VENDOR, "status")
    if early is not None:
        return early
    task_id = request.query.get("task_id")
    if not task_id:
        return _reject(state, "status", 400, "missing parameter: task_id", http=400)
    code = injected_code(state, VENDOR, "status")
    if code is not None:
        return json_response(state, VENDOR, "status", _envelope(code))
    job = state.jobs.get(VENDOR, task_id)
    if job is None:
        return _reject(state, "status", 404, "task not found", http=404)
    body = {"message": "success", "result": result_body(request, state, job), "status": 0}
    return json_response(state, VENDOR, "status", body)


async def download(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    info = request.match_info
    path = IMAGE_PATH.format(task=info["task"], ms=info["ms"], index=info["index"])
    signed, expires_at = check_expiring(request, state, path)
    return await serve_image(
        request, state, VENDOR, info["task"], int(info["index"]), signed=signed, expires_at=expires_at
    )


def routes() -> list[web.RouteDef]:
    table = []
    for base in ("", "/api"):
        table += [
            web.post(f"{base}/v1/cogview", submit_cogview),
            web.post(f"{base}/v1/news", submit_news),
            web.get(f"{base}/v1/status", status),
        ]
    table.append(web.get(r"/api/cogview/get-image/{task}/{ms:\d+}/{index:\d+}.png", download))
    return table


def connection(base_url: str, url_ttl: float | None) -> dict[str, Any]:
    return {
        "conn_type": "aigc_zhipu",
        "host": base_url,
        "extra": {
            "secret_app_key": CREDENTIALS["app_key"],
            "app_secret": CREDENTIALS["app_secret"],
            "secret_des3_key": CREDENTIALS["des3_key"],
            "queue": "queue1",
            "output_ttl_seconds": url_ttl,
        },
    }


PROFILE = SimVendor(
    name=VENDOR,
    latency={"cogview": 240.0, "news_generate": 2.0},
    kinds=("submit", "status", "download"),
    routes=routes,
    credentials=CREDENTIALS,
    connection=connection,
    faults={"submit": (*API_FAULTS, "job_failure")},
    fault_codes={"rate_limit": (10003,), "quota": (10004,)},
    url_ttl=86400.0,
    url_ttl_required=True,
)
