"""Reading an AIGC connection: base URL, call limits and output policy from its fields and extras.

Kept apart from the hooks so the parsing rules are plain functions, tested without Airflow.
Every extra the provider defines is checked for type and range here, once, before any call: a
bad value fails with ``AigcInvalidRequestError`` naming the connection, the extra, what is wrong
and the allowed range, so the task fails fast with a message that says what to fix. Values of
secret extras are never quoted.
"""

from __future__ import annotations

import contextlib
import ipaddress
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from airflow_provider_aigc.exceptions import AigcInvalidRequestError, trim

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 3
# Sane bounds: a request waits at most 10 minutes; a call is repeated at most 10 times (each
# repeat may wait up to 2 minutes); an output URL is assumed valid for at most a year.
MAX_TIMEOUT = 600.0
MAX_RETRIES = 10
MAX_OUTPUT_TTL_SECONDS = 366 * 86400.0
MAX_ALLOWED_HOSTS = 100
MAX_QUEUE_CHARS = 64

# Credential extras (Zhipu key derivation), canonical name -> the name it had before 0.2.
# The new names contain "secret", which Airflow's REST API and UI hide (its ``redact`` matches
# sensitive words inside extra names); the old ones are shown in clear, so they still work, but
# the hook logs a warning (``ConnectionSettings.deprecated_extras``).
SECRET_EXTRA_RENAMES: dict[str, str] = {
    "secret_app_key": "app_key",
    "app_secret": "app_secret",
    "secret_des3_key": "des3_key",
}
SECRET_EXTRAS = tuple(dict.fromkeys([*SECRET_EXTRA_RENAMES, *SECRET_EXTRA_RENAMES.values()]))

# The largest ``max_running_jobs`` extra accepted (vendors grant tens, not thousands).
MAX_RUNNING_JOBS = 999
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")


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
    # The ``max_running_jobs`` extra: None when unset (the vendor's documented default applies),
    # 0 for "no limit known".
    max_running_jobs: int | None = None
    output_policy: OutputPolicy = OutputPolicy()
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)
    # Secret extras under their canonical names (old names resolved), never printed.
    secret_extras: Mapping[str, str] = field(default_factory=dict, repr=False)
    # Old extra names in use, as (old, new) pairs: the hook warns about them.
    deprecated_extras: tuple[tuple[str, str], ...] = ()

    def extra_text(self, name: str) -> str | None:
        """A string extra, None when absent or blank."""
        value = self.extra.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str):
            raise _invalid(self.conn_id, name, "must be a string", value)
        return value

    def extra_flag(self, name: str) -> bool:
        """A boolean extra (true/false, yes/no, 1/0; absent is false); anything else is refused."""
        return _flag(self.conn_id, self.extra, name)

    def secret_extra(self, name: str) -> str | None:
        """A credential extra by its canonical name (``secret_app_key``, ``app_secret``,
        ``secret_des3_key``), also when the connection still uses the old name."""
        return self.secret_extras.get(name)

    def secrets(self) -> tuple[str, ...]:
        """The credential values this connection holds (for the secrets masker)."""
        values = (self.login, self.password, *self.secret_extras.values())
        return tuple(value for value in values if value)


def base_url(host: str | None, port: int | None, schema: str | None, default: str) -> str:
    """The vendor base URL: ``host`` with its scheme (bare hostname: https), ``port`` and ``schema``
    (a path prefix) applied when set; an empty host means the vendor's default base URL."""
    text = (host or "").strip()
    if not text:
        return default.rstrip("/")
    if not _encodable(text) or any(ch.isspace() or not ch.isprintable() for ch in text):
        raise AigcInvalidRequestError(f"connection host {trim(repr(text), 80)} holds unusable characters")
    try:
        parts = urlsplit(text if "://" in text else f"https://{text}")
        parts.port  # noqa: B018 - raises ValueError for a port that is not 0-65535
    except ValueError:
        raise AigcInvalidRequestError(
            f"connection host {trim(repr(text), 80)} is not a base URL (unreadable host or port)"
        ) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise AigcInvalidRequestError(
            f"connection host {trim(repr(text), 80)} is not a base URL; use e.g."
            " https://pretrain.aminer.cn/api or http://127.0.0.1:8765"
        )
    if parts.query or parts.fragment:
        raise AigcInvalidRequestError(
            f"connection host {trim(repr(text), 80)} must not carry a query or fragment"
        )
    netloc = parts.netloc
    if port:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise AigcInvalidRequestError(f"connection port must be 1-65535, got {trim(repr(port), 40)}")
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
    if not isinstance(extra, Mapping):
        raise AigcInvalidRequestError(
            f"connection {conn_id!r}: extra must be a JSON object, got {type(extra).__name__}"
        )
    for name, value in (("login", login), ("password", password), ("schema", schema)):
        if value is not None and (not isinstance(value, str) or not _encodable(value)):
            raise AigcInvalidRequestError(
                f"connection {conn_id!r}: {name} must be text UTF-8 can encode"
                " (it holds an unpaired surrogate or is not a string)"
            )
    timeout = _seconds(conn_id, extra, "timeout", MAX_TIMEOUT)
    _queue(conn_id, extra)
    secrets, deprecated = _secret_extras(conn_id, extra)
    return ConnectionSettings(
        conn_id=conn_id,
        base_url=base_url(host, port, schema, default_base_url),
        login=login or None,
        password=password or None,
        timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
        max_retries=_count(conn_id, extra, "max_retries", DEFAULT_MAX_RETRIES, MAX_RETRIES),
        max_running_jobs=(
            None
            if extra.get("max_running_jobs") in (None, "")
            else _count(conn_id, extra, "max_running_jobs", 0, MAX_RUNNING_JOBS)
        ),
        output_policy=OutputPolicy(
            allowed_output_hosts=_hosts(conn_id, extra.get("allowed_output_hosts")),
            allow_private_output_hosts=_flag(conn_id, extra, "allow_private_output_hosts"),
            output_ttl_seconds=_seconds(conn_id, extra, "output_ttl_seconds", MAX_OUTPUT_TTL_SECONDS),
        ),
        extra=dict(extra),
        secret_extras=secrets,
        deprecated_extras=deprecated,
    )


def _encodable(text: str) -> bool:
    """Whether UTF-8 can encode ``text`` (a lone surrogate cannot be sent, hashed or signed)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _invalid(conn_id: str, name: str, rule: str, value: object) -> AigcInvalidRequestError:
    shown = "<hidden>" if name in SECRET_EXTRAS else trim(repr(value), 80)
    return AigcInvalidRequestError(f"connection {conn_id!r}: extra {name!r} {rule}, got {shown}")


def _seconds(conn_id: str, extra: Mapping[str, Any], name: str, maximum: float) -> float | None:
    value = extra.get(name)
    if value is None or value == "":
        return None
    number = float("nan")
    if not isinstance(value, bool) and isinstance(value, (int, float, str)):
        with contextlib.suppress(ValueError, OverflowError):
            number = float(value)
    if not (math.isfinite(number) and 0 < number <= maximum):
        raise _invalid(
            conn_id, name, f"must be a number of seconds, more than 0 and at most {maximum:g}", value
        )
    return number


def _count(conn_id: str, extra: Mapping[str, Any], name: str, default: int, maximum: int) -> int:
    value = extra.get(name)
    if value is None or value == "":
        return default
    text = value.strip() if isinstance(value, str) else str(value) if isinstance(value, int) else ""
    if isinstance(value, bool) or not re.fullmatch(r"[0-9]{1,3}", text) or int(text) > maximum:
        raise _invalid(conn_id, name, f"must be a whole number from 0 to {maximum}", value)
    return int(text)


def _flag(conn_id: str, extra: Mapping[str, Any], name: str) -> bool:
    value = extra.get(name)
    if value is None or isinstance(value, bool):
        return bool(value)
    text = value.strip().lower() if isinstance(value, str) else str(value) if isinstance(value, int) else "?"
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _invalid(conn_id, name, "must be true or false", value)


def _queue(conn_id: str, extra: Mapping[str, Any]) -> None:
    """Zhipu's default queue (the request's ``key``): short printable text when set."""
    value = extra.get("queue")
    if value is None or value == "":
        return
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > MAX_QUEUE_CHARS
        or not value.isprintable()
        or not _encodable(value)
    ):
        raise _invalid(
            conn_id, "queue", f"must be a queue name of 1-{MAX_QUEUE_CHARS} printable characters", value
        )


def _hosts(conn_id: str, value: object) -> tuple[str, ...]:
    name = "allowed_output_hosts"
    if value is None:
        return ()
    if isinstance(value, str):
        items: list[object] = list(value.split(","))
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise _invalid(conn_id, name, "must be a list or a comma-separated string", value)
    if not all(isinstance(item, str) for item in items):
        raise _invalid(conn_id, name, "must hold host names (strings)", value)
    hosts = tuple(dict.fromkeys(str(item).strip().lower() for item in items if str(item).strip()))
    if len(hosts) > MAX_ALLOWED_HOSTS:
        raise _invalid(conn_id, name, f"may list at most {MAX_ALLOWED_HOSTS} hosts", f"{len(hosts)} hosts")
    for host in hosts:
        if not _host_pattern(host):
            raise _invalid(
                conn_id,
                name,
                "must hold bare host names (img.example.com), *.suffix patterns or IP addresses,"
                " without scheme, port, path or spaces",
                host,
            )
    return hosts


def _host_pattern(text: str) -> bool:
    """A host name, ``*.suffix`` or IP address (IPv6 bare or in brackets), as URL hosts compare."""
    bare = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        ipaddress.ip_address(bare)
    except ValueError:
        pass
    else:
        return True
    name = text[2:] if text.startswith("*.") else text
    name = name.rstrip(".") if name.endswith(".") and not name.endswith("..") else name
    labels = name.split(".")
    return 0 < len(name) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in labels)


def _secret_extras(
    conn_id: str, extra: Mapping[str, Any]
) -> tuple[dict[str, str], tuple[tuple[str, str], ...]]:
    """The credential extras under their canonical names, and the old names that were used."""
    found: dict[str, str] = {}
    deprecated: list[tuple[str, str]] = []
    for name, old in SECRET_EXTRA_RENAMES.items():
        value, old_value = _secret_text(conn_id, extra, name), _secret_text(conn_id, extra, old)
        if old != name and old_value is not None:
            if value is not None and value != old_value:
                raise AigcInvalidRequestError(
                    f"connection {conn_id!r}: extras {name!r} and {old!r} (its old name) are both set,"
                    f" to different values; keep only {name!r}"
                )
            deprecated.append((old, name))
            value = value or old_value
        if value is not None:
            found[name] = value
    return found, tuple(deprecated)


def _secret_text(conn_id: str, extra: Mapping[str, Any], name: str) -> str | None:
    value = extra.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or not _encodable(value):
        raise _invalid(conn_id, name, "must be a string UTF-8 can encode", value)
    return value
