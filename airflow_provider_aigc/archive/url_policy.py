"""Which output URLs may be fetched (server-side request forgery rules).

Output URLs come from a vendor's answer, so they are not trusted: a URL is fetched only over
http(s), from a host the policy allows, and only when every address its name resolves to is a
public one. The host checked is the one the HTTP client connects to (``output_url`` parses it with
the client's own parser); the same address rule is applied again to the socket actually connected
(see ``fetch``), so a name that resolves differently the second time cannot slip through.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from airflow_provider_aigc.archive.output_url import OutputUrl, parse_output_url
from airflow_provider_aigc.exceptions import AigcInvalidRequestError, AigcServerError

if TYPE_CHECKING:
    from collections.abc import Iterable

# Instance metadata endpoints (AWS incl. IPv6 and ECS, Alibaba Cloud): refused even when private
# addresses are allowed, because they hand out credentials.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200")
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Checked in this order, so the reason names the most specific class (loopback is also private).
_NON_PUBLIC = (
    ("is_loopback", "a loopback"),
    ("is_link_local", "a link-local"),
    ("is_multicast", "a multicast"),
    ("is_unspecified", "an unspecified"),
    ("is_reserved", "a reserved"),
    ("is_private", "a private"),
)

_ALLOW_PRIVATE_HINT = (
    "If this origin is trusted (e.g. the simulator on loopback), set allow_private_output_hosts=True "
    "on the operator or in the vendor connection's extra."
)


def _normalise_host(host: str) -> str:
    """Lower case, IDNA A-labels (as ``parse_output_url`` writes hosts), no brackets or trailing dot."""
    name = host.strip().lower().rstrip(".")
    if not name.isascii():
        with contextlib.suppress(LocationParseError):
            name = parse_url(f"http://{name}/").host or name
    return name.removeprefix("[").removesuffix("]")


def host_matches(host: str, patterns: Iterable[str]) -> bool:
    """Whether ``host`` is one of ``patterns``: exact names, or ``*.suffix`` for any subdomain of suffix."""
    name = _normalise_host(host)
    for pattern in patterns:
        wanted = _normalise_host(pattern)
        if name == wanted or (wanted.startswith("*.") and name.endswith(wanted[1:])):
            return True
    return False


def _unwrap(address: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped or 6to4 IPv6 address, else the address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        return address.ipv4_mapped or address.sixtofour or address
    return address


def address_refusal(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why connecting to ``address`` is refused (e.g. "a loopback address"), or None when it is allowed."""
    address = _unwrap(address)
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if allow_private:
        return None
    for attribute, label in _NON_PUBLIC:
        if getattr(address, attribute):
            return f"{label} address"
    if not address.is_global:
        return "a non-public address"
    return None


@dataclass(frozen=True)
class UrlPolicy:
    """What the archive step may fetch.

    :param allowed_hosts: when not empty, the only host names that may be fetched (exact, or
        ``*.suffix``); redirects must stay within them too.
    :param allow_private: allow private, loopback, link-local and other non-public addresses
        (cloud metadata addresses stay refused).
    """

    allowed_hosts: tuple[str, ...] = ()
    allow_private: bool = False

    def check_url(self, url: str | OutputUrl) -> OutputUrl:
        """The parsed URL, once its host and every address it resolves to are allowed.

        The result is what may be fetched: connect to its ``host`` and ``port``, nothing else.

        :raises AigcInvalidRequestError: the URL is refused (retrying cannot help).
        :raises AigcServerError: the host name does not resolve right now.
        """
        target = url if isinstance(url, OutputUrl) else parse_output_url(url)
        if self.allowed_hosts and not host_matches(target.host, self.allowed_hosts):
            raise AigcInvalidRequestError(
                f"refusing to fetch {target.public}: host {target.host!r} is not in allowed_output_hosts "
                f"({', '.join(self.allowed_hosts)})"
            )
        for address in self._resolve(target.host, target.effective_port):
            self.check_address(address, target.host)
        return target

    def check_address(self, address: str, host: str) -> None:
        """Refuse one address of ``host`` (a resolved address, or the peer of a connected socket).

        :raises AigcInvalidRequestError: the address is not allowed.
        """
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
        reason = address_refusal(parsed, allow_private=self.allow_private)
        if reason is not None:
            hint = "" if reason == "a cloud metadata address" else f" {_ALLOW_PRIVATE_HINT}"
            raise AigcInvalidRequestError(
                f"refusing to fetch from host {host!r}: it resolves to {parsed}, {reason}.{hint}"
            )

    @staticmethod
    def _resolve(host: str, port: int) -> list[str]:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except UnicodeError:
            raise AigcInvalidRequestError(
                f"refusing to fetch from host {host!r}: not a valid host name"
            ) from None
        except socket.gaierror as exc:
            raise AigcServerError(f"cannot resolve output host {host!r}: {exc.strerror}") from None
        return sorted({str(info[4][0]) for info in infos})
