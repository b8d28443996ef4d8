from __future__ import annotations

import itertools

import pytest

from airflow_provider_aigc.simulator.padding import PIECE
from airflow_provider_aigc.simulator.png import PngImage
from tests.unit.simulator.helpers import parse_png


@pytest.mark.parametrize(("width", "height"), [(1024, 1024), (1, 1), (9, 3), (2560, 1440), (640, 360)])
def test_natural_png_is_valid_at_the_requested_size(width: int, height: int) -> None:
    image = PngImage(width, height, b"job:0")
    data = b"".join(image.pieces())

    png = parse_png(data)

    assert (png.width, png.height) == (width, height)
    assert len(data) == image.size
    assert [kind for kind, _ in png.chunks] == [b"IHDR", b"PLTE", b"IDAT", b"IEND"]
    assert len(png.pixels) == height * (1 + (width + 7) // 8)  # 1-bit rows, each with a filter byte


def test_padding_reaches_exactly_the_configured_size_with_a_private_ancillary_chunk() -> None:
    image = PngImage(1024, 1024, b"job:1", target_size=5 * PIECE + 123)
    data = b"".join(image.pieces())

    png = parse_png(data)

    assert len(data) == image.size == 5 * PIECE + 123
    kinds = [kind for kind, _ in png.chunks]
    assert kinds == [b"IHDR", b"PLTE", b"IDAT", b"paDd", b"IEND"]
    assert b"paDd"[0:1].islower()
    assert b"paDd"[1:2].islower()


def test_sizes_too_small_to_pad_serve_the_natural_png() -> None:
    natural = PngImage(64, 64, b"s").size

    assert PngImage(64, 64, b"s", target_size=natural + 11).size == natural
    assert PngImage(64, 64, b"s", target_size=natural + 12).size == natural + 12


def test_images_are_deterministic_per_seed_and_differ_between_seeds() -> None:
    first = b"".join(PngImage(300, 200, b"job:0", 10_000).pieces())

    assert b"".join(PngImage(300, 200, b"job:0", 10_000).pieces()) == first
    assert b"".join(PngImage(300, 200, b"job:1", 10_000).pieces()) != first


def test_a_huge_image_is_produced_in_bounded_pieces() -> None:
    image = PngImage(1024, 1024, b"big", target_size=256 * 2**20)

    sizes = [len(piece) for piece in image.pieces()]

    assert sum(sizes) == 256 * 2**20
    assert max(sizes) <= PIECE + len(image.head) + 8


def test_endless_stream_keeps_going_after_a_valid_start() -> None:
    image = PngImage(32, 32, b"forever")

    pieces = list(itertools.islice(image.endless(), 50))

    assert pieces[0].startswith(image.head)
    assert sum(map(len, pieces)) > 40 * PIECE
