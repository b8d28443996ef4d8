"""A file-like reader over a streamed HTTP body: size cap, sha256 and size, peeking, cancellation.

boto3's ``upload_fileobj`` reads it part by part, so only about one part is held here at a time.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from airflow_provider_aigc.exceptions import AigcInvalidRequestError, AigcServerError

if TYPE_CHECKING:
    import threading
    from collections.abc import Iterator


def oversize_error(what: str, limit: int) -> AigcInvalidRequestError:
    """The error for a body larger than the cap (declared up front or counted while streaming)."""
    return AigcInvalidRequestError(
        f"{what} is larger than its cap of {limit} bytes; nothing was stored. Raise max_object_bytes"
        " (images, covers, texts) or max_video_bytes (videos) if outputs this large are expected."
    )


class CappedBody:
    """Reads ``chunks`` on demand and refuses to pass more than ``limit`` bytes.

    ``read(n)`` returns exactly ``n`` bytes until the end of the body (boto3 sizes multipart
    parts by what ``read`` returns); ``sha256`` and ``size`` describe what was read so far.

    :param chunks: the body, in the order it arrives.
    :param limit: the most bytes the body may have.
    :param what: names the body in errors (e.g. "baidu output 2 of job 123").
    :param cancelled: when set, the next read fails, so a copy stops early once another one failed.
    """

    def __init__(
        self, chunks: Iterator[bytes], *, limit: int, what: str, cancelled: threading.Event | None = None
    ) -> None:
        self._chunks = chunks
        self._limit = limit
        self._what = what
        self._cancelled = cancelled
        self._buffer = bytearray()
        self._received = 0
        self._exhausted = False
        self._hash = hashlib.sha256()
        self.size = 0

    @property
    def sha256(self) -> str:
        """Hex sha256 of the bytes read so far (of the whole body once it is read to the end)."""
        return self._hash.hexdigest()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def peek(self, size: int) -> bytes:
        """Up to ``size`` leading bytes of what is left, without consuming them."""
        self._fill(size)
        return bytes(self._buffer[:size])

    def read(self, size: int | None = -1) -> bytes:
        """The next ``size`` bytes (all the rest when ``size`` is None or negative)."""
        wanted = None if size is None or size < 0 else size
        self._fill(wanted)
        count = len(self._buffer) if wanted is None else min(wanted, len(self._buffer))
        with memoryview(self._buffer) as view:
            data = bytes(view[:count])
        del self._buffer[:count]
        self._hash.update(data)
        self.size += count
        return data

    def _fill(self, wanted: int | None) -> None:
        """Pull chunks until ``wanted`` bytes are buffered or the body ends (None: until it ends)."""
        while not self._exhausted and (wanted is None or len(self._buffer) < wanted):
            if self._cancelled is not None and self._cancelled.is_set():
                raise AigcServerError(f"{self._what}: copy cancelled because another output failed")
            chunk = next(self._chunks, None)
            if chunk is None:
                self._exhausted = True
                return
            self._received += len(chunk)
            if self._received > self._limit:
                raise oversize_error(self._what, self._limit)
            self._buffer += chunk
