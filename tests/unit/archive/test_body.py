from __future__ import annotations

import hashlib
import itertools
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_aigc.archive.body import CappedBody
from airflow_provider_aigc.exceptions import AigcInvalidRequestError, AigcServerError


def body_of(
    chunks: list[bytes], limit: int = 1 << 30, cancelled: threading.Event | None = None
) -> CappedBody:
    return CappedBody(iter(chunks), limit=limit, what="baidu output 0 of job 1", cancelled=cancelled)


@given(
    chunks=st.lists(st.binary(max_size=50), max_size=20),
    sizes=st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=10),
)
def test_reads_are_exact_and_hash_the_whole_body(chunks: list[bytes], sizes: list[int]) -> None:
    whole = b"".join(chunks)
    body = body_of(chunks)
    parts = []
    for size in itertools.cycle(sizes):
        part = body.read(size)
        if not part:
            break
        assert len(part) == size or body.read(1) == b""
        parts.append(part)
    assert b"".join(parts) == whole
    assert body.size == len(whole)
    assert body.sha256 == hashlib.sha256(whole).hexdigest()


def test_peek_does_not_consume() -> None:
    body = body_of([b"\x89P", b"NG\r\n", b"\x1a\nrest"])
    assert body.peek(8) == b"\x89PNG\r\n\x1a\n"
    assert body.read(-1) == b"\x89PNG\r\n\x1a\nrest"
    assert body.sha256 == hashlib.sha256(b"\x89PNG\r\n\x1a\nrest").hexdigest()


def test_a_body_of_exactly_the_limit_passes() -> None:
    assert body_of([b"abc", b"de"], limit=5).read(None) == b"abcde"


def test_a_body_over_the_limit_is_refused_naming_the_cap() -> None:
    body = body_of([b"abc", b"def"], limit=5)
    with pytest.raises(AigcInvalidRequestError, match="larger than its cap of 5 bytes"):
        body.read(100)


def test_an_endless_body_stops_at_the_limit() -> None:
    body = CappedBody(itertools.repeat(b"x" * 1024), limit=10 * 1024, what="output")
    assert body.read(8 * 1024) == b"x" * 8 * 1024
    with pytest.raises(AigcInvalidRequestError, match="its cap of 10240 bytes"):
        body.read(4096)
    assert body.size == 8 * 1024


def test_a_cancelled_copy_stops_reading() -> None:
    cancelled = threading.Event()
    body = body_of([b"a", b"b", b"c"], cancelled=cancelled)
    assert body.read(1) == b"a"
    cancelled.set()
    with pytest.raises(AigcServerError, match="another output failed"):
        body.read(2)


def test_is_a_readable_stream_that_cannot_seek() -> None:
    body = body_of([])
    assert body.readable()
    assert not body.seekable()
    assert body.read(10) == b""
