"""Serving the app on a socket: counted connections, a deep backlog, and a background-thread mode."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
from typing import TYPE_CHECKING, Any

from aiohttp import web

from airflow_provider_aigc.simulator.app import build_app
from airflow_provider_aigc.simulator.state import STATE

if TYPE_CHECKING:
    from airflow_provider_aigc.simulator.clock import Clock
    from airflow_provider_aigc.simulator.config import SimulatorConfig

BACKLOG = 4096  # thousands of clients may connect at once


class RunningServer:
    """A simulator listening on ``host:port``; ``close()`` stops it."""

    def __init__(self, runner: web.AppRunner, server: asyncio.Server, host: str) -> None:
        self._runner = runner
        self._server = server
        self.host = host
        self.port: int = server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def close(self) -> None:
        self._server.close()
        await self._runner.cleanup()
        await self._server.wait_closed()


async def serve(app: web.Application, host: str, port: int, *, access_log: bool = False) -> RunningServer:
    """Start serving ``app``; every accepted TCP connection is counted in the stats."""
    quiet: dict[str, Any] = {} if access_log else {"access_log": None}  # logging every poll costs
    runner = web.AppRunner(app, handle_signals=False, **quiet)
    await runner.setup()
    make_protocol = runner.server
    assert make_protocol is not None

    def accept() -> asyncio.BaseProtocol:
        app[STATE].stats.connections_opened += 1
        return make_protocol()

    server = await asyncio.get_running_loop().create_server(accept, host, port, backlog=BACKLOG)
    return RunningServer(runner, server, host)


class SimulatorHandle:
    """A simulator running on its own event loop in a daemon thread."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, thread: threading.Thread, server: RunningServer
    ) -> None:
        self._loop = loop
        self._thread = thread
        self.url = server.url
        self.port = server.port

    def stats(self) -> dict[str, Any]:
        return dict(self._call("GET", "/_sim/stats"))

    def configure(self, patch: dict[str, Any]) -> dict[str, Any]:
        """Merge ``patch`` into the running config (``POST /_sim/config``); returns the full config."""
        return dict(self._call("POST", "/_sim/config", patch))

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()

    def __enter__(self) -> SimulatorHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def run_in_background(
    host: str = "127.0.0.1", port: int = 0, config: SimulatorConfig | None = None, clock: Clock | None = None
) -> SimulatorHandle:
    """Start a simulator in a thread and return once it accepts connections (``port=0``: any free port)."""
    loop = asyncio.new_event_loop()
    app = build_app(config, clock)
    started: list[RunningServer | BaseException] = []
    ready = threading.Event()

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            server = loop.run_until_complete(serve(app, host, port))
        except BaseException as error:  # handed to the caller below
            started.append(error)
            ready.set()
            loop.close()
            return
        started.append(server)
        ready.set()
        loop.run_forever()
        loop.run_until_complete(server.close())
        loop.close()

    thread = threading.Thread(target=main, name="aigc-simulator", daemon=True)
    thread.start()
    ready.wait()
    result = started[0]
    if isinstance(result, BaseException):
        raise result
    return SimulatorHandle(loop, thread, result)
