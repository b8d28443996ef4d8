"""A reverse proxy on loopback between the hooks and the simulator: the vendor's API gateway.

It forwards every request to the simulator (so a submit really buys a job there) and can then
replace the answer, as a gateway does when the backend is slow or breaks after accepting
(502/504 HTML pages, a 5xx JSON without the vendor's envelope), or add headers to it (a
``Retry-After`` on the vendor's rate-limit answers).
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Iterator


@dataclass(frozen=True)
class Answer:
    """What the gateway says instead of the simulator's answer."""

    status: int
    body: bytes
    content_type: str = "text/html"


class Gateway:
    """Forward to ``upstream``; ``replace[path]`` swaps the answer, ``headers`` are added to all."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.replace: dict[str, Answer] = {}
        self.headers: dict[str, str] = {}
        self.forwarded: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> Gateway:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _forward(
        self, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes, str]:
        request = urllib.request.Request(self.upstream + path, data=body or None, method=method)
        for name, value in headers.items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read(), response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            return error.code, error.read(), error.headers.get("Content-Type", "")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                # What the vendors read passes through: header credentials (Bearer keys) and
                # their own headers (DashScope's X-DashScope-Async).
                passed = {
                    name: value
                    for name, value in self.headers.items()
                    if name.lower() in ("content-type", "authorization") or name.lower().startswith("x-")
                }
                status, answer, content_type = gateway._forward(self.command, self.path, body, passed)
                path = urlsplit(self.path).path
                gateway.forwarded.append(path)
                # A key ending in "/" stands for every path under it (status paths carry the job id).
                replacement = next(
                    (
                        answer
                        for key, answer in gateway.replace.items()
                        if path == key or (key.endswith("/") and path.startswith(key))
                    ),
                    None,
                )
                if replacement is not None:
                    status, answer, content_type = (
                        replacement.status,
                        replacement.body,
                        replacement.content_type,
                    )
                self.send_response(status)
                self.send_header("Content-Type", content_type or "application/octet-stream")
                self.send_header("Content-Length", str(len(answer)))
                for name, value in gateway.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = _relay

        return Handler


def gateway_for(upstream: str) -> Iterator[Gateway]:
    """A running gateway in front of ``upstream`` (use as a fixture body)."""
    with Gateway(upstream) as gateway:
        yield gateway
