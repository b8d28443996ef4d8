"""Baidu access tokens, cached in process memory only (never the metadata DB, XCom or logs).

A token lives 30 days; fetching one per call would waste a round trip and invite the token
endpoint's rate limits, so tokens are shared by every hook in the process, keyed by
(base URL, digest of the key pair). The hook makes each fetch single-flight per key
(``hooks.calls.alone``).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_provider_aigc.vendors.baidu import AccessToken

TokenKey = tuple[str, str]

# Refresh this long before the vendor's expiry, so a token never dies in the middle of a call.
REFRESH_MARGIN_SECONDS = 300.0


class TokenCache:
    """The current token per key."""

    def __init__(self, refresh_margin: float = REFRESH_MARGIN_SECONDS) -> None:
        self.refresh_margin = refresh_margin
        self._tokens: dict[TokenKey, AccessToken] = {}
        self._guard = threading.Lock()

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

    def clear(self) -> None:
        """Forget every token (tests, or after rotating keys in a long-lived process)."""
        with self._guard:
            self._tokens.clear()


TOKENS = TokenCache()
