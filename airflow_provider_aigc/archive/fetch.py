"""Fetching output URLs over HTTP(S) under a ``UrlPolicy``, as streams.

Every URL, redirects included (followed by hand, at most ``MAX_REDIRECTS``), is parsed once by
the policy; the request goes to that parse's canonical URL, and before it is sent the transport
adapter's own connection key must name the checked host and port. Every new socket's peer address
is checked again once connected. Proxies and ``.netrc`` from the environment are ignored
(``trust_env = False``), so the checks apply to the origin itself and no stray credentials are
sent. Errors never quote a URL's query string.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from airflow_provider_aigc.archive.body import oversize_error
from airflow_provider_aigc.archive.output_url import DEFAULT_PORTS, OutputUrl
from airflow_provider_aigc.archive.redact import public_url, scrub
from airflow_provider_aigc.exceptions import (
    AigcInvalidRequestError,
    AigcOutputExpiredError,
    AigcServerError,
)

if TYPE_CHECKING:
    import socket
    from collections.abc import Iterator

    from airflow_provider_aigc.archive.url_policy import UrlPolicy

MAX_REDIRECTS = 5
CHUNK_BYTES = 64 * 1024
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# What an expired or revoked signed URL answers (BOS and most object stores say 403).
GONE_STATUSES = frozenset({403, 404, 410})
# Worth a task retry: the origin is overloaded or briefly unavailable.
TRANSIENT_STATUSES = frozenset({408, 425, 429})


def _guarded_pool_classes(policy: UrlPolicy) -> dict[str, type[HTTPConnectionPool]]:
    """urllib3 pool classes whose connections refuse a peer address the policy does not allow."""

    def checked(sock: socket.socket, host: str) -> socket.socket:
        try:
            policy.check_address(str(sock.getpeername()[0]), host)
        except BaseException:
            sock.close()
            raise
        return sock

    class GuardedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return checked(super()._new_conn(), self.host)

    class GuardedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return checked(super()._new_conn(), self.host)

    class GuardedHTTPConnectionPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTPConnection

    class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPSConnection

    return {"http": GuardedHTTPConnectionPool, "https": GuardedHTTPSConnectionPool}


class _GuardedAdapter(HTTPAdapter):
    """A requests transport adapter whose connection pools check every peer address."""

    def __init__(self, policy: UrlPolicy, pool_size: int) -> None:
        self._pool_classes = _guarded_pool_classes(policy)
        super().__init__(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **kwargs: Any) -> None:
        super().init_poolmanager(connections, maxsize, block, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pool_classes


class OutputFetcher:
    """Opens output URLs as streamed responses; one instance serves the concurrent copies of a job.

    :param policy: which URLs and addresses may be fetched.
    :param timeout: seconds to wait for a connection, and between bytes of an answer.
    :param pool_size: connections kept per host (the number of concurrent copies).
    """

    def __init__(self, policy: UrlPolicy, *, timeout: float, pool_size: int) -> None:
        self._policy = policy
        self._timeout = timeout
        self._session = requests.Session()
        self._session.trust_env = False
        self._adapter = _GuardedAdapter(policy, pool_size)
        self._session.mount("http://", self._adapter)
        self._session.mount("https://", self._adapter)

    def close(self) -> None:
        self._session.close()

    def open(self, url: str | OutputUrl, *, what: str, max_bytes: int, gone_hint: str) -> requests.Response:
        """A 2xx response for ``url`` with its body not yet read; the caller closes it.

        :param url: the output URL (with its signature; never shown), or its ``parse_output_url``.
        :param what: names the output in errors.
        :param max_bytes: a declared ``Content-Length`` above this is refused before reading.
        :param gone_hint: appended to the error when the URL answers 403/404/410.
        :raises AigcInvalidRequestError: the URL or a redirect is refused by the policy, the origin
            declares a body over ``max_bytes``, or it answers another 4xx.
        :raises AigcOutputExpiredError: the origin answers 403, 404 or 410.
        :raises AigcServerError: connection trouble, timeouts, 5xx, 408/429, a redirect loop.
        """
        response = self._follow_redirects(url, what)
        try:
            self._check_answer(response, what, max_bytes, gone_hint)
        except BaseException:
            response.close()
            raise
        return response

    def iter_body(
        self, response: requests.Response, what: str, chunk_bytes: int = CHUNK_BYTES
    ) -> Iterator[bytes]:
        """The response body in chunks of ``chunk_bytes`` (the last may be shorter).

        A broken or stalled stream becomes ``AigcServerError``.
        """
        try:
            yield from response.iter_content(chunk_bytes)
        except requests.RequestException as exc:
            raise AigcServerError(
                f"{what}: download from {public_url(response.url)} broke off: {scrub(str(exc))}"
            ) from None

    def _follow_redirects(self, url: str | OutputUrl, what: str) -> requests.Response:
        for _ in range(MAX_REDIRECTS + 1):
            target = self._policy.check_url(url)
            response = self._get(target, what)
            location = response.headers.get("Location")
            if response.status_code not in REDIRECT_STATUSES or location is None:
                return response
            response.close()
            url = urljoin(target.url, location)
        raise AigcServerError(f"{what}: more than {MAX_REDIRECTS} redirects, the last from {target.public}")

    def _get(self, target: OutputUrl, what: str) -> requests.Response:
        try:
            prepared = self._session.prepare_request(requests.Request("GET", target.url))
            self._check_connection_target(prepared, target)
            return self._session.send(prepared, stream=True, allow_redirects=False, timeout=self._timeout)
        except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema) as exc:
            raise AigcInvalidRequestError(
                f"{what}: cannot fetch {target.public}: {scrub(str(exc))}"
            ) from None
        except requests.RequestException as exc:
            raise AigcServerError(
                f"{what}: fetching {target.public} failed ({type(exc).__name__}): {scrub(str(exc))}"
            ) from None

    def _check_connection_target(self, prepared: requests.PreparedRequest, target: OutputUrl) -> None:
        """Refuse a request whose connection (the adapter's own pool key) is not the checked host."""
        params, _ = self._adapter.build_connection_pool_key_attributes(prepared, True)
        scheme = str(params["scheme"])
        connects_to = (scheme, params["host"], params["port"] or DEFAULT_PORTS.get(scheme))
        if connects_to != (target.scheme, target.host, target.effective_port):
            raise AigcInvalidRequestError(
                f"refusing to fetch {target.public}: the HTTP client would connect to "
                f"{connects_to[1]}:{connects_to[2]}, not to the checked {target.host}:{target.effective_port}"
            )

    @staticmethod
    def _check_answer(response: requests.Response, what: str, max_bytes: int, gone_hint: str) -> None:
        status = response.status_code
        shown = public_url(response.url)
        if status in GONE_STATUSES:
            raise AigcOutputExpiredError(f"{what}: {shown} answered HTTP {status}. {gone_hint}")
        if status >= 500 or status in TRANSIENT_STATUSES:
            raise AigcServerError(f"{what}: {shown} answered HTTP {status}; a task retry may succeed")
        if not 200 <= status < 300:
            raise AigcInvalidRequestError(f"{what}: {shown} answered HTTP {status}")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise oversize_error(f"{what} ({declared} bytes declared)", max_bytes)
