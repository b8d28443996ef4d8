"""How an output URL may be shown: never with its query string, which carries the signature."""

from __future__ import annotations

import re

from airflow_provider_aigc.archive.output_url import parse_output_url, shown
from airflow_provider_aigc.exceptions import AigcInvalidRequestError

# A query string inside free text (an HTTP library's error message quoting the URL).
_QUERY_IN_TEXT = re.compile(r"\?[^\s'\")\]]*")


def public_url(url: str) -> str:
    """The URL without user info, query string and fragment: safe for logs, errors and manifests.

    A fetchable URL is shown as the HTTP client reads it (the host it connects to); any other
    string as written, cut before its query and with user info left out.
    """
    try:
        return parse_output_url(url).public
    except AigcInvalidRequestError:
        return shown(url)


def scrub(text: str) -> str:
    """Free text with every query string cut out (for messages of exceptions we re-raise)."""
    return _QUERY_IN_TEXT.sub("?<redacted>", text)
