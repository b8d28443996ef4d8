"""``/_sim/*``: health, stats, configuration, reset and the clock, for tests and benchmarks."""

from __future__ import annotations

import functools
import json
import math
from typing import Any

from aiohttp import web

from airflow_provider_aigc.simulator.config import VENDORS
from airflow_provider_aigc.simulator.state import STATE

_dumps = functools.partial(json.dumps, ensure_ascii=False)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=_dumps)


async def _object(request: web.Request) -> dict[str, Any]:
    """The JSON object in the body (an empty body is ``{}``); 400 otherwise."""
    raw = await request.read()
    try:
        data = json.loads(raw) if raw.strip() else {}
    except ValueError as error:
        raise web.HTTPBadRequest(
            text=_dumps({"error": f"body is not JSON: {error}"}), content_type="application/json"
        ) from error
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(
            text=_dumps({"error": "body must be a JSON object"}), content_type="application/json"
        )
    return data


async def health(request: web.Request) -> web.Response:
    return _json({"status": "ok"})


async def stats(request: web.Request) -> web.Response:
    state = request.app[STATE]
    now = state.now()
    counters = state.stats.to_dict({vendor: state.jobs.active(vendor, now) for vendor in VENDORS})
    return _json({**counters, "requests_in_flight": state.in_flight})


async def get_config(request: web.Request) -> web.Response:
    return _json(request.app[STATE].config.to_dict())


async def post_config(request: web.Request) -> web.Response:
    patch = await _object(request)
    try:
        config = request.app[STATE].configure(patch)
    except ValueError as error:
        return _json({"error": str(error)}, status=400)
    return _json(config.to_dict())


async def reset(request: web.Request) -> web.Response:
    body = await _object(request)
    request.app[STATE].reset(config=bool(body.get("config", False)))
    return _json({"status": "ok"})


async def get_clock(request: web.Request) -> web.Response:
    return _json({"now": request.app[STATE].now()})


async def post_clock(request: web.Request) -> web.Response:
    seconds = (await _object(request)).get("advance")
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not 0 <= seconds < math.inf:
        return _json({"error": "advance must be a number of seconds >= 0"}, status=400)
    state = request.app[STATE]
    state.clock.advance(seconds)
    return _json({"now": state.now()})


def routes() -> list[web.RouteDef]:
    return [
        web.get("/_sim/health", health),
        web.get("/_sim/stats", stats),
        web.get("/_sim/config", get_config),
        web.post("/_sim/config", post_config),
        web.post("/_sim/reset", reset),
        web.get("/_sim/clock", get_clock),
        web.post("/_sim/clock", post_clock),
    ]
