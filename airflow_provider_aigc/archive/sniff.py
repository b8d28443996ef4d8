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
MP4 = MediaType("video/mp4", "mp4")
QUICKTIME = MediaType("video/quicktime", "mov")
WEBM = MediaType("video/webm", "webm")
AVIF = MediaType("image/avif", "avif")
HEIC = MediaType("image/heic", "heic")
OCTET_STREAM = MediaType("application/octet-stream", "bin")
TEXT = MediaType("text/plain; charset=utf-8", "txt")

# How many leading bytes ``sniff`` needs (WebP's "RIFF....WEBP" and an ISO-BMFF "....ftypBRND"
# are the longest signatures).
SNIFF_BYTES = 12

# ISO base media files (MP4 and its kin) open with an ``ftyp`` box whose major brand says which
# member of the family they are; the still-image brands (AVIF, HEIF) are not videos.
_FTYP_BRANDS = {b"qt  ": QUICKTIME, b"avif": AVIF, b"avis": AVIF, b"heic": HEIC, b"heix": HEIC, b"mif1": HEIC}


def sniff(head: bytes) -> MediaType:
    """The image or video type whose signature starts ``head``; ``OCTET_STREAM`` when none does."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[4:8] == b"ftyp" and len(head) >= SNIFF_BYTES:
        return _FTYP_BRANDS.get(head[8:12], MP4)
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return WEBM
    return OCTET_STREAM
