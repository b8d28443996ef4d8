"""The request/response values every vendor module builds and parses.

Transports (the sync and async hooks) turn an ``HttpRequest`` into a real call and hand the
answer back as an ``HttpResponse``; the vendor modules never touch a socket.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Mapping

Method = Literal["GET", "POST"]


@dataclass(frozen=True)
class HttpRequest:
    """One call to make, relative to the connection's base URL.

    ``path`` starts with "/" and is appended to the base URL as is. At most one of ``json`` and
    ``form`` is set. ``headers`` are sent besides the transport's own (``Authorization``, say).
    ``secret_fields`` names query/body fields and headers whose values are credentials, so
    transports can keep them out of logs and error messages.
    """

    method: Method
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    json: Mapping[str, Any] | None = None
    form: Mapping[str, str] | None = None
    secret_fields: frozenset[str] = frozenset()
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HttpResponse:
    """What came back: status, raw body and headers (header names lower-cased)."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
