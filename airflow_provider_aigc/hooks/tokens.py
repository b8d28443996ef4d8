"""Baidu access tokens, cached in process memory only (never the metadata DB, XCom or logs).

A token lives 30 days; fetching one per call would waste a round trip and invite the token
endpoint's rate limits, so tokens are shared by every hook in the process, keyed by
(base URL, API key). A fetch is single-flight per key: a thread lock for sync callers, an
asyncio lock per event loop for async ones, so neither kind blocks the other or the loop.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_provider_aigc.vendors.baidu import AccessToken

TokenKey = tuple[str, str]

# Refresh this long before the vendor's expiry, so a token never dies in the middle of a call.
REFRESH_MARGIN_SECONDS = 300.0


class TokenCache:
    """Current token per key, plus the locks that make each fetch single-flight."""

    def __init__(self, refresh_margin: float = REFRESH_MARGIN_SECONDS) -> None:
        self.refresh_margin = refresh_margin
        self._tokens: dict[TokenKey, AccessToken] = {}
        self._guard = threading.Lock()
        self._fetch_locks: dict[TokenKey, threading.Lock] = {}
        self._async_locks: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[TokenKey, asyncio.Lock]
        ] = weakref.WeakKeyDictionary()

    def valid(self, key: TokenKey, now: float) -> AccessToken | None:
        """The cached token when it still has more than the refresh margin to live."""
        with self._guard:
            token = self._tokens.get(key)
        return token if token is not None and token.expires_at - self.refresh_margin > now else None

    def store(self, key: TokenKey, token: AccessToken) -> None:
        with self._guard:
            self._tokens[key] = token

    def discard(self, key: TokenKey, token: AccessToken) -> None:
        """Forget ``token`` after the vendor rejected it, unless another caller already replaced it."""
        with self._guard:
            if self._tokens.get(key) == token:
                del self._tokens[key]

    def fetch_lock(self, key: TokenKey) -> threading.Lock:
        with self._guard:
            return self._fetch_locks.setdefault(key, threading.Lock())

    def async_fetch_lock(self, key: TokenKey) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        with self._guard:
            return self._async_locks.setdefault(loop, {}).setdefault(key, asyncio.Lock())

    def clear(self) -> None:
        """Forget every token (tests, or after rotating keys in a long-lived process)."""
        with self._guard:
            self._tokens.clear()


TOKENS = TokenCache()
