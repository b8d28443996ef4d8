"""The one parse of an output URL: what the policy checks is what the HTTP client connects to.

Output URLs come from a vendor's answer. ``urllib.parse`` and urllib3 (which requests uses) split
some authorities differently: in ``http://evil.example\\@allowed.example/`` the first sees host
``allowed.example``, the second ends the authority at the backslash and connects to
``evil.example``. So a URL is parsed once, with urllib3's ``parse_url`` (the parser requests'
``PreparedRequest.prepare_url`` uses), and every authority that parsers could read differently is
refused: backslashes, ``@`` (user info), ``%`` (percent-encoded host bytes), whitespace and control
characters. The result, ``OutputUrl``, is what the policy checks, what is requested (its
canonical ``url``) and what the manifest records (its ``public`` form).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from airflow_provider_aigc.exceptions import AigcInvalidRequestError
from airflow_provider_aigc.urls import without_query

ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}
SHOWN_CHARS = 200

# RFC 3986: the authority runs from "//" to the first "/", "?" or "#" (a backslash does not end it,
# though urllib3 and browsers end it there: that disagreement is why backslashes are refused).
_AUTHORITY = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
# What a DNS name (after IDNA) or an IPv4 literal in any of its forms is made of. Anything else
# (quotes, braces, "|"...) requests would percent-encode on the way, connecting elsewhere.
_HOST_NAME = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$")
_AMBIGUOUS = (
    ("\\", "its host part contains a backslash, which HTTP clients and URL parsers split differently"),
    ("@", "it carries user info (user@ or :password@); output URLs never need credentials"),
    ("%", "its host is percent-encoded; only plain host names and IP addresses are fetched"),
)


@dataclass(frozen=True)
class OutputUrl:
    """A validated http(s) URL, in the form the HTTP client connects to.

    :param scheme: ``http`` or ``https``.
    :param host: the host connected to: lower case, IDNA A-labels, IPv6 without brackets.
    :param port: the port as written, or None for the scheme's default.
    :param target: the request target (path and query) as it is sent.
    """

    scheme: str
    host: str
    port: int | None
    target: str

    @property
    def effective_port(self) -> int:
        return DEFAULT_PORTS[self.scheme] if self.port is None else self.port

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """The URL that is requested (with its query string: never show it)."""
        return f"{self.scheme}://{self.netloc}{self.target}"

    @property
    def public(self) -> str:
        """The URL without its query string (the signature): safe for logs, errors and manifests."""
        return f"{self.scheme}://{self.netloc}{without_query(self.target)}"


def shown(url: str) -> str:
    """A refused URL as it may appear in an error: no query, fragment or user info; escaped."""
    text = without_query(url)
    scheme, separator, rest = text.partition("://")
    if separator:
        authority, slash, path = rest.partition("/")
        text = f"{scheme}://{authority.rpartition('@')[2]}{slash}{path}"
    text = "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)
    return text if len(text) <= SHOWN_CHARS else f"{text[:SHOWN_CHARS]}..."


def _refuse(url: str, reason: str) -> AigcInvalidRequestError:
    return AigcInvalidRequestError(f"refusing to fetch {shown(url)}: {reason}")


def parse_output_url(url: str) -> OutputUrl:
    """Parse and validate an output URL; nothing is resolved or connected.

    :raises AigcInvalidRequestError: not an http(s) URL with a plain host, or an authority that
        parsers could read differently (retrying cannot help).
    """
    if not isinstance(url, str):
        raise AigcInvalidRequestError(f"refusing to fetch {type(url).__name__!r}: a URL must be a string")
    if any(char.isspace() or not char.isprintable() for char in url):
        raise _refuse(url, "it contains whitespace or a control character")
    scheme_match = _SCHEME.match(url)
    scheme = scheme_match.group(1).lower() if scheme_match else ""
    if scheme not in ALLOWED_SCHEMES:
        raise _refuse(url, f"only http and https URLs are fetched, not {scheme!r}")
    authority_match = _AUTHORITY.match(url)
    if authority_match is None or not authority_match.group(1):
        raise _refuse(url, "the URL has no host")
    for char, reason in _AMBIGUOUS:
        if char in authority_match.group(1):
            raise _refuse(url, reason + _client_host(url))
    try:
        parsed = parse_url(url)
    except LocationParseError:
        # Its message may quote the whole URL, signature included.
        raise _refuse(url, "the URL is malformed (host or port)") from None
    if not parsed.host:
        raise _refuse(url, "the URL has no host")
    # requests connects to ``urlparse(prepared_url).hostname``: lower case, IPv6 without brackets.
    host = parsed.host.lower()
    if host.startswith("["):
        host = host[1:-1]
        if not _is_ipv6(host):
            raise _refuse(url, f"host [{host}] is not an IPv6 address")
    elif not _HOST_NAME.match(host):
        raise _refuse(url, f"host {host!r} is not a plain host name (an empty label or odd characters)")
    if parsed.port == 0:
        raise _refuse(url, "port 0 cannot be connected to")
    return OutputUrl(scheme=scheme, host=host, port=parsed.port, target=parsed.request_uri)


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _client_host(url: str) -> str:
    """Where an HTTP client would have connected, for the error message (user info left out)."""
    try:
        host = parse_url(url).host
    except LocationParseError:
        return ""
    return f" (an HTTP client would connect to {host!r})" if host else ""
