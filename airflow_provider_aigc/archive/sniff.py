"""Content type and file extension from an object's first bytes, not from the origin's headers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MediaType:
    """What an archived object is: its ``Content-Type`` and the extension of its key."""

    content_type: str
    extension: str


PNG = MediaType("image/png", "png")
JPEG = MediaType("image/jpeg", "jpg")
GIF = MediaType("image/gif", "gif")
WEBP = MediaType("image/webp", "webp")
OCTET_STREAM = MediaType("application/octet-stream", "bin")
TEXT = MediaType("text/plain; charset=utf-8", "txt")

# How many leading bytes ``sniff`` needs (WebP's "RIFF....WEBP" is the longest signature).
SNIFF_BYTES = 12


def sniff(head: bytes) -> MediaType:
    """The image type whose signature starts ``head``; ``OCTET_STREAM`` when none does."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    return OCTET_STREAM
