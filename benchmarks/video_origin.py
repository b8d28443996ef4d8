"""A loopback origin serving an mp4 of any size as ``video/mp4``: the archive benchmark's video.

``python -m benchmarks.video_origin PORT``; ``GET /video.mp4?bytes=N`` answers N bytes: an
``ftyp`` box, then one ``mdat`` box of filler, with ``Content-Length``. The body is written in
1 MiB blocks of one prebuilt buffer, so the origin costs little CPU next to the copies measured.
The simulator's own videos belong to the vendor work (``bigmodel``); this needs none of it.
"""

from __future__ import annotations

import struct
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

BLOCK = 1024 * 1024
FTYP = struct.pack(">I", 24) + b"ftypisom" + struct.pack(">I", 512) + b"isomavc1"
_FILLER = bytes(range(256)) * (BLOCK // 256)


def mp4_pieces(size: int) -> list[memoryview]:
    """The pieces of an mp4 of ``size`` bytes (at least the two box headers)."""
    mdat = size - len(FTYP)
    head = FTYP + struct.pack(">I", mdat) + b"mdat"
    pieces = [memoryview(head)]
    left = size - len(head)
    view = memoryview(_FILLER)
    while left > 0:
        pieces.append(view[: min(left, BLOCK)])
        left -= BLOCK
    return pieces


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        size = max(int(query.get("bytes", ["1048576"])[0]), 64)
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        for piece in mp4_pieces(size):
            self.wfile.write(piece)

    def log_message(self, format: str, *args: object) -> None:
        del format, args


def main(port: int) -> None:
    ThreadingHTTPServer(("127.0.0.1", port), _Handler).serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]))
