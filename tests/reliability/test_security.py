"""Security: the archive's URL policy refuses internal targets before connecting, redirects and
re-resolved names included; bad operator input fails before any paid call naming the limit; the
triggers a sensor defers to carry no secret.

No traffic leaves loopback: name resolution is faked where a test needs a public answer, and every
connection attempt goes through a recorder that refuses anything but 127.0.0.1.
"""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest
import requests
import urllib3.exceptions
import urllib3.util
import urllib3.util.connection
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from requests.adapters import HTTPAdapter

from airflow_provider_aigc.archive.fetch import OutputFetcher
from airflow_provider_aigc.archive.output_url import OutputUrl, parse_output_url
from airflow_provider_aigc.archive.redact import public_url
from airflow_provider_aigc.archive.url_policy import UrlPolicy
from airflow_provider_aigc.exceptions import AigcError, AigcInvalidRequestError, AigcServerError
from airflow_provider_aigc.operators.submit import (
    CogViewSubmitOperator,
    ErnieVilgSubmitOperator,
    JumdataDrawSubmitOperator,
    NewsGenerateSubmitOperator,
)
from airflow_provider_aigc.sensors.job import AigcJobSensor
from tests.reliability.conftest import fuzz_examples
from tests.reliability.helpers import BAIDU, VENDORS, LeakScanner, VendorCase, make_hook, submissions

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.conftest import SimulatorServer


class Connections:
    """Records every outgoing connection; lets only loopback ones through."""

    def __init__(self) -> None:
        self.attempts: list[tuple[str, int]] = []
        self.real = urllib3.util.connection.create_connection
        self.socket_real = socket.create_connection

    def urllib3(self, address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        self.attempts.append(address)
        if address[0] not in ("127.0.0.1", "localhost"):
            raise AssertionError(f"a connection to {address} was attempted")
        return self.real(address, *args, **kwargs)

    def socket(self, address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        self.attempts.append(address)
        raise AssertionError(f"a connection to {address} was attempted")


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> Connections:
    recorder = Connections()
    monkeypatch.setattr(urllib3.util.connection, "create_connection", recorder.urllib3)
    monkeypatch.setattr(socket, "create_connection", recorder.socket)
    return recorder


def fetch(url: str, policy: UrlPolicy) -> None:
    fetcher = OutputFetcher(policy, timeout=2.0, pool_size=1)
    try:
        fetcher.open(url, what="test output", max_bytes=1024, gone_hint="").close()
    finally:
        fetcher.close()


# --- SSRF ----------------------------------------------------------------------------------------

REFUSED = [
    ("http://127.0.0.1/x.png", "loopback"),
    ("http://127.1/x.png", "loopback"),
    ("http://2130706433/x.png", "loopback"),
    ("http://0x7f000001/x.png", "loopback"),
    ("http://localhost:8080/x.png", "loopback"),
    ("http://10.0.0.5/x.png", "private"),
    ("http://172.16.3.4/x.png", "private"),
    ("http://172.31.255.254/x.png", "private"),
    ("http://192.168.1.10/x.png", "private"),
    ("http://169.254.10.20/x.png", "link-local"),
    ("http://169.254.169.254/latest/meta-data/iam/security-credentials/", "metadata"),
    ("http://[::1]/x.png", "loopback"),
    ("http://[fd00::1]/x.png", "private"),
    ("http://[fe80::1]/x.png", "link-local"),
    ("http://[::ffff:127.0.0.1]/x.png", "loopback"),
    ("http://[::ffff:169.254.169.254]/x.png", "metadata"),
    ("http://0.0.0.0/x.png", "unspecified"),
    ("http://user:pass@127.0.0.1/x.png", "user info"),
    ("file:///etc/passwd", "only http and https"),
    ("ftp://example.com/x.png", "only http and https"),
    ("gopher://example.com/x", "only http and https"),
    ("data:image/png;base64,iVBORw0KGgo=", "only http and https"),
    ("http:///x.png", "no host"),
]


@pytest.mark.scenario("security.ssrf")
@pytest.mark.parametrize(("url", "reason"), REFUSED, ids=[url for url, _ in REFUSED])
def test_internal_targets_are_refused_before_connecting(
    url: str, reason: str, connections: Connections
) -> None:
    with pytest.raises(AigcInvalidRequestError) as caught:
        fetch(url, UrlPolicy())
    message = caught.value.message
    assert reason in message or (reason == "metadata" and "metadata" in message), message
    assert connections.attempts == []


@pytest.mark.scenario("security.ssrf")
@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/latest/", "http://[fd00:ec2::254]/", "http://100.100.100.200/"]
)
def test_metadata_endpoints_stay_refused_when_private_hosts_are_allowed(
    url: str, connections: Connections
) -> None:
    with pytest.raises(AigcInvalidRequestError, match="metadata"):
        fetch(url, UrlPolicy(allow_private=True))
    assert connections.attempts == []


@pytest.mark.scenario("security.ssrf")
def test_names_resolving_to_internal_addresses_are_refused(
    connections: Connections, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = {"cdn.example": ["93.184.216.34", "10.0.0.7"], "meta.example": ["169.254.169.254"]}

    def resolve(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)) for address in answers[host]]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    for host, reason in (("cdn.example", "private"), ("meta.example", "metadata")):
        with pytest.raises(AigcInvalidRequestError, match=reason):
            fetch(f"https://{host}/x.png", UrlPolicy())
    assert connections.attempts == []


@pytest.mark.scenario("security.ssrf")
def test_hosts_outside_the_allow_list_are_refused(connections: Connections) -> None:
    with pytest.raises(AigcInvalidRequestError, match="allowed_output_hosts"):
        fetch("https://evil.example/x.png", UrlPolicy(allowed_hosts=("*.bcebos.com",)))
    assert connections.attempts == []


class _Redirector(BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:
        if self.path.startswith("/loop"):
            self.send_response(302)
            self.send_header("Location", "/loop")
        elif self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", self.server.target)  # type: ignore[attr-defined]
        else:
            self.send_response(200)
            self.send_header("Content-Length", "4")
        self.end_headers()
        if self.path.startswith("/ok"):
            self.wfile.write(b"\x89PNG")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def redirector() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


ONLY_LOOPBACK = ("127.0.0.1",)
REDIRECT_TARGETS = [
    ("http://169.254.169.254/latest/meta-data/", (), "metadata"),
    ("http://[fd00:ec2::254]/latest/", (), "metadata"),
    ("http://10.1.2.3/x.png", ONLY_LOOPBACK, "allowed_output_hosts"),
    ("file:///etc/passwd", (), "only http and https"),
    ("http://evil.example/x.png", ONLY_LOOPBACK, "allowed_output_hosts"),
]


@pytest.mark.scenario("security.ssrf")
@pytest.mark.parametrize(
    ("target", "hosts", "reason"), REDIRECT_TARGETS, ids=[t[0] for t in REDIRECT_TARGETS]
)
def test_redirects_are_checked_like_the_first_url(
    redirector: ThreadingHTTPServer,
    connections: Connections,
    target: str,
    hosts: tuple[str, ...],
    reason: str,
) -> None:
    redirector.target = target  # type: ignore[attr-defined]
    port = redirector.server_address[1]
    policy = UrlPolicy(allowed_hosts=hosts, allow_private=True)
    with pytest.raises(AigcInvalidRequestError, match=reason):
        fetch(f"http://127.0.0.1:{port}/redirect", policy)
    assert {host for host, _ in connections.attempts} == {"127.0.0.1"}


@pytest.mark.scenario("security.ssrf")
def test_redirect_loops_end(redirector: ThreadingHTTPServer, connections: Connections) -> None:
    port = redirector.server_address[1]
    with pytest.raises(AigcServerError, match="redirects"):
        fetch(f"http://127.0.0.1:{port}/loop", UrlPolicy(allow_private=True))
    assert len(connections.attempts) <= 6


@pytest.mark.scenario("security.ssrf")
def test_a_name_that_resolves_differently_on_connect_is_refused_by_the_peer_check(
    redirector: ThreadingHTTPServer, connections: Connections, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the check sees a public address, the connection lands on loopback."""
    port = redirector.server_address[1]
    real = connections.real

    real_resolve = socket.getaddrinfo

    def resolve(host: str, port_: int, *args: Any, **kwargs: Any) -> list[Any]:
        if host != "rebind.example":
            return real_resolve(host, port_, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port_))]

    def rebound(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        connections.attempts.append(address)
        return real(("127.0.0.1", port), *args, **kwargs)  # the name now points at loopback

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    monkeypatch.setattr(urllib3.util.connection, "create_connection", rebound)
    with pytest.raises(AigcInvalidRequestError, match="loopback"):
        fetch(f"http://rebind.example:{port}/ok.png", UrlPolicy())


@pytest.mark.scenario("security.ssrf")
def test_the_allowed_loopback_origin_is_fetched(
    redirector: ThreadingHTTPServer, connections: Connections
) -> None:
    """The counterpart: with allow_private (the simulator's setting) a loopback URL is fetched."""
    port = redirector.server_address[1]
    fetch(f"http://127.0.0.1:{port}/ok.png", UrlPolicy(allow_private=True))
    assert connections.attempts == [("127.0.0.1", port)]


# --- one URL parser: allowlist bypass attempts -------------------------------------------------
# The policy, the connection and the manifest's source_url use one parse of the URL (urllib3's,
# which requests uses). Names resolve to a public address (faked), IP literals to themselves; a
# connection attempt is recorded and stopped before any traffic.

ALLOWED_HOSTS = ("allowed.example", "*.cdn.allowed.example")
PUBLIC_ADDRESS = "93.184.216.34"


class Connected(Exception):
    """Raised in place of connecting: the test sees where the HTTP client would have gone."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(host, port)
        self.host, self.port = host, port


def allowed_by_name(host: str) -> bool:
    """The allow list, applied independently of ``host_matches``."""
    name = host.lower().removesuffix(".")
    return name == "allowed.example" or name.endswith(".cdn.allowed.example")


def client_destination(url: str) -> tuple[str, int] | None:
    """Where requests itself connects for ``url`` (prepare_url, then the adapter's pool key), or
    None when requests refuses the URL. Cross-checked with urllib3's parse of the prepared URL."""
    try:
        prepared = requests.Request("GET", url).prepare()
        params, _ = HTTPAdapter().build_connection_pool_key_attributes(prepared, True)
        reparsed = urllib3.util.parse_url(prepared.url or "")
    except (requests.RequestException, ValueError, urllib3.exceptions.LocationParseError):
        return None
    host, scheme = params["host"], params["scheme"]
    if not host or scheme not in ("http", "https"):
        return None
    assert (reparsed.host or "").strip("[]") == host
    return host, params["port"] or {"http": 80, "https": 443}[scheme]


class RecordingPolicy(UrlPolicy):
    """A UrlPolicy that keeps what it approved."""

    def check_url(self, url: str | OutputUrl) -> OutputUrl:
        approved = super().check_url(url)
        APPROVED.append(approved)
        return approved


APPROVED: list[OutputUrl] = []


@pytest.fixture
def stopped_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    real_resolve = socket.getaddrinfo

    def resolve(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        try:  # IP literals in every form the C library accepts (127.1, 0x7f.1, 2130706433)
            return real_resolve(host, port, *args, **{**kwargs, "flags": socket.AI_NUMERICHOST})
        except socket.gaierror:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_ADDRESS, port))]

    def connect(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        raise Connected(*address)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    monkeypatch.setattr(urllib3.util.connection, "create_connection", connect)


def attempt(url: str, fetcher: OutputFetcher) -> Connected | AigcError:
    """The outcome of fetching ``url``: where it would connect, or the classified refusal."""
    APPROVED.clear()
    try:
        fetcher.open(url, what="test output", max_bytes=1024, gone_hint="").close()
    except Connected as connected:
        return connected
    except AigcError as error:
        return error
    raise AssertionError(f"{url!r} was fetched without connecting")


def check_one_parser(url: str, fetcher: OutputFetcher) -> None:
    """Refused with a classified error before connecting, or connected exactly where requests
    would go, to an allowed host, the one the policy approved and the manifest names."""
    outcome = attempt(url, fetcher)
    if isinstance(outcome, AigcError):
        assert type(outcome) in (AigcInvalidRequestError, AigcServerError), outcome
        assert "secret-signature" not in outcome.message
        return
    assert (outcome.host, outcome.port) == client_destination(url), url
    assert allowed_by_name(outcome.host), f"{url!r} reached {outcome.host!r}"
    assert [(a.host, a.effective_port) for a in APPROVED] == [(outcome.host, outcome.port)], url
    assert parse_output_url(public_url(url)).host == outcome.host  # the manifest's source_url


HOST_FORMS = [
    "allowed.example",
    "ALLOWED.Example",
    "allowed.example.",
    "img.cdn.allowed.example",
    "IMG.CDN.allowed.example.",
    "例子.cdn.allowed.example",
    "xn--fsqu00a.cdn.allowed.example",
    "evil.example",
    "allowed.example.evil.example",
    "evilallowed.example",
    "cdn.allowed.example",
    "127.0.0.1",
    "0x7f.1",
    "2130706433",
    "[::1]",
    "[::ffff:7f00:1]",
    "[2001:db8::1]",
    "169.254.169.254",
    "%61llowed.example",
    "allowed%2eexample",
    "ａｌｌｏｗｅｄ.example",
    "allowed。example",
]
PIECES = [
    *("\\", "@", "\\@", "@\\", ":", ":80", ":443", ":8080", ":0", ":99999", ":08080"),
    *("user", "user:pass", ":pass", "%40", "%5C", "%2e", "%00", ".", "..", "[", "]", "*"),
    *(" ", "\t", "\n", "\r", "\x00", "\x7f", "\x85", "\u3000", "\u200b", "/", "?", "#"),
]
TAILS = [
    "/x.png?authorization=secret-signature",
    "",
    "/",
    "?authorization=secret-signature",
    "#frag",
    "/@evil.example/x",
    "\\@evil.example/x",
    "/..\\evil.example",
]
urls = st.builds(
    "{}://{}{}".format,
    st.sampled_from(["http", "https", "HTTP", "hTTps"]),
    st.lists(st.sampled_from(HOST_FORMS) | st.sampled_from(PIECES), min_size=1, max_size=6).map("".join),
    st.sampled_from(TAILS),
)


@pytest.mark.scenario("security.ssrf")
def test_the_host_checked_is_the_host_connected_to(stopped_connections: None) -> None:
    """Property over URL forms: refused and classified, or connected to the approved, allowed host."""
    fetcher = OutputFetcher(RecordingPolicy(allowed_hosts=ALLOWED_HOSTS), timeout=2.0, pool_size=1)

    @settings(
        max_examples=fuzz_examples(400),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(urls)
    def run(url: str) -> None:
        check_one_parser(url, fetcher)

    try:
        run()
    finally:
        fetcher.close()


BYPASS_ATTEMPTS = [
    ("http://evil.example\\@allowed.example/x.png", "backslash"),
    ("http://evil.example\\\\@allowed.example/x.png", "backslash"),
    ("http://169.254.169.254\\@allowed.example/x.png", "backslash"),
    ("http://allowed.example\\@evil.example/x.png", "backslash"),
    ("http://evil.example\\.allowed.example/x.png", "backslash"),
    ("http://evil.example@allowed.example/x.png", "user info"),
    ("http://allowed.example@evil.example/x.png", "user info"),
    ("http://allowed.example:443@evil.example/x.png", "user info"),
    ("http://user:pass@allowed.example/x.png", "user info"),
    ("http://:pass@allowed.example/x.png", "user info"),
    ("http://@allowed.example/x.png", "user info"),
    ("http://a@b@allowed.example/x.png", "user info"),
    ("http://evil.example%5C@allowed.example/x.png", "user info"),
    ("http://evil.example%40allowed.example/x.png", "percent-encoded"),
    ("http://%61llowed.example/x.png", "percent-encoded"),
    ("http://evil.example%2f.allowed.example/x.png", "percent-encoded"),
    ("http://evil.example\t@allowed.example/x.png", "whitespace"),
    ("http://evil.example\n@allowed.example/x.png", "whitespace"),
    ("http://allowed.example\r\n.evil.example/x.png", "whitespace"),
    ("http://evil.example\x00.allowed.example/x.png", "control character"),
    ("http://evil.example\u200b.allowed.example/x.png", "control character"),
    (" http://evil.example/x.png", "whitespace"),
    ("http://evil.example;.allowed.example/x.png", "not a plain host name"),
    ("http://allowed.example..evil.example/x.png", "not a plain host name"),
    ("http://ａｌｌｏｗｅｄ.example/x.png", "malformed"),
    ("http://allowed.example。evil.example/x.png", "malformed"),
    ("http://[::1]/x.png", "allowed_output_hosts"),
    ("http://evilallowed.example/x.png", "allowed_output_hosts"),
    ("http://allowed.example.evil.example/x.png", "allowed_output_hosts"),
]


@pytest.mark.scenario("security.ssrf")
@pytest.mark.parametrize(("url", "reason"), BYPASS_ATTEMPTS, ids=[repr(url) for url, _ in BYPASS_ATTEMPTS])
def test_allow_list_bypass_attempts_are_refused_before_connecting(
    url: str, reason: str, stopped_connections: None
) -> None:
    fetcher = OutputFetcher(UrlPolicy(allowed_hosts=ALLOWED_HOSTS), timeout=2.0, pool_size=1)
    try:
        outcome = attempt(url + "?authorization=secret-signature", fetcher)
    finally:
        fetcher.close()
    assert isinstance(outcome, AigcInvalidRequestError), f"{url!r}: {outcome!r}"
    assert reason in outcome.message
    assert "secret-signature" not in outcome.message
    assert "pass@" not in outcome.message


ALLOWED_FORMS = [
    ("HTTP://ALLOWED.Example./x.png", ("allowed.example.", 80)),
    ("https://例子.cdn.allowed.example/x.png", ("xn--fsqu00a.cdn.allowed.example", 443)),
    ("http://allowed.example:08080/x.png", ("allowed.example", 8080)),
    ("http://allowed.example/@evil.example/x.png", ("allowed.example", 80)),
    ("http://allowed.example?@evil.example/", ("allowed.example", 80)),
    ("http://allowed.example#@evil.example/", ("allowed.example", 80)),
]


@pytest.mark.scenario("security.ssrf")
@pytest.mark.parametrize(("url", "destination"), ALLOWED_FORMS, ids=[url for url, _ in ALLOWED_FORMS])
def test_allowed_forms_connect_where_they_were_checked(
    url: str, destination: tuple[str, int], stopped_connections: None
) -> None:
    fetcher = OutputFetcher(RecordingPolicy(allowed_hosts=ALLOWED_HOSTS), timeout=2.0, pool_size=1)
    try:
        outcome = attempt(url, fetcher)
        check_one_parser(url, fetcher)
    finally:
        fetcher.close()
    assert isinstance(outcome, Connected), outcome
    assert (outcome.host, outcome.port) == destination
    assert parse_output_url(url).host == destination[0]


def fresh_state_store() -> Any:
    """A first try's context: an empty task state store."""
    from tests.unit.operators.fakes import FakeTaskStateStore

    return {"task_state_store": FakeTaskStateStore()}


# --- bad operator input --------------------------------------------------------------------------

BAD_INPUT = [
    (CogViewSubmitOperator, {"query": "   "}, "query must be a non-blank string"),
    (CogViewSubmitOperator, {"query": 42}, "query must be"),
    (CogViewSubmitOperator, {"query": "猫", "zhipu_queue": ""}, "key must be"),
    (NewsGenerateSubmitOperator, {"content": "新闻", "max_length": 0}, "max_length must be an integer >= 1"),
    (NewsGenerateSubmitOperator, {"content": "新闻", "max_length": "many"}, "max_length must be an integer"),
    (NewsGenerateSubmitOperator, {"content": "新闻", "max_length": 2.5}, "max_length must be an integer"),
    (NewsGenerateSubmitOperator, {"content": "新闻", "max_length": True}, "max_length must be an integer"),
    (ErnieVilgSubmitOperator, {"prompt": "画" * 201}, "1-200 characters"),
    (ErnieVilgSubmitOperator, {"prompt": ""}, "prompt must be"),
    (ErnieVilgSubmitOperator, {"prompt": ["猫"]}, "prompt must be"),
    (ErnieVilgSubmitOperator, {"prompt": "猫", "version": "v3"}, "version must be one of v1, v2"),
    (ErnieVilgSubmitOperator, {"prompt": "猫", "width": 1000, "height": 1000}, "allowed: 512x512"),
    (
        ErnieVilgSubmitOperator,
        {"prompt": "猫", "version": "v1", "width": 512, "height": 512},
        "not offered by version v1",
    ),
    (ErnieVilgSubmitOperator, {"prompt": "猫", "image_num": 0}, "image_num must be an integer 1-8"),
    (ErnieVilgSubmitOperator, {"prompt": "猫", "image_num": 9}, "image_num must be an integer 1-8"),
    (
        ErnieVilgSubmitOperator,
        {"prompt": "猫", "change_degree": 5},
        "change_degree applies only with a reference",
    ),
    (
        ErnieVilgSubmitOperator,
        {"prompt": "猫", "url": "ftp://x/y.png", "change_degree": 5},
        "full http(s) URL",
    ),
    (
        ErnieVilgSubmitOperator,
        {"prompt": "猫", "url": "http://x/" + "y" * 1100, "change_degree": 5},
        "1024 bytes",
    ),
    (
        ErnieVilgSubmitOperator,
        {"prompt": "猫", "image": "not base64!", "change_degree": 5},
        "not valid base64",
    ),
    (
        ErnieVilgSubmitOperator,
        {"prompt": "猫", "url": "http://x/y.png"},
        "change_degree (an integer 1-10) is required",
    ),
    (JumdataDrawSubmitOperator, {"text": "画" * 101, "style": "古风"}, "1-100 characters"),
    (JumdataDrawSubmitOperator, {"text": "猫", "style": "梵高"}, "style must be one of"),
    (
        JumdataDrawSubmitOperator,
        {"text": "猫", "style": "古风", "resolution": "800*600"},
        "resolution must be one of",
    ),
    (JumdataDrawSubmitOperator, {"text": "猫", "style": "古风", "num": 7}, "num must be an integer 1-6"),
    (JumdataDrawSubmitOperator, {"text": "猫", "style": "古风", "num": "0"}, "num must be an integer 1-6"),
]


@pytest.mark.scenario("security.bad-input")
@pytest.mark.parametrize(("operator", "kwargs", "limit"), BAD_INPUT, ids=[limit for _, _, limit in BAD_INPUT])
def test_bad_operator_input_fails_before_any_paid_call(
    sim: SimulatorServer, operator: type[Any], kwargs: dict[str, Any], limit: str
) -> None:
    requests_before = sim.stats()["requests_total"]
    task = operator(task_id="submit", **kwargs)
    with pytest.raises(AirflowFailException) as caught:
        task.execute(fresh_state_store())
    assert limit in str(caught.value)
    assert "limit" in str(caught.value)
    assert isinstance(caught.value.__cause__, AigcInvalidRequestError)
    assert sim.stats()["requests_total"] == requests_before + 1  # only the stats call above


TEMPLATED = [
    (
        JumdataDrawSubmitOperator,
        {"text": "{{ params.text }}", "style": "古风", "num": "{{ params.n }}"},
        {"text": "猫", "n": 7},
        "num must be an integer 1-6",
    ),
    (
        JumdataDrawSubmitOperator,
        {"text": "{{ params.text }}", "style": "古风"},
        {"text": "  "},
        "text must be 1-100 characters",
    ),
    (
        NewsGenerateSubmitOperator,
        {"content": "新闻", "max_length": "{{ params.m }}"},
        {"m": "lots"},
        "max_length must be an integer",
    ),
    (ErnieVilgSubmitOperator, {"prompt": "{{ params.p * 70 }}"}, {"p": "山水画"}, "1-200 characters"),
    (
        CogViewSubmitOperator,
        {"query": "{{ params.missing | default('') }}"},
        {},
        "query must be a non-blank string",
    ),
]


@pytest.mark.scenario("security.bad-input")
@pytest.mark.parametrize(("operator", "kwargs", "params", "limit"), TEMPLATED, ids=[t[3] for t in TEMPLATED])
def test_templates_rendering_to_bad_values_fail_before_any_paid_call(
    sim: SimulatorServer, operator: type[Any], kwargs: dict[str, Any], params: dict[str, Any], limit: str
) -> None:
    from airflow.sdk import DAG

    with DAG(dag_id="bad_templates", schedule=None, params=params):
        task = operator(task_id="submit", **kwargs)
    context: dict[str, Any] = {"params": params, "task_state_store": None}
    task.render_template_fields(context)
    requests_before = sim.stats()["requests_total"]
    with pytest.raises(AirflowFailException, match="limit") as caught:
        task.execute(context)
    assert limit in str(caught.value)
    assert sim.stats()["requests_total"] == requests_before + 1


# --- what the sensor defers with -----------------------------------------------------------------


@pytest.mark.scenario("security.secrets")
@pytest.mark.parametrize("case", VENDORS, ids=str)
def test_the_trigger_a_sensor_defers_to_carries_no_secret(sim: SimulatorServer, case: VendorCase) -> None:
    sim.config({"latency": {case.app: 600.0}})
    job = make_hook(case.vendor).submit(case.app, case.params(f"竹林 {time.time_ns()}"))
    sensor = AigcJobSensor(task_id="wait", job=job.to_dict())
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    trigger = deferred.value.trigger
    classpath, kwargs = trigger.serialize()
    assert set(kwargs) <= {
        "conn_id",
        "vendor",
        "job_id",
        "poll_interval",
        "end_time",
        "app",
        "max_consecutive_failures",
        "cancel_pending_on_kill",
    }
    assert deferred.value.timeout is None
    assert kwargs["end_time"] > time.time()
    scanner = LeakScanner()
    for text in (classpath, repr(kwargs), repr(trigger), repr(deferred.value)):
        assert not scanner.leaks(text), scanner.leaks(text)


@pytest.mark.scenario("security.secrets")
def test_auth_failure_at_the_operator_says_what_to_fix_without_the_secret(
    sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from tests.reliability.conftest import connection_env

    name = "AIRFLOW_CONN_AIGC_BAIDU_DEFAULT"
    connection = json.loads(connection_env(sim.url)[name])
    connection["password"] = "a-wrong-secret-key-31337"
    monkeypatch.setenv(name, json.dumps(connection))
    with pytest.raises(AirflowFailException) as caught:
        ErnieVilgSubmitOperator(task_id="submit", prompt="猫").execute(fresh_state_store())
    message = str(caught.value)
    assert "AigcAuthError" in message
    assert "connection" in message
    assert "without using its retries" in message
    assert "a-wrong-secret-key-31337" not in message
    assert isinstance(caught.value.__cause__, AigcError)
    assert submissions(sim, BAIDU.vendor) == []
