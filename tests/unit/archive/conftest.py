from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_aigc.archive.copier import ArchiveCopier
from airflow_provider_aigc.archive.url_policy import UrlPolicy
from tests.unit.archive.origin import Origin

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


@pytest.fixture
def origin() -> Iterator[Origin]:
    server = Origin()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def bucket(s3: Any) -> str:
    return str(s3.make_bucket(f"archive-{uuid.uuid4().hex[:12]}"))


@pytest.fixture
def make_copier(s3: Any, bucket: str) -> Callable[..., ArchiveCopier]:
    """An ArchiveCopier on the test bucket that may fetch from loopback unless told otherwise."""

    def make(**overrides: Any) -> ArchiveCopier:
        settings: dict[str, Any] = {
            "bucket": bucket,
            "prefix": "runs/2024-01-01",
            "policy": UrlPolicy(allow_private=True),
            "timeout": 10.0,
            **overrides,
        }
        return ArchiveCopier(s3.client, **settings)

    return make
