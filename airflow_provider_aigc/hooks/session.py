"""One aiohttp ``ClientSession`` per (event loop, origin), shared by every async hook call.

A trigger polls for minutes; a session (and TLS handshake) per poll is the anti-pattern this
avoids. Sessions belong to the loop that created them, so the registry is keyed by the running
loop (weakly: a finished loop takes its entry with it) and by ``scheme://host:port``.
"""

from __future__ import annotations

import asyncio
import threading
import weakref

import aiohttp

from airflow_provider_aigc.hooks.connection import origin
from airflow_provider_aigc.hooks.transport import USER_AGENT

_sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, aiohttp.ClientSession]] = (
    weakref.WeakKeyDictionary()
)
_lock = threading.Lock()


def session_for(base_url: str) -> aiohttp.ClientSession:
    """The running loop's session for ``base_url``'s origin, created on first use or after a close."""
    loop = asyncio.get_running_loop()
    key = origin(base_url)
    with _lock:
        sessions = _sessions.setdefault(loop, {})
        session = sessions.get(key)
        if session is None or session.closed:
            # trust_env: honour HTTP(S)_PROXY / NO_PROXY as requests does on the sync path.
            session = aiohttp.ClientSession(headers={"User-Agent": USER_AGENT}, trust_env=True)
            sessions[key] = session
        return session


async def close_sessions() -> None:
    """Close the running loop's sessions (at shutdown, or at the end of a test)."""
    with _lock:
        sessions = _sessions.pop(asyncio.get_running_loop(), {})
    await asyncio.gather(*(session.close() for session in sessions.values()))
