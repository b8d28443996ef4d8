"""Fixtures for the hook tests: the scripted vendor, connections, recorded sleeps, logs, cleanup."""

from __future__ import annotations

import json
import logging
import random
import time
from typing import TYPE_CHECKING, Any

import pytest
import structlog

from airflow_provider_aigc.hooks import masking
from airflow_provider_aigc.hooks.session import close_sessions
from airflow_provider_aigc.hooks.tokens import TOKENS
from tests.unit.hooks.fakes import FakeVendor, Sleeps

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator

    from airflow_provider_aigc.hooks.base import AigcHook


@pytest.fixture
def vendor() -> Iterator[FakeVendor]:
    server = FakeVendor()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def connection(monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Define an Airflow connection through ``AIRFLOW_CONN_<ID>`` (JSON form); returns its id."""

    def define(conn_id: str, conn_type: str, **fields: Any) -> str:
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": conn_type, **fields}))
        return conn_id

    return define


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture(autouse=True)
def fresh_process_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with no cached token and an empty mask registry."""
    monkeypatch.setattr(masking, "_registered", set())
    TOKENS.clear()
    yield
    TOKENS.clear()


@pytest.fixture
async def aio_sessions() -> AsyncIterator[None]:
    """Close the test loop's shared aiohttp sessions when the test ends."""
    yield
    await close_sessions()


@pytest.fixture
def hook_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Route Airflow's structlog output through stdlib logging at DEBUG, so caplog sees every line."""
    saved = structlog.get_config()
    structlog.configure(
        processors=[structlog.stdlib.PositionalArgumentsFormatter(), structlog.stdlib.render_to_log_kwargs],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="airflow.task.hooks")
    try:
        yield caplog
    finally:
        structlog.configure(**saved)


@pytest.fixture
def make_hook(vendor: FakeVendor, connection: Callable[..., str], sleeps: Sleeps) -> Callable[..., Any]:
    """A hook of the given class on a connection to the scripted vendor; pauses are recorded."""

    def make(
        hook_class: type[AigcHook[Any]],
        *,
        login: str | None = None,
        password: str | None = None,
        clock: Callable[[], float] = time.time,
        **extra: Any,
    ) -> AigcHook[Any]:
        conn_id = connection(
            f"test_{hook_class.conn_type}",
            hook_class.conn_type,
            host=vendor.url,
            login=login,
            password=password,
            extra=extra,
        )
        return hook_class(conn_id, sleep=sleeps, async_sleep=sleeps.pause, clock=clock, rng=random.Random(0))

    return make
