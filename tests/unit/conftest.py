"""Fixtures shared by the archive step's unit tests (the copier and the operator)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest

from tests.unit.archive.origin import Origin

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def origin() -> Iterator[Origin]:
    """A loopback HTTP server standing in for a vendor's output host."""
    server = Origin()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def bucket(s3: Any) -> str:
    """A fresh bucket on the session's S3 endpoint."""
    return str(s3.make_bucket(f"archive-{uuid.uuid4().hex[:12]}"))
