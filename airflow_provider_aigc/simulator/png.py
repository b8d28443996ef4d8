"""Real PNG images of any size, produced piece by piece so even a multi-GiB one costs no memory.

The picture is a two-colour checkerboard chosen by a seed (1-bit palette), so its pixel data
deflates to a few KiB whatever the resolution and costs about a millisecond to make. Bulk comes
from a private ancillary ``paDd`` chunk (decoders skip it) whose data and CRC are generated while
streaming.
"""

from __future__ import annotations

import functools
import hashlib
import struct
import zlib
from typing import TYPE_CHECKING

from airflow_provider_aigc.simulator.padding import padding

if TYPE_CHECKING:
    from collections.abc import Iterator

SIGNATURE = b"\x89PNG\r\n\x1a\n"
PAD_TYPE = b"paDd"
CHUNK_OVERHEAD = 12  # length + type + CRC
MAX_CHUNK_DATA = 2**31 - 1


def chunk(kind: bytes, data: bytes) -> bytes:
    """One complete PNG chunk."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@functools.lru_cache(maxsize=256)
def pixels(width: int, height: int, cell: int) -> bytes:
    """The IDAT chunk of a two-colour checkerboard (1 bit per pixel; shared by every seed)."""
    row_bytes = (width + 7) // 8
    bits = "".join("01"[(x // cell) % 2] for x in range(width)).ljust(8 * row_bytes, "0")
    row_a = b"\x00" + int(bits, 2).to_bytes(row_bytes, "big")  # filter byte 0, then the pixels
    row_b = b"\x00" + bytes(b ^ 0xFF for b in row_a[1:])
    deflate = zlib.compressobj(6)
    parts = [
        deflate.compress((row_a if (top // cell) % 2 == 0 else row_b) * min(cell, height - top))
        for top in range(0, height, cell)
    ]
    parts.append(deflate.flush())
    return chunk(b"IDAT", b"".join(parts))


def picture(width: int, height: int, seed: bytes) -> bytes:
    """Signature, IHDR, PLTE and IDAT: the seed picks the two colours and the cell size."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 3, 0, 0, 0)  # 1-bit palette, no interlace
    return (
        SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"PLTE", seed[0:6]) + pixels(width, height, 8 + seed[6] % 57)
    )


IEND = chunk(b"IEND", b"")


class PngImage:
    """A deterministic PNG for (seed, width, height), padded to ``target_size`` bytes when possible."""

    def __init__(self, width: int, height: int, seed: bytes, target_size: int = 0) -> None:
        self.seed = hashlib.sha256(seed).digest()
        self.head = picture(width, height, self.seed)
        natural = len(self.head) + len(IEND)
        self.pad = target_size - natural - CHUNK_OVERHEAD if target_size >= natural + CHUNK_OVERHEAD else None
        self.size = natural if self.pad is None else target_size

    def pieces(self) -> Iterator[bytes]:
        """The whole file in pieces of at most ``PIECE`` bytes (plus the small picture head)."""
        if self.pad is None:
            yield self.head + IEND
            return
        yield self.head + struct.pack(">I", self.pad) + PAD_TYPE
        crc = zlib.crc32(PAD_TYPE)
        for data in padding(self.seed, self.pad):
            crc = zlib.crc32(data, crc)
            yield data
        yield struct.pack(">I", crc) + IEND

    def endless(self) -> Iterator[bytes]:
        """A valid PNG start whose padding chunk never ends: for testing size caps."""
        yield self.head + struct.pack(">I", MAX_CHUNK_DATA) + PAD_TYPE
        yield from padding(self.seed, None)
