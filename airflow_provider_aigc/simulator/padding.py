"""Bulk bytes for generated files (PNG ancillary chunks, MP4 ``free`` boxes): the seed repeated."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

PIECE = 256 * 1024


def padding(seed: bytes, total: int | None) -> Iterator[bytes]:
    """``total`` bytes (None: without end) in pieces of at most ``PIECE`` bytes."""
    block = (seed * (PIECE // len(seed) + 1))[:PIECE]
    remaining = total
    while remaining is None or remaining > 0:
        piece = block if remaining is None or remaining >= PIECE else block[:remaining]
        if remaining is not None:
            remaining -= len(piece)
        yield piece
