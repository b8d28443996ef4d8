"""What archive/ takes from urllib3 and boto3 beyond their documented API, held by tests.

The fetch's peer check overrides urllib3's ``HTTPConnection._new_conn`` (pyproject: urllib3<3)
because urllib3 has no public hook between opening the socket and the TLS handshake. The copier
sets ``max_in_memory_upload_chunks`` on boto3's ``TransferConfig``, which boto3's constructor
does not take but its documented s3transfer base class does.
"""

from __future__ import annotations

import inspect
import socket
import threading
from typing import TYPE_CHECKING, Any

import pytest
from boto3.s3.transfer import TransferConfig
from s3transfer.manager import TransferConfig as S3TransferConfig
from urllib3.connection import HTTPConnection, HTTPSConnection

from airflow_provider_aigc.archive.copier import IN_MEMORY_PARTS, transfer_config
from airflow_provider_aigc.archive.fetch import OutputFetcher
from airflow_provider_aigc.archive.url_policy import UrlPolicy
from airflow_provider_aigc.exceptions import AigcInvalidRequestError

if TYPE_CHECKING:
    from collections.abc import Iterator


class Listener:
    """A loopback TCP port that records every byte a client sends before closing."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.received = bytearray()
        self.accepted = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.server.accept()
        self.accepted.set()
        with conn:
            conn.settimeout(5)
            while chunk := conn.recv(4096):
                self.received += chunk

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


@pytest.fixture
def rebinding(monkeypatch: pytest.MonkeyPatch) -> None:
    """``rebind.test`` resolves to a public address for the policy's check, then to loopback."""
    answers = iter(["93.184.216.34"])
    real_getaddrinfo = socket.getaddrinfo

    def resolve(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        if host != "rebind.test":
            return real_getaddrinfo(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers, "127.0.0.1"), port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


def test_urllib3_still_opens_sockets_through_new_conn() -> None:
    assert callable(HTTPConnection._new_conn)
    assert HTTPSConnection._new_conn is HTTPConnection._new_conn


@pytest.mark.usefixtures("rebinding")
def test_a_refused_https_peer_gets_no_byte_not_even_a_tls_hello(listener: Listener) -> None:
    fetcher = OutputFetcher(UrlPolicy(), timeout=5.0, pool_size=1)
    try:
        with pytest.raises(AigcInvalidRequestError, match=r"'rebind.test'.*127\.0\.0\.1, a loopback address"):
            fetcher.open(
                f"https://rebind.test:{listener.port}/0.png", what="output 0", max_bytes=1024, gone_hint=""
            )
    finally:
        fetcher.close()
    assert listener.accepted.wait(5)
    listener.thread.join(5)
    assert bytes(listener.received) == b""


def test_the_in_memory_part_limit_is_an_s3transfer_setting_boto3_passes_on() -> None:
    config = transfer_config()
    assert isinstance(config, TransferConfig)
    assert isinstance(config, S3TransferConfig)
    assert "max_in_memory_upload_chunks" in inspect.signature(S3TransferConfig).parameters
    assert config.max_in_memory_upload_chunks == IN_MEMORY_PARTS
