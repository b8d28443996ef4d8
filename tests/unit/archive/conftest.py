from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_aigc.archive.copier import ArchiveCopier
from airflow_provider_aigc.archive.url_policy import UrlPolicy

if TYPE_CHECKING:
    from collections.abc import Callable


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
