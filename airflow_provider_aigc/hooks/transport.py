"""Carry a vendor ``HttpRequest`` over requests (sync) or aiohttp (async) and hand back an ``HttpResponse``.

No retries and no redirects here: retries are the hook's decision (a resent submit can buy a
job twice), and a redirect would carry an access token in the query string to another host.
A call that gets no HTTP answer raises ``RequestFailed``, which says whether the request may
have reached the vendor; its message never holds a credential (the URL's secret values are
redacted).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

import requests
import urllib3.exceptions

from airflow_provider_aigc import __version__
from airflow_provider_aigc.vendors.base import HttpRequest, HttpResponse

USER_AGENT = f"airflow-provider-aigc/{__version__}"
REDACTED = "***"
# Vendor API answers are small JSON documents; a larger body (a wrong host, a misbehaving proxy)
# is refused instead of being held whole in a worker's or the shared triggerer's memory.
MAX_RESPONSE_BYTES = 4 * 1024 * 1024
_CHUNK_BYTES = 64 * 1024

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    import aiohttp
    from multidict import CIMultiDictProxy


class RequestFailed(Exception):
    """No HTTP answer. ``sent`` is False only when the request provably never left (connect phase)."""

    def __init__(self, reason: str, *, sent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.sent = sent


def _secret_values(request: HttpRequest) -> Iterator[str]:
    for fields in (request.params, request.json or {}, request.form or {}, request.headers):
        for name, value in fields.items():
            if name in request.secret_fields and value:
                yield str(value)
                # A header's credential follows its scheme ("Bearer <token>").
                yield from str(value).split()[1:]


def redact(text: str, request: HttpRequest) -> str:
    """``text`` with every credential value of ``request`` replaced, also as URL-encoded in a query."""
    forms = {form for value in _secret_values(request) for form in (value, quote_plus(value), quote(value))}
    for value in sorted(forms, key=len, reverse=True):
        text = text.replace(value, REDACTED)
    return text


def describe(request: HttpRequest) -> str:
    """``METHOD /path?query`` for a log line, credentials redacted."""
    query = "&".join(
        f"{name}={REDACTED if name in request.secret_fields else value}"
        for name, value in request.params.items()
    )
    return f"{request.method} {request.path}{'?' + query if query else ''}"


def _reason(exc: BaseException, request: HttpRequest) -> str:
    """The failure in one line. urllib3's wrapper names the URL (query and all), so its cause is used."""
    cause = exc.args[0] if exc.args else None
    if isinstance(cause, urllib3.exceptions.MaxRetryError) and cause.reason is not None:
        exc = cause.reason
    detail = str(exc).strip()
    return redact(f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__, request)


def _body_kwargs(request: HttpRequest) -> dict[str, Any]:
    if request.json is not None:
        return {"json": dict(request.json)}
    if request.form is not None:
        return {"data": dict(request.form)}
    return {}


def new_session() -> requests.Session:
    """A session for one hook instance (keep-alive across its calls)."""
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    return session


def _not_sent(exc: requests.RequestException) -> bool:
    """Whether requests failed before the request was written (connect, DNS, TLS handshake)."""
    if isinstance(exc, (requests.ConnectTimeout, requests.exceptions.SSLError)):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ConnectionError) and isinstance(
        reason, urllib3.exceptions.ConnectTimeoutError
    )


def _headers(headers: Mapping[str, str] | CIMultiDictProxy[str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _check_size(body: bytearray) -> None:
    """Stop reading an answer larger than ``MAX_RESPONSE_BYTES`` (it was sent: the request arrived)."""
    if len(body) > MAX_RESPONSE_BYTES:
        raise RequestFailed(f"the answer is larger than {MAX_RESPONSE_BYTES} bytes", sent=True)


def send(session: requests.Session, base_url: str, request: HttpRequest, timeout: float) -> HttpResponse:
    """One HTTP exchange over requests. The adapter's default ``max_retries=0`` keeps urllib3 from
    resending anything by itself."""
    try:
        response = session.request(
            request.method,
            base_url + request.path,
            params=dict(request.params),
            timeout=timeout,
            allow_redirects=False,
            stream=True,
            headers=dict(request.headers),
            **_body_kwargs(request),
        )
        with response:
            body = bytearray()
            for chunk in response.iter_content(_CHUNK_BYTES):
                body += chunk
                _check_size(body)
    except requests.RequestException as exc:
        raise RequestFailed(_reason(exc, request), sent=not _not_sent(exc)) from None
    return HttpResponse(response.status_code, bytes(body), _headers(response.headers))


async def asend(
    session: aiohttp.ClientSession, base_url: str, request: HttpRequest, timeout: float
) -> HttpResponse:
    """One HTTP exchange over aiohttp, bounded by an explicit client timeout."""
    import aiohttp  # the triggerer's client, imported at its first call: DAG parsing never needs it

    client_timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=timeout)
    try:
        async with session.request(
            request.method,
            base_url + request.path,
            params=dict(request.params),
            timeout=client_timeout,
            allow_redirects=False,
            headers=dict(request.headers),
            **_body_kwargs(request),
        ) as response:
            body = bytearray()
            async for chunk in response.content.iter_chunked(_CHUNK_BYTES):
                body += chunk
                _check_size(body)
            return HttpResponse(response.status, bytes(body), _headers(response.headers))
    except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
        raise RequestFailed(_reason(exc, request), sent=False) from None
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        raise RequestFailed(_reason(exc, request), sent=True) from None
