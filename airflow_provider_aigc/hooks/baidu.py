"""``BaiduHook``: Baidu ERNIE-ViLG v2 (文心一格, ``txt2imgv2``)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from airflow_provider_aigc.exceptions import AigcAuthError, AigcError
from airflow_provider_aigc.hooks.base import AigcHook
from airflow_provider_aigc.hooks.calls import Alone, mask
from airflow_provider_aigc.hooks.tokens import TOKENS, TokenKey
from airflow_provider_aigc.vendors import baidu
from airflow_provider_aigc.vendors.baidu import AccessToken

if TYPE_CHECKING:
    from airflow_provider_aigc.hooks.calls import Call
    from airflow_provider_aigc.hooks.connection import ConnectionSettings
    from airflow_provider_aigc.vendors.base import HttpResponse


class BaiduHook(AigcHook[AccessToken]):
    """Baidu ERNIE-ViLG: login = API Key, password = Secret Key.

    The OAuth access token is cached in process memory (``hooks.tokens``) and refreshed five
    minutes before it expires; when Baidu rejects it anyway (error 110/111) the hook fetches a
    new one and repeats the call once.
    """

    spec = baidu.SPEC

    def test_connection(self) -> tuple[bool, str]:
        """Fetches a fresh access token: the cheapest call that proves the keys work."""
        try:
            token = self._run(self._fetch_token())
        except AigcError as error:
            return False, error.message
        until = datetime.fromtimestamp(token.expires_at, tz=timezone.utc).isoformat(timespec="seconds")
        return True, f"Baidu issued an access token for these keys (valid until {until})."

    def _credentials(self, settings: ConnectionSettings, app: str) -> Call[AccessToken]:
        """The cached token, else one fetch per key at a time (the rest wait, then reuse it)."""
        key = self._token_key(settings)
        token = TOKENS.valid(key, self._clock())
        if token is None:
            token = yield Alone(key, self._cached_or_fetched(key))
        return token

    def _cached_or_fetched(self, key: TokenKey) -> Call[AccessToken]:
        return TOKENS.valid(key, self._clock()) or (yield from self._fetch_token())

    def _fetch_token(self) -> Call[AccessToken]:
        settings = yield from self._settings()
        api_key, secret_key = self._keys(settings)
        token = yield from self._exchange(
            settings,
            lambda: baidu.build_token_request(api_key, secret_key),
            self._parse_token,
            resend_safe=True,
        )
        yield from mask(token.value)
        TOKENS.store(self._token_key(settings), token)
        self.log.info("Fetched a Baidu access token (expires in %.0f s)", token.expires_at - self._clock())
        return token

    def _parse_token(self, response: HttpResponse) -> AccessToken:
        return baidu.parse_token(response, self._clock())

    def _renew(self, settings: ConnectionSettings, credentials: AccessToken, error: AigcAuthError) -> bool:
        if error.code not in baidu.TOKEN_ERROR_CODES:
            return False
        TOKENS.discard(self._token_key(settings), credentials)
        return True

    def _secrets(self, credentials: AccessToken) -> tuple[str, ...]:
        return (credentials.value,)

    def _keys(self, settings: ConnectionSettings) -> tuple[str, str]:
        if not (settings.login and settings.password):
            raise AigcAuthError(
                f"connection {settings.conn_id!r} has no Baidu credentials: set login to the API Key"
                " and password to the Secret Key",
                vendor=baidu.VENDOR,
            )
        return settings.login, settings.password

    def _token_key(self, settings: ConnectionSettings) -> TokenKey:
        """Cache key: a token is only reused by a connection holding the same API Key *and* Secret Key."""
        api_key, secret_key = self._keys(settings)
        secret_digest = hashlib.sha256(f"{api_key}\0{secret_key}".encode()).hexdigest()
        return (settings.base_url, secret_digest)
