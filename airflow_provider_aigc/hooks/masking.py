"""Register credentials with Airflow's secrets masker, once per value and process.

Airflow masks a connection's password itself; API keys, derived Zhipu keys and Baidu access
tokens are ours to register. Each registration may message the supervisor, so a value is sent
once, not on every poll. Only digests are remembered here.
"""

from __future__ import annotations

import hashlib
import threading

from airflow.sdk.log import amask_secret, mask_secret

_registered: set[str] = set()
_lock = threading.Lock()


def _new(values: tuple[str | None, ...]) -> list[str]:
    """The values not registered yet, marked as registered."""
    fresh = []
    with _lock:
        for value in values:
            if not value:
                continue
            digest = hashlib.sha256(value.encode()).hexdigest()
            if digest not in _registered:
                _registered.add(digest)
                fresh.append(value)
    return fresh


def mask(*values: str | None) -> None:
    """Mask values in every log line of this process and the supervisor (sync code)."""
    for value in _new(values):
        mask_secret(value)


async def amask(*values: str | None) -> None:
    """Like ``mask`` from a running event loop, where the synchronous supervisor call could deadlock."""
    for value in _new(values):
        await amask_secret(value)
