"""Which credentials still need registering with Airflow's secrets masker, once per value and process.

Airflow masks a connection's password itself; API keys, derived Zhipu keys and Baidu access
tokens are ours to register. Each registration may message the supervisor, so a value is sent
once, not on every poll. Only digests are remembered here; the hook's drivers do the registering
(``mask_secret`` on a worker, ``amask_secret`` on an event loop, where the synchronous supervisor
call could deadlock).
"""

from __future__ import annotations

import hashlib
import threading

_registered: set[str] = set()
_lock = threading.Lock()


def unregistered(values: tuple[str | None, ...]) -> tuple[str, ...]:
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
    return tuple(fresh)
