"""A scriptable HTTP origin on 127.0.0.1 standing in for a vendor's image host.

Each path is given a ``Route``: fixed bytes, a generated body of any size streamed in small
chunks, an endless chunked body, a body cut off early, a redirect, or an error status. The
origin counts requests per path and the most requests it was serving at the same time.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Iterator

BLOCK = bytes(range(256)) * 256  # 64 KiB

PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
WEBP_HEAD = b"RIFF\x24\x00\x00\x00WEBPVP8 "
GIF_HEAD = b"GIF89a\x01\x00\x01\x00"
MP4_HEAD = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2avc1mp41"


def pattern(size: int) -> Iterator[bytes]:
    """A deterministic body of ``size`` bytes, in 64 KiB chunks."""
    whole, rest = divmod(size, len(BLOCK))
    for _ in range(whole):
        yield BLOCK
    if rest:
        yield BLOCK[:rest]


def pattern_sha256(size: int) -> str:
    digest = hashlib.sha256()
    for chunk in pattern(size):
        digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Route:
    """How the origin answers one path.

    :param body: fixed bytes to send (after ``head`` when both are given).
    :param head: bytes sent before a generated body of ``size`` bytes.
    :param size: length of a generated ``pattern`` body.
    :param endless: stream generated chunks (chunked encoding) until the client goes away.
    :param cut_after: declare the full length but close the connection after this many bytes.
    :param declared_length: a Content-Length to announce instead of the real one.
    :param delay: seconds to wait before answering (to make concurrent requests overlap).
    """

    status: int = 200
    body: bytes = b""
    head: bytes = b""
    size: int = 0
    endless: bool = False
    cut_after: int | None = None
    declared_length: int | None = None
    location: str | None = None
    content_type: str = "application/octet-stream"
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)

    def chunks(self) -> Iterator[bytes]:
        if self.head or self.body:
            yield self.head + self.body
        yield from pattern(self.size)

    def length(self) -> int:
        return len(self.head) + len(self.body) + self.size


class Origin:
    """A threaded HTTP server on 127.0.0.1 serving ``Route`` s by path (query strings ignored)."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def route(self, path: str, route: Route) -> str:
        """Serve ``route`` at ``path``; returns its URL with a fake signature in the query string."""
        self.routes[path] = route
        return self.url(path) + "?authorization=bce-auth-v1%2Fak%2Fsecret-signature"

    @property
    def total_hits(self) -> int:
        return sum(self.hits.values())

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _enter(self, path: str) -> None:
        with self._lock:
            self.hits[path] += 1
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        origin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                origin._enter(path)
                try:
                    self._answer(origin.routes.get(path, Route(status=404)))
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    origin._leave()

            def _answer(self, route: Route) -> None:
                time.sleep(route.delay)
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                if route.location is not None:
                    self.send_header("Location", route.location)
                if route.endless:
                    self._send_endless()
                    return
                length = route.length() if route.declared_length is None else route.declared_length
                self.send_header("Content-Length", str(length))
                if route.cut_after is not None:
                    self.send_header("Connection", "close")
                self.end_headers()
                sent = 0
                for chunk in route.chunks():
                    if route.cut_after is not None and sent + len(chunk) > route.cut_after:
                        self.wfile.write(chunk[: route.cut_after - sent])
                        self.wfile.flush()
                        self.close_connection = True
                        return
                    self.wfile.write(chunk)
                    sent += len(chunk)

            def _send_endless(self) -> None:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                while True:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(BLOCK), BLOCK))

        return Handler
