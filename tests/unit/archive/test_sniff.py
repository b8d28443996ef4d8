from __future__ import annotations

import pytest

from airflow_provider_aigc.archive.sniff import (
    GIF,
    JPEG,
    OCTET_STREAM,
    PNG,
    SNIFF_BYTES,
    WEBP,
    MediaType,
    sniff,
)
from tests.unit.archive.origin import GIF_HEAD, JPEG_HEAD, PNG_HEAD, WEBP_HEAD


@pytest.mark.parametrize(
    ("head", "media"),
    [
        (PNG_HEAD, PNG),
        (JPEG_HEAD, JPEG),
        (WEBP_HEAD, WEBP),
        (GIF_HEAD, GIF),
        (b"GIF87a\x01\x00", GIF),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", OCTET_STREAM),
        (b"<html><body>", OCTET_STREAM),
        (b"\x89PNG", OCTET_STREAM),
        (b"", OCTET_STREAM),
    ],
)
def test_type_comes_from_the_magic_bytes(head: bytes, media: MediaType) -> None:
    assert sniff(head[:SNIFF_BYTES]) == media


def test_extensions_and_content_types() -> None:
    assert [(m.content_type, m.extension) for m in (PNG, JPEG, WEBP, GIF, OCTET_STREAM)] == [
        ("image/png", "png"),
        ("image/jpeg", "jpg"),
        ("image/webp", "webp"),
        ("image/gif", "gif"),
        ("application/octet-stream", "bin"),
    ]
