from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest
import requests

from airflow_provider_aigc.archive.output_url import parse_output_url
from airflow_provider_aigc.archive.url_policy import UrlPolicy, address_refusal, host_matches
from airflow_provider_aigc.exceptions import AigcInvalidRequestError, AigcServerError


def fake_resolver(addresses: dict[str, list[str]]) -> Any:
    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)) for address in addresses[host]]

    return getaddrinfo


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://images.example.com/0.png",
        "gopher://127.0.0.1:70/",
        "data:image/png;base64,AA",
    ],
)
def test_only_http_and_https_are_fetched(url: str) -> None:
    with pytest.raises(AigcInvalidRequestError, match="only http and https"):
        UrlPolicy(allow_private=True).check_url(url)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.9", "private"),
        ("192.168.1.1", "private"),
        ("fc00::5", "private"),
        ("169.254.10.10", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-public"),
        ("::ffff:127.0.0.1", "loopback"),
        ("2002:7f00:1::1", "loopback"),
    ],
)
def test_non_public_addresses_are_refused(address: str, reason: str) -> None:
    refusal = address_refusal(ipaddress.ip_address(address), allow_private=False)
    assert refusal is not None
    assert reason in refusal


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address), allow_private=False) is None


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.1", "fe80::1", "::1"])
def test_allow_private_admits_private_addresses(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address), allow_private=True) is None


@pytest.mark.parametrize(
    "address", ["169.254.169.254", "fd00:ec2::254", "100.100.100.200", "::ffff:169.254.169.254"]
)
def test_cloud_metadata_is_refused_even_when_private_is_allowed(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address), allow_private=True) == "a cloud metadata address"


def test_literal_loopback_url_is_refused_unless_allowed() -> None:
    with pytest.raises(AigcInvalidRequestError, match="loopback") as info:
        UrlPolicy().check_url("http://127.0.0.1:8765/img/0.png?authorization=secret-signature")
    assert "allow_private_output_hosts" in info.value.message
    assert "secret-signature" not in info.value.message
    UrlPolicy(allow_private=True).check_url("http://127.0.0.1:8765/img/0.png")


def test_name_resolving_to_loopback_is_refused() -> None:
    with pytest.raises(AigcInvalidRequestError, match=r"'localhost'.*loopback"):
        UrlPolicy().check_url("http://localhost:8765/img/0.png")


def test_every_resolved_address_must_be_public(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        fake_resolver({"mixed.example": ["93.184.216.34", "10.0.0.7"], "cdn.example": ["93.184.216.34"]}),
    )
    UrlPolicy().check_url("https://cdn.example/0.png")
    with pytest.raises(AigcInvalidRequestError, match=r"10\.0\.0\.7, a private address"):
        UrlPolicy().check_url("https://mixed.example/0.png")


def test_unresolvable_host_is_a_transient_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", fake_resolver({}))
    with pytest.raises(AigcServerError, match=r"cannot resolve output host 'gone\.example'"):
        UrlPolicy().check_url("https://gone.example/0.png")


def test_allowed_hosts_restrict_hostnames_before_resolving(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", fake_resolver({"img.bcebos.com": ["93.184.216.34"]}))
    policy = UrlPolicy(allowed_hosts=("*.bcebos.com", "cdn.jumdata.com"))
    policy.check_url("https://img.bcebos.com/0.png")
    with pytest.raises(AigcInvalidRequestError, match="not in allowed_output_hosts"):
        policy.check_url("https://evil.example/0.png")


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("a.bcebos.com", True),
        ("A.B.BCEBOS.COM.", True),
        ("bcebos.com", False),
        ("evilbcebos.com", False),
        ("cdn.jumdata.com", True),
        ("x.cdn.jumdata.com", False),
        ("127.0.0.1", True),
    ],
)
def test_host_patterns(host: str, expected: bool) -> None:
    assert host_matches(host, ("*.bcebos.com", "cdn.jumdata.com", "127.0.0.1")) is expected


@pytest.mark.parametrize("url", ["http:///no-host", "http://[::1/broken", "http://host:99999/x"])
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(AigcInvalidRequestError):
        UrlPolicy(allow_private=True).check_url(url)


# --- one parse: what is checked is what the HTTP client connects to ----------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://evil.example\\@allowed.example/x", "backslash"),
        ("http://allowed.example\\@evil.example/x", "backslash"),
        ("http://allowed.example\\evil.example/x", "backslash"),
        ("http://user@allowed.example/x", "user info"),
        ("http://user:pass@allowed.example/x", "user info"),
        ("http://:pass@allowed.example/x", "user info"),
        ("http://@allowed.example/x", "user info"),
        ("http://evil.example@allowed.example/x", "user info"),
        ("http://allowed.example%40evil.example/x", "percent-encoded"),
        ("http://%61llowed.example/x", "percent-encoded"),
        ("http://[fe80::1%25eth0]/x", "percent-encoded"),
        ("http://allowed.example /x", "whitespace"),
        (" http://allowed.example/x", "whitespace"),
        ("http://allowed.example\t.evil/x", "whitespace"),
        ("http://allowed.example\n@evil.example/x", "whitespace"),
        ("http://allowed.example\x00.evil/x", "control character"),
        ("http://allowed.example\u3000/x", "whitespace"),
        ("http://allowed.example\u200b/x", "control character"),
        ("http://allowed.example/x\r\nHost: evil.example", "control character"),
        ("http://allowed..example/x", "not a plain host name"),
        ("http://.allowed.example/x", "not a plain host name"),
        ("http://*.allowed.example/x", "not a plain host name"),
        ("http://allowed.example{}/x", "not a plain host name"),
        ("http://allowed.example;evil/x", "not a plain host name"),
        ("http://[allowed.example]/x", "malformed"),
        ("http://[::1/x", "malformed"),
        ("http://allowed.example:0/x", "port 0"),
        ("http://allowed.example:65536/x", "malformed"),
        ("http://allowed.example:80:80/x", "malformed"),
        ("http://ａｌｌｏｗｅｄ.example/x", "malformed"),
        ("http:allowed.example/x", "no host"),
        ("//allowed.example/x", "only http and https"),
        ("allowed.example/x", "only http and https"),
    ],
)
def test_authorities_parsers_could_read_differently_are_refused(url: str, reason: str) -> None:
    with pytest.raises(AigcInvalidRequestError, match=reason) as info:
        parse_output_url(url + "?authorization=secret-signature")
    assert "secret-signature" not in info.value.message
    assert "pass@" not in info.value.message


def test_the_backslash_refusal_names_where_a_client_would_connect() -> None:
    with pytest.raises(AigcInvalidRequestError, match=r"would connect to 'evil\.example'"):
        parse_output_url("http://evil.example\\@allowed.example/x")


@pytest.mark.parametrize(
    ("url", "host", "port", "target", "public"),
    [
        (
            "https://bj.bcebos.com/v1/0.png?authorization=sig",
            "bj.bcebos.com",
            None,
            "/v1/0.png?authorization=sig",
            "https://bj.bcebos.com/v1/0.png",
        ),
        ("HTTPS://Img.BCEBOS.com./a.png", "img.bcebos.com.", None, "/a.png", "https://img.bcebos.com./a.png"),
        (
            "http://例子.测试:8080/x",
            "xn--fsqu00a.xn--0zwm56d",
            8080,
            "/x",
            "http://xn--fsqu00a.xn--0zwm56d:8080/x",
        ),
        ("http://[2001:DB8::1]:0443/x", "2001:db8::1", 443, "/x", "http://[2001:db8::1]:443/x"),
        ("http://0X7F.1/x", "0x7f.1", None, "/x", "http://0x7f.1/x"),
        ("http://host", "host", None, "/", "http://host/"),
        ("http://host:/a/../b?q#frag", "host", None, "/b?q", "http://host/b"),
        ("http://host/@evil.example/x", "host", None, "/@evil.example/x", "http://host/@evil.example/x"),
        ("http://host?@evil.example/", "host", None, "/?@evil.example/", "http://host/"),
        ("http://host#@evil.example/", "host", None, "/", "http://host/"),
    ],
)
def test_urls_are_normalised_to_what_the_client_connects_to(
    url: str, host: str, port: int | None, target: str, public: str
) -> None:
    parsed = parse_output_url(url)
    assert (parsed.host, parsed.port, parsed.target, parsed.public) == (host, port, target, public)
    prepared = requests.Request("GET", url).prepare()
    pool_key, _ = requests.adapters.HTTPAdapter().build_connection_pool_key_attributes(prepared, True)
    assert pool_key["host"] == parsed.host
    assert (pool_key["port"] or parsed.effective_port) == parsed.effective_port
    assert parse_output_url(parsed.url) == parsed


def test_check_url_returns_the_parse_it_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", fake_resolver({"img.bcebos.com": ["93.184.216.34"]}))
    checked = UrlPolicy(allowed_hosts=("*.bcebos.com",)).check_url("https://IMG.bcebos.com/0.png?sig=1")
    assert checked == parse_output_url("https://img.bcebos.com/0.png?sig=1")
    assert UrlPolicy(allowed_hosts=("*.bcebos.com",)).check_url(checked) is checked


@pytest.mark.parametrize(
    ("host", "patterns", "expected"),
    [
        ("xn--fsqu00a.xn--0zwm56d", ("例子.测试",), True),
        ("a.xn--fsqu00a.xn--0zwm56d", ("*.例子.测试",), True),
        ("2001:db8::1", ("[2001:DB8::1]",), True),
        ("img.bcebos.com.", ("*.BCEBOS.com",), True),
        ("xn--fsqu00a.xn--0zwm56d", ("例子.cn",), False),
    ],
)
def test_host_patterns_are_normalised_like_hosts(
    host: str, patterns: tuple[str, ...], expected: bool
) -> None:
    assert host_matches(host, patterns) is expected
