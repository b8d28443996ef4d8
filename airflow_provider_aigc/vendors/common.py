"""Parsing and validation helpers shared by the vendor modules.

Vendor answers are untrusted: every read goes through ``Payload`` so a body that does not match
the documents becomes an ``AigcServerError`` quoting the trimmed body, never a KeyError/TypeError.
Parameter checks raise ``AigcInvalidRequestError`` quoting the documented limit, before any paid
call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow_provider_aigc.exceptions import (
    AigcError,
    AigcInvalidRequestError,
    AigcServerError,
    error_for_http_status,
    trim,
)

if TYPE_CHECKING:
    from airflow_provider_aigc.vendors.base import HttpResponse

_PERCENT = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*")


def is_success(response: HttpResponse) -> bool:
    """Whether the HTTP status is 2xx (vendors put their own error codes inside 2xx bodies)."""
    return 200 <= response.status < 300


def try_decode_json(response: HttpResponse) -> Any:
    """The body as JSON, or None when it is not JSON (a null body carries no vendor code either)."""
    try:
        return json.loads(response.body)
    except (ValueError, RecursionError):
        return None


def decode_json(vendor: str, response: HttpResponse) -> Any:
    """The body as JSON; a body that is not JSON is transient vendor trouble (AigcServerError)."""
    try:
        return json.loads(response.body)
    except (ValueError, RecursionError):
        raise AigcServerError(
            f"{vendor} answered HTTP {response.status} with a body that is not JSON: {trim(response.body)}",
            vendor=vendor,
        ) from None


def read_code(body: object, key: str) -> str | None:
    """The vendor code under ``key`` of a decoded error body, when it has one (int or string)."""
    if not isinstance(body, Mapping):
        return None
    code = body.get(key)
    if isinstance(code, bool) or not isinstance(code, (int, str)):
        return None
    return f"{code}".strip()


def http_error(vendor: str, response: HttpResponse) -> AigcError:
    """The taxonomy error for a non-2xx answer whose body holds no vendor code we could read.

    Only HTTP 429 counts as a refusal: it is HTTP's own "not processed, too many requests" (RFC
    6585) and the taxonomy's rate-limit status. A 5xx without the vendor's envelope may come from a
    gateway after the vendor took the job, so it proves nothing. (The hook reads ``Retry-After``.)
    """
    error = error_for_http_status(vendor, response.status, response.body)
    error.refused = response.status == 429
    return error


def envelope_error(
    vendor: str,
    codes: Mapping[str, type[AigcError]],
    code: str | int,
    message: str,
    *,
    refusing_server_codes: frozenset[str] = frozenset(),
) -> AigcError:
    """The taxonomy error for an error code in the vendor's own envelope, by its table ``codes``
    (an undocumented code is a retryable server error).

    ``refused`` is set when the code proves the vendor declined the request: every documented code
    of a refusing class (rate limit, quota, validation, auth, moderation, unknown job), plus the
    server-error codes in ``refusing_server_codes`` whose document says nothing was processed. An
    undocumented code or a plain server-error code proves nothing: a submit is then unconfirmed.
    """
    documented = codes.get(str(code))
    error = (documented or AigcServerError)(f"{vendor} error {code}: {message}", vendor=vendor, code=code)
    error.refused = documented is not None and (
        not issubclass(documented, AigcServerError) or str(code) in refusing_server_codes
    )
    return error


@dataclass(frozen=True)
class Payload:
    """A decoded JSON body and the raw text an error about it must quote.

    Field readers take the containing mapping and a key; ``opt_*`` readers return None when the
    key is absent or null, the others raise ``AigcServerError`` naming the field.
    """

    vendor: str
    data: Any
    raw: str

    @classmethod
    def from_response(cls, vendor: str, response: HttpResponse) -> Payload:
        """Decode a response body (AigcServerError when it is not JSON)."""
        data = decode_json(vendor, response)
        return cls(vendor, data, response.body.decode("utf-8", "replace"))

    def malformed(self, reason: str) -> AigcServerError:
        """The error for a body that does not match the vendor's documents."""
        return AigcServerError(
            f"{self.vendor} sent an unexpected response ({reason}): {trim(self.raw)}", vendor=self.vendor
        )

    def root(self) -> Mapping[str, Any]:
        """The top-level JSON object."""
        if not isinstance(self.data, Mapping):
            raise self.malformed("expected a JSON object")
        return self.data

    def _get(self, obj: Mapping[str, Any], key: str, types: tuple[type, ...], kind: str) -> Any:
        value = obj.get(key)
        if value is None:
            return None
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise self.malformed(f"field {key!r} should be {kind}, got {type(value).__name__}")
        return value

    def _required(self, value: Any, key: str) -> Any:
        if value is None:
            raise self.malformed(f"field {key!r} is missing")
        return value

    def opt_mapping(self, obj: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
        value: Mapping[str, Any] | None = self._get(obj, key, (Mapping,), "an object")
        return value

    def get_mapping(self, obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value: Mapping[str, Any] = self._required(self.opt_mapping(obj, key), key)
        return value

    def opt_list(self, obj: Mapping[str, Any], key: str) -> list[Any] | None:
        value: list[Any] | None = self._get(obj, key, (list,), "a list")
        return value

    def opt_str(self, obj: Mapping[str, Any], key: str) -> str | None:
        value: str | None = self._get(obj, key, (str,), "a string")
        return value

    def get_str(self, obj: Mapping[str, Any], key: str) -> str:
        value: str = self._required(self.opt_str(obj, key), key)
        return value

    def opt_int(self, obj: Mapping[str, Any], key: str) -> int | None:
        value: int | None = self._get(obj, key, (int,), "an integer")
        return value

    def get_int(self, obj: Mapping[str, Any], key: str) -> int:
        value: int = self._required(self.opt_int(obj, key), key)
        return value

    def opt_number(self, obj: Mapping[str, Any], key: str) -> float | None:
        value: int | float | None = self._get(obj, key, (int, float), "a number")
        try:
            return None if value is None else float(value)
        except OverflowError:
            raise self.malformed(f"field {key!r} is out of range") from None

    def opt_code(self, obj: Mapping[str, Any], key: str) -> str | None:
        """A vendor code given as an integer or a string, normalised to its string form."""
        value: int | str | None = self._get(obj, key, (int, str), "a code")
        return None if value is None else f"{value}".strip()

    def get_code(self, obj: Mapping[str, Any], key: str) -> str:
        value: str = self._required(self.opt_code(obj, key), key)
        return value

    def as_mapping(self, value: Any, what: str) -> Mapping[str, Any]:
        """A list item (or other nested value) that must be a JSON object."""
        if not isinstance(value, Mapping):
            raise self.malformed(f"{what} should be an object, got {type(value).__name__}")
        return value

    def as_non_blank(self, value: Any, what: str) -> str:
        """A value that must be a non-blank string (ids, URLs)."""
        if not isinstance(value, str) or not value.strip():
            raise self.malformed(f"{what} should be a non-blank string, got {trim(repr(value), 80)}")
        return value


def parse_percent(value: object) -> float | None:
    """A progress text such as "37%" as a fraction (0.37); None unless it is a percent 0-100."""
    if not isinstance(value, str):
        return None
    match = _PERCENT.fullmatch(value)
    if match is None:
        return None
    percent = float(match.group(1))
    return percent / 100 if percent <= 100 else None


def to_iso_utc(moment: datetime) -> str:
    """The models' time format: ISO 8601 in UTC, whole seconds; naive values are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def check_app(vendor: str, app: str, apps: Iterable[str]) -> None:
    """Reject an app id the vendor module does not serve."""
    known = sorted(apps)
    if app not in known:
        raise AigcInvalidRequestError(
            f"{vendor} has no app {app!r}; expected one of {', '.join(known)}", vendor=vendor
        )


def known_params(vendor: str, app: str, params: Mapping[str, Any], allowed: Iterable[str]) -> dict[str, Any]:
    """The parameters without None values; names the app does not document are rejected."""
    allowed_names = sorted(allowed)
    unknown = sorted(name for name in params if name not in allowed_names)
    if unknown:
        raise AigcInvalidRequestError(
            f"unknown parameter(s) {', '.join(unknown)} for {vendor} {app}; "
            f"expected {', '.join(allowed_names)}",
            vendor=vendor,
        )
    return {name: value for name, value in params.items() if value is not None}


def validate_text(name: str, value: object, *, source: str, max_length: int | None = None) -> str:
    """A non-blank string, at most ``max_length`` characters; ``source`` names whose limit it is."""
    limit = "a non-blank string" if max_length is None else f"1-{max_length} characters"
    if not isinstance(value, str):
        raise AigcInvalidRequestError(f"{name} must be {limit} ({source} limit), got {type(value).__name__}")
    if not value.strip():
        raise AigcInvalidRequestError(f"{name} must be {limit} ({source} limit), got a blank string")
    if max_length is not None and len(value) > max_length:
        raise AigcInvalidRequestError(f"{name} must be {limit} ({source} limit), got {len(value)}")
    return require_utf8(name, value, source=source)


def require_utf8(name: str, value: str, *, source: str) -> str:
    """``value`` when UTF-8 can encode it: a lone surrogate (e.g. from a badly decoded file) can be
    neither sent, signed nor fingerprinted, so it is refused before any paid call."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise AigcInvalidRequestError(
            f"{name} must be text UTF-8 can encode ({source} limit); character {error.start + 1}"
            f" is {value[error.start]!r}, an unpaired surrogate"
        ) from None
    return value


def validate_int(
    name: str, value: object, *, source: str, minimum: int | None = None, maximum: int | None = None
) -> int:
    """An integer in [minimum, maximum]; "4" (from a template) and 4.0 are taken, bools and 4.5 are not."""
    if minimum is not None and maximum is not None:
        limit = f"an integer {minimum}-{maximum}"
    elif minimum is not None:
        limit = f"an integer >= {minimum}"
    else:
        limit = "an integer" if maximum is None else f"an integer <= {maximum}"
    number = _as_int(value)
    if number is None:
        raise AigcInvalidRequestError(f"{name} must be {limit} ({source} limit), got {value!r}")
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise AigcInvalidRequestError(f"{name} must be {limit} ({source} limit), got {number}")
    return number


def validate_bool(name: str, value: object, *, source: str, vendor: str | None = None) -> bool:
    """A boolean; "true"/"false" (a rendered template) are taken too."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise AigcInvalidRequestError(
        f"{name} must be true or false ({source} limit), got {value!r:.40}", vendor=vendor
    )


def _as_int(value: object) -> int | None:
    """Lossless conversion to int, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        text = value.strip()
        return int(text) if re.fullmatch(r"[+-]?[0-9]{1,18}", text) else None
    return None


def validate_choice(name: str, value: object, choices: Iterable[str], *, source: str) -> str:
    """One of the documented values, compared exactly."""
    options = list(choices)
    if not isinstance(value, str) or value not in options:
        raise AigcInvalidRequestError(
            f"{name} must be one of {', '.join(options)} ({source} limit), got {value!r}"
        )
    return value
