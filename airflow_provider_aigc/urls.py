"""The one rule for showing a URL: cut it before its query string, where signatures and tokens live."""

from __future__ import annotations

import re

_QUERY_OR_FRAGMENT = re.compile(r"[?#]")


def without_query(url: str) -> str:
    """``url`` up to its query string or fragment: safe for logs, errors and manifests.

    Plain text, not a parse: it also holds for strings no URL parser accepts.
    """
    return _QUERY_OR_FRAGMENT.split(url, maxsplit=1)[0]
