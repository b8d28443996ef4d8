"""How an output URL may be shown: never with its query string, which carries the signature."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

# A query string inside free text (an HTTP library's error message quoting the URL).
_QUERY_IN_TEXT = re.compile(r"\?[^\s'\")\]]*")


def public_url(url: str) -> str:
    """The URL without user info, query string and fragment: safe for logs, errors and manifests."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<unparseable URL>"
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def scrub(text: str) -> str:
    """Free text with every query string cut out (for messages of exceptions we re-raise)."""
    return _QUERY_IN_TEXT.sub("?<redacted>", text)
