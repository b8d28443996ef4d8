from __future__ import annotations

import pytest

from airflow_provider_aigc.archive.sniff import (
    AVIF,
    GIF,
    HEIC,
    JPEG,
    MP4,
    OCTET_STREAM,
    PNG,
    QUICKTIME,
    SNIFF_BYTES,
    WEBM,
    WEBP,
    MediaType,
    sniff,
)
from tests.unit.archive.origin import GIF_HEAD, JPEG_HEAD, MP4_HEAD, PNG_HEAD, WEBP_HEAD


@pytest.mark.parametrize(
    ("head", "media"),
    [
        (PNG_HEAD, PNG),
        (JPEG_HEAD, JPEG),
        (WEBP_HEAD, WEBP),
        (GIF_HEAD, GIF),
        (MP4_HEAD, MP4),
        (b"\x00\x00\x00\x20ftypmp42\x00\x00\x00\x00", MP4),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00", QUICKTIME),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00", AVIF),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", HEIC),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81", WEBM),
        (b"\x00\x00\x00\x18ftyp", OCTET_STREAM),
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
    media = (PNG, JPEG, WEBP, GIF, MP4, QUICKTIME, WEBM, AVIF, HEIC, OCTET_STREAM)
    assert [(m.content_type, m.extension) for m in media] == [
        ("image/png", "png"),
        ("image/jpeg", "jpg"),
        ("image/webp", "webp"),
        ("image/gif", "gif"),
        ("video/mp4", "mp4"),
        ("video/quicktime", "mov"),
        ("video/webm", "webm"),
        ("image/avif", "avif"),
        ("image/heic", "heic"),
        ("application/octet-stream", "bin"),
    ]
