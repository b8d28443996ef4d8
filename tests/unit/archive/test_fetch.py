from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

import pytest
from requests.adapters import HTTPAdapter

from airflow_provider_aigc.archive.fetch import MAX_REDIRECTS, OutputFetcher
from airflow_provider_aigc.archive.url_policy import UrlPolicy
from airflow_provider_aigc.exceptions import (
    AigcError,
    AigcInvalidRequestError,
    AigcOutputExpiredError,
    AigcServerError,
)
from tests.unit.archive.origin import PNG_HEAD, Origin, Route

if TYPE_CHECKING:
    from collections.abc import Iterator

HINT = "Baidu documents its image URLs as valid for 1 hour."


class LiteralLoopbackTrusted(UrlPolicy):
    """Treats the literal 127.0.0.1 as if it were a public address; every other address as usual.

    Stands in for a public vendor host, so a redirect from it to a private name can be tested.
    """

    def check_address(self, address: str, host: str) -> None:
        if host != "127.0.0.1":
            super().check_address(address, host)


@pytest.fixture
def fetch() -> Iterator[Any]:
    fetchers: list[OutputFetcher] = []

    def open_url(
        url: str, policy: UrlPolicy | None = None, max_bytes: int = 1 << 20, timeout: float = 10.0
    ) -> bytes:
        fetcher = OutputFetcher(policy or UrlPolicy(allow_private=True), timeout=timeout, pool_size=2)
        fetchers.append(fetcher)
        with fetcher.open(url, what="output 0", max_bytes=max_bytes, gone_hint=HINT) as response:
            return b"".join(fetcher.iter_body(response, "output 0"))

    yield open_url
    for fetcher in fetchers:
        fetcher.close()


def raises_without_signature(error: type[AigcError], call: Any, *args: Any, **kwargs: Any) -> AigcError:
    with pytest.raises(error) as info:
        call(*args, **kwargs)
    assert "secret-signature" not in str(info.value)
    assert info.value.__cause__ is None or "secret-signature" not in str(info.value.__cause__)
    return info.value


def test_streams_the_body(origin: Origin, fetch: Any) -> None:
    url = origin.route("/0.png", Route(head=PNG_HEAD, size=300_000))
    assert fetch(url)[:8] == PNG_HEAD[:8]
    assert origin.hits["/0.png"] == 1


def test_follows_redirects_checking_each_hop(origin: Origin, fetch: Any) -> None:
    final = origin.route("/final.png", Route(body=PNG_HEAD))
    origin.route("/hop2", Route(status=302, location=final))
    first = origin.route("/hop1", Route(status=301, location="/hop2"))
    assert fetch(first) == PNG_HEAD
    assert [origin.hits[p] for p in ("/hop1", "/hop2", "/final.png")] == [1, 1, 1]


def test_too_many_redirects(origin: Origin, fetch: Any) -> None:
    loop = origin.route("/loop", Route(status=307, location="/loop"))
    error = raises_without_signature(AigcServerError, fetch, loop)
    assert f"more than {MAX_REDIRECTS} redirects" in error.message
    assert origin.hits["/loop"] == MAX_REDIRECTS + 1


@pytest.mark.parametrize(
    ("target", "refusal"),
    [
        ("http://169.254.169.254/latest/meta-data/iam/", "cloud metadata"),
        ("file:///etc/passwd", "only http and https"),
        ("http://localhost:{port}/private", "loopback"),
    ],
)
def test_redirect_targets_are_checked_like_the_first_url(
    origin: Origin, fetch: Any, target: str, refusal: str
) -> None:
    origin.route("/private", Route(body=b"secret"))
    start = origin.route("/start", Route(status=302, location=target.format(port=origin.port)))
    error = raises_without_signature(AigcInvalidRequestError, fetch, start, LiteralLoopbackTrusted())
    assert refusal in error.message
    assert origin.hits["/private"] == 0


def test_redirect_outside_allowed_hosts_is_refused(origin: Origin, fetch: Any) -> None:
    origin.route("/private", Route(body=b"secret"))
    start = origin.route("/start", Route(status=302, location=origin.url("/private", host="localhost")))
    policy = UrlPolicy(allowed_hosts=("127.0.0.1",), allow_private=True)
    with pytest.raises(AigcInvalidRequestError, match="'localhost' is not in allowed_output_hosts"):
        fetch(start, policy)
    assert origin.hits["/private"] == 0


def test_private_origin_is_refused_unless_allowed(origin: Origin, fetch: Any) -> None:
    url = origin.route("/0.png", Route(body=PNG_HEAD))
    raises_without_signature(AigcInvalidRequestError, fetch, url, UrlPolicy())
    assert origin.total_hits == 0
    assert fetch(url, UrlPolicy(allow_private=True)) == PNG_HEAD


def test_connected_peer_is_checked_again(origin: Origin, fetch: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A name that resolves to a public address for the check and to loopback for the connection."""
    answers = iter(["93.184.216.34"])
    real_getaddrinfo = socket.getaddrinfo

    def rebinding(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        if host != "rebind.test":
            return real_getaddrinfo(host, port, *args, **kwargs)
        address = next(answers, "127.0.0.1")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    origin.route("/0.png", Route(body=PNG_HEAD))
    with pytest.raises(AigcInvalidRequestError, match=r"'rebind.test'.*127\.0\.0\.1, a loopback address"):
        fetch(origin.url("/0.png", host="rebind.test"), UrlPolicy())
    assert origin.total_hits == 0


@pytest.mark.parametrize("status", [403, 404, 410])
def test_gone_urls_are_reported_as_expired(origin: Origin, fetch: Any, status: int) -> None:
    url = origin.route("/0.png", Route(status=status, body=b"AccessDenied"))
    error = raises_without_signature(AigcOutputExpiredError, fetch, url)
    assert f"answered HTTP {status}" in error.message
    assert HINT in error.message


@pytest.mark.parametrize(
    ("status", "error"),
    [(500, AigcServerError), (503, AigcServerError), (429, AigcServerError), (400, AigcInvalidRequestError)],
)
def test_other_statuses(origin: Origin, fetch: Any, status: int, error: type[AigcError]) -> None:
    url = origin.route("/0.png", Route(status=status))
    assert f"HTTP {status}" in raises_without_signature(error, fetch, url).message


def test_declared_length_over_the_cap_is_refused_before_reading(origin: Origin, fetch: Any) -> None:
    url = origin.route("/big", Route(size=10, declared_length=5_000_000))
    error = raises_without_signature(AigcInvalidRequestError, fetch, url, max_bytes=1_000_000)
    assert "5000000 bytes declared" in error.message
    assert "its cap of 1000000 bytes" in error.message


def test_a_stream_that_breaks_off_is_transient(origin: Origin, fetch: Any) -> None:
    url = origin.route("/cut", Route(size=500_000, cut_after=100_000))
    error = raises_without_signature(AigcServerError, fetch, url)
    assert "broke off" in error.message


def test_a_stalled_origin_times_out(origin: Origin, fetch: Any) -> None:
    url = origin.route("/slow", Route(body=PNG_HEAD, delay=1.0))
    raises_without_signature(AigcServerError, fetch, url, timeout=0.2)


def test_a_closed_port_is_transient(fetch: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/0.png?authorization=secret-signature"
    assert "ConnectionError" in raises_without_signature(AigcServerError, fetch, url).message


@pytest.fixture
def allowed_example(monkeypatch: pytest.MonkeyPatch) -> UrlPolicy:
    """``allowed.example`` resolves to the origin (loopback); the policy allows only that name."""
    real_getaddrinfo = socket.getaddrinfo

    def resolve(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        return real_getaddrinfo("127.0.0.1" if host == "allowed.example" else host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return UrlPolicy(allowed_hosts=("allowed.example",), allow_private=True)


def test_a_backslash_before_at_cannot_smuggle_another_host_past_the_allow_list(
    origin: Origin, fetch: Any, allowed_example: UrlPolicy
) -> None:
    """urlsplit reads host allowed.example; requests/urllib3 would connect to 127.0.0.1."""
    origin.route("/0.png", Route(body=PNG_HEAD))
    url = f"http://127.0.0.1:{origin.port}\\@allowed.example/0.png?authorization=secret-signature"
    error = raises_without_signature(AigcInvalidRequestError, fetch, url, allowed_example)
    assert "backslash" in error.message
    assert origin.total_hits == 0


def test_a_redirect_goes_through_the_same_parser(
    origin: Origin, fetch: Any, allowed_example: UrlPolicy
) -> None:
    origin.route("/private", Route(body=b"secret"))
    origin.route(
        "/start", Route(status=302, location=f"http://127.0.0.1:{origin.port}\\@allowed.example/private")
    )
    with pytest.raises(AigcInvalidRequestError, match="backslash"):
        fetch(origin.url("/start", host="allowed.example"), allowed_example)
    assert (origin.hits["/start"], origin.hits["/private"]) == (1, 0)


def test_the_request_goes_to_the_checked_url(origin: Origin, fetch: Any, allowed_example: UrlPolicy) -> None:
    origin.route("/b.png", Route(body=PNG_HEAD))
    assert fetch(f"HTTP://ALLOWED.example:{origin.port}/a/../b.png?sig=1#frag", allowed_example) == PNG_HEAD
    assert origin.hits["/b.png"] == 1


def test_a_client_that_would_connect_elsewhere_is_refused(
    origin: Origin, fetch: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The adapter's own connection key must name the checked host (guards a parser change)."""
    real = HTTPAdapter.build_connection_pool_key_attributes

    def elsewhere(self: HTTPAdapter, request: Any, verify: Any, cert: Any = None) -> Any:
        params, pool = real(self, request, verify, cert)
        return {**params, "host": "localhost"}, pool

    monkeypatch.setattr(HTTPAdapter, "build_connection_pool_key_attributes", elsewhere)
    url = origin.route("/0.png", Route(body=PNG_HEAD))
    error = raises_without_signature(AigcInvalidRequestError, fetch, url)
    assert "would connect to localhost" in error.message
    assert origin.total_hits == 0
