"""One aiohttp ``ClientSession`` per (event loop, origin), shared by every async hook call.

A trigger polls for minutes; a session (and TLS handshake) per poll is the anti-pattern this
avoids. Sessions belong to the loop that created them, so the registry is keyed by the running
loop (weakly: a finished loop takes its entry with it) and by ``scheme://host:port``.
"""

from __future__ import annotations

import asyncio
import threading
import urllib.request
import weakref
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from urllib.request import getproxies_environment

import aiohttp

from airflow_provider_aigc.hooks.connection import origin
from airflow_provider_aigc.hooks.transport import USER_AGENT

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

_sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, aiohttp.ClientSession]] = (
    weakref.WeakKeyDictionary()
)
_leases: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, int] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def session_for(base_url: str) -> aiohttp.ClientSession:
    """The running loop's session for ``base_url``'s origin, created on first use or after a close."""
    loop = asyncio.get_running_loop()
    key = origin(base_url)
    with _lock:
        sessions = _sessions.setdefault(loop, {})
        session = sessions.get(key)
        if session is None or session.closed:
            # Proxy settings are read once per session, not per request: aiohttp's trust_env would
            # look up ~/.netrc through a thread hop on every poll (2x the CPU per poll).
            session = aiohttp.ClientSession(
                headers={"User-Agent": USER_AGENT}, proxy=proxy_for(base_url), trust_env=False
            )
            sessions[key] = session
        return session


def proxy_for(base_url: str) -> str | None:
    """The proxy the environment names for ``base_url`` (HTTP(S)_PROXY / NO_PROXY), as requests does."""
    parts = urlsplit(base_url)
    # proxy_bypass_environment is public on every platform but missing from typeshed's stubs.
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    if parts.hostname and bypass(parts.hostname):
        return None
    return getproxies_environment().get(parts.scheme)


async def close_sessions() -> None:
    """Close the running loop's sessions (at shutdown, or at the end of a test)."""
    with _lock:
        sessions = _sessions.pop(asyncio.get_running_loop(), {})
    await asyncio.gather(*(session.close() for session in sessions.values()))


@asynccontextmanager
async def session_lease() -> AsyncIterator[None]:
    """Hold the running loop's sessions open while a long-lived user (a trigger) needs them.

    When the last lease on a loop ends, its sessions are closed: a triggerer keeps sharing them
    while any trigger runs, and a short-lived loop (``airflow dags test`` runs each trigger in one)
    does not leak an unclosed session.
    """
    loop = asyncio.get_running_loop()
    with _lock:
        _leases[loop] = _leases.get(loop, 0) + 1
    try:
        yield
    finally:
        with _lock:
            remaining = _leases[loop] = _leases[loop] - 1
        if remaining == 0:
            await close_sessions()
