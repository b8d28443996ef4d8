"""Reading request bodies the way the vendors accept them."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiohttp import web

FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


class BadBody(ValueError):
    """The body is neither a JSON object nor a form."""


async def read_form(request: web.Request) -> dict[str, str]:
    """Form fields (urlencoded or multipart); any other body reads as no fields."""
    if request.content_type not in FORM_TYPES:
        return {}
    form = await request.post()
    return {key: value for key, value in form.items() if isinstance(value, str)}


async def read_fields(request: web.Request) -> dict[str, Any]:
    """A JSON object or a form, whichever the client sent (zhipu documents both)."""
    if request.content_type in FORM_TYPES:
        return await read_form(request)
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as error:
        raise BadBody(f"body is not JSON: {error}") from error
    if not isinstance(data, dict):
        raise BadBody("body must be a JSON object")
    return data
