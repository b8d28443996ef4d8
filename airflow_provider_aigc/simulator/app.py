"""The aiohttp application: every vendor's routes plus ``/_sim``, over one shared state."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from airflow_provider_aigc.simulator import admin
from airflow_provider_aigc.simulator.config import SimulatorConfig
from airflow_provider_aigc.simulator.state import STATE, SimState
from airflow_provider_aigc.simulator.vendors import SIM_VENDORS

if TYPE_CHECKING:
    from airflow_provider_aigc.simulator.clock import Clock

MAX_REQUEST_BYTES = 16 * 1024 * 1024
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def count_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Counts every request, and the vendor requests still being answered (a ``slow`` one sleeps
    before its other faults are drawn: a test that reconfigures meanwhile must wait for it)."""
    state = request.app[STATE]
    state.stats.requests_total += 1
    if request.path.startswith("/_sim/"):
        return await handler(request)
    state.in_flight += 1
    try:
        return await handler(request)
    finally:
        state.in_flight -= 1


def build_app(config: SimulatorConfig | None = None, clock: Clock | None = None) -> web.Application:
    """A simulator application; serve it with ``serve`` or aiohttp's runners and test utilities."""
    # Request bodies carry base64 images (BigModel: 5 MB, Baidu: 10 MB); aiohttp's default is 1 MiB.
    app = web.Application(middlewares=[count_requests], client_max_size=MAX_REQUEST_BYTES)
    app[STATE] = SimState(config or SimulatorConfig(), clock)
    for routes in (*(profile.routes for profile in SIM_VENDORS), admin.routes):
        app.add_routes(routes())
    return app
