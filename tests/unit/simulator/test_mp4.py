"""The simulator's MP4: an ISO base media file whose boxes add up, whose sample table points at its
H.264 samples, and which pads to any size without changing the movie."""

from __future__ import annotations

import struct

import pytest

from airflow_provider_aigc.archive.sniff import MP4, SNIFF_BYTES, sniff
from airflow_provider_aigc.simulator.mp4 import Mp4Video


def boxes(data: bytes, start: int = 0, end: int | None = None) -> dict[bytes, tuple[int, int]]:
    """Box type -> (payload start, payload end), for the boxes between ``start`` and ``end``."""
    found: dict[bytes, tuple[int, int]] = {}
    end = len(data) if end is None else end
    while start < end:
        size, kind = struct.unpack(">I4s", data[start : start + 8])
        assert size >= 8, kind
        assert start + size <= end, kind
        found[kind] = (start + 8, start + size)
        start += size
    assert start == end
    return found


def payload(data: bytes, *path: bytes) -> bytes:
    start, end = 0, len(data)
    for kind in path:
        start, end = boxes(data, start, end)[kind]
    return data[start:end]


def test_the_movie_is_a_well_formed_mp4_with_h264_samples() -> None:
    data = b"".join(Mp4Video(b"seed").pieces())
    assert sniff(data[:SNIFF_BYTES]) == MP4
    assert list(boxes(data)) == [b"ftyp", b"moov", b"mdat"]
    stbl = (b"moov", b"trak", b"mdia", b"minf", b"stbl")
    stsz = payload(data, *stbl, b"stsz")
    _, _, count = struct.unpack(">III", stsz[:12])
    sizes = struct.unpack(f">{count}I", stsz[12:])
    (offset,) = struct.unpack(">I", payload(data, *stbl, b"stco")[8:12])
    assert offset == boxes(data)[b"mdat"][0]
    for size in sizes:  # each sample: a 4-byte NAL length, then an IDR slice (nal_unit_type 5)
        (nal_length,) = struct.unpack(">I", data[offset : offset + 4])
        assert nal_length == size - 4
        assert data[offset + 4] & 0x1F == 5
        offset += size
    assert offset == len(data)
    stsd = payload(data, *stbl, b"stsd")
    assert stsd[12:16] == b"avc1"
    width, height = struct.unpack(">HH", stsd[16 + 24 : 16 + 28])
    assert (width, height, count) == (48, 32, 12)


@pytest.mark.parametrize("size", [200_000, 3 * 1024 * 1024 + 7])
def test_padding_reaches_the_size_asked_for_and_keeps_the_movie(size: int) -> None:
    plain = b"".join(Mp4Video(b"seed").pieces())
    video = Mp4Video(b"seed", size)
    data = b"".join(video.pieces())
    assert len(data) == video.size == size
    assert data.startswith(plain)
    assert list(boxes(data)) == [b"ftyp", b"moov", b"mdat", b"free"]


def test_a_size_below_the_movie_gives_the_movie() -> None:
    video = Mp4Video(b"seed", 10)
    assert video.size == len(b"".join(video.pieces())) == len(Mp4Video(b"seed").head)


def test_seeds_give_different_videos() -> None:
    assert Mp4Video(b"a").head != Mp4Video(b"b").head
