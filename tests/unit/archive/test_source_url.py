"""The manifest's source_url names the origin the archive actually fetched from."""

from __future__ import annotations

import json
import socket
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_aigc.archive.url_policy import UrlPolicy
from airflow_provider_aigc.exceptions import AigcInvalidRequestError
from tests.unit.archive.jobs import image, succeeded
from tests.unit.archive.origin import PNG_HEAD, Origin, Route

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_aigc.archive.copier import ArchiveCopier


@pytest.fixture
def allowed_example(monkeypatch: pytest.MonkeyPatch) -> UrlPolicy:
    """``allowed.example`` resolves to the origin (loopback); the policy allows only that name."""
    real_getaddrinfo = socket.getaddrinfo

    def resolve(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        return real_getaddrinfo(
            "127.0.0.1" if host.rstrip(".") == "allowed.example" else host, port, *args, **kwargs
        )

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return UrlPolicy(allowed_hosts=("allowed.example",), allow_private=True)


def test_source_url_is_the_url_as_fetched(
    origin: Origin,
    s3: Any,
    bucket: str,
    make_copier: Callable[..., ArchiveCopier],
    allowed_example: UrlPolicy,
) -> None:
    origin.route("/0.png", Route(body=PNG_HEAD))
    url = f"HTTP://Allowed.EXAMPLE.:{origin.port}/v1/../0.png?authorization=secret-signature#frag"
    result = make_copier(policy=allowed_example).archive(succeeded(image(0, url)))
    expected = f"http://allowed.example.:{origin.port}/0.png"
    assert result.objects[0].source_url == expected
    body = s3.client.get_object(Bucket=bucket, Key=result.manifest_key)["Body"].read().decode()
    assert json.loads(body)["objects"][0]["source_url"] == expected
    assert "secret-signature" not in body
    assert origin.hits["/0.png"] == 1


def test_a_url_the_client_would_send_elsewhere_is_neither_fetched_nor_recorded(
    origin: Origin,
    s3: Any,
    bucket: str,
    make_copier: Callable[..., ArchiveCopier],
    allowed_example: UrlPolicy,
) -> None:
    """urlsplit reads host allowed.example; requests would connect to 127.0.0.1 (the origin)."""
    origin.route("/0.png", Route(body=PNG_HEAD))
    url = f"http://127.0.0.1:{origin.port}\\@allowed.example/0.png?authorization=secret-signature"
    with pytest.raises(AigcInvalidRequestError, match="backslash"):
        make_copier(policy=allowed_example).archive(succeeded(image(0, url)))
    assert origin.total_hits == 0
    assert s3.client.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0
