"""Reading an AIGC connection: base URL, call limits and output policy from its fields and extras.

Kept apart from the hooks so the parsing rules are plain functions, tested without Airflow.
A bad value fails with ``AigcInvalidRequestError`` naming the connection and the field, so
the task fails fast with a message that says what to fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from airflow_provider_aigc.exceptions import AigcInvalidRequestError

if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 3
# Extras that are credentials (Zhipu key derivation): masked as soon as they are read.
SECRET_EXTRAS = ("app_key", "app_secret", "des3_key")

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})


@dataclass(frozen=True)
class OutputPolicy:
    """What the archive step may fetch from a connection's outputs, and how long URLs live."""

    allowed_output_hosts: tuple[str, ...] = ()
    allow_private_output_hosts: bool = False
    output_ttl_seconds: float | None = None


@dataclass(frozen=True)
class ConnectionSettings:
    """Everything a hook needs from one connection, resolved once per hook instance."""

    conn_id: str
    base_url: str
    login: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    output_policy: OutputPolicy = OutputPolicy()
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def extra_text(self, name: str) -> str | None:
        """A string extra, None when absent or blank."""
        value = self.extra.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str):
            raise _invalid(self.conn_id, name, "must be a string", value)
        return value

    def secrets(self) -> tuple[str, ...]:
        """The credential values this connection holds (for the secrets masker)."""
        values = (self.login, self.password, *(self.extra_text(name) for name in SECRET_EXTRAS))
        return tuple(value for value in values if value)


def base_url(host: str | None, port: int | None, schema: str | None, default: str) -> str:
    """The vendor base URL: ``host`` with its scheme (bare hostname: https), ``port`` and ``schema``
    (a path prefix) applied when set; an empty host means the vendor's default base URL."""
    text = (host or "").strip()
    if not text:
        return default.rstrip("/")
    parts = urlsplit(text if "://" in text else f"https://{text}")
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise AigcInvalidRequestError(
            f"connection host {text!r} is not a base URL; use e.g. https://pretrain.aminer.cn/api"
            " or http://127.0.0.1:8765"
        )
    if parts.query or parts.fragment:
        raise AigcInvalidRequestError(f"connection host {text!r} must not carry a query or fragment")
    netloc = parts.netloc
    if port:
        hostname = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        netloc = f"{hostname}:{port}"
    path = parts.path.rstrip("/")
    if schema and schema.strip("/ "):
        path = f"{path}/{schema.strip('/ ')}"
    return urlunsplit((scheme, netloc, path, "", ""))


def origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL: the unit sessions are shared by."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def read_settings(
    conn_id: str,
    *,
    host: str | None,
    port: int | None,
    schema: str | None,
    login: str | None,
    password: str | None,
    extra: Mapping[str, Any],
    default_base_url: str,
) -> ConnectionSettings:
    """Validate a connection's fields and extras into ``ConnectionSettings``."""
    timeout = _seconds(conn_id, extra, "timeout")
    return ConnectionSettings(
        conn_id=conn_id,
        base_url=base_url(host, port, schema, default_base_url),
        login=login or None,
        password=password or None,
        timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
        max_retries=_count(conn_id, extra, "max_retries", DEFAULT_MAX_RETRIES),
        output_policy=OutputPolicy(
            allowed_output_hosts=_hosts(conn_id, extra.get("allowed_output_hosts")),
            allow_private_output_hosts=_flag(conn_id, extra, "allow_private_output_hosts"),
            output_ttl_seconds=_seconds(conn_id, extra, "output_ttl_seconds"),
        ),
        extra=dict(extra),
    )


def _invalid(conn_id: str, name: str, rule: str, value: object) -> AigcInvalidRequestError:
    return AigcInvalidRequestError(f"connection {conn_id!r}: extra {name!r} {rule}, got {value!r}")


def _seconds(conn_id: str, extra: Mapping[str, Any], name: str) -> float | None:
    value = extra.get(name)
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not number > 0 or number == float("inf"):
        raise _invalid(conn_id, name, "must be a positive number of seconds", value)
    return number


def _count(conn_id: str, extra: Mapping[str, Any], name: str, default: int) -> int:
    value = extra.get(name)
    if value is None or value == "":
        return default
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit():
        raise _invalid(conn_id, name, "must be a whole number >= 0", value)
    return int(text)


def _flag(conn_id: str, extra: Mapping[str, Any], name: str) -> bool:
    value = extra.get(name)
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _invalid(conn_id, name, "must be true or false", value)


def _hosts(conn_id: str, value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        items: list[object] = list(value.split(","))
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise _invalid(conn_id, "allowed_output_hosts", "must be a list or a comma-separated string", value)
    if not all(isinstance(item, str) for item in items):
        raise _invalid(conn_id, "allowed_output_hosts", "must hold host names (strings)", value)
    return tuple(dict.fromkeys(str(item).strip().lower() for item in items if str(item).strip()))
