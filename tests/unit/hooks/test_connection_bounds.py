"""Issue 10 item 6: every connection extra the provider defines is checked for type and range.

Before the fix a huge ``output_ttl_seconds`` passed and broke the Baidu parser with a raw
OverflowError in the trigger; huge ``max_retries``/``timeout`` values, malformed host patterns and
unencodable credentials passed too. The errors name the connection, the extra, the problem and the
allowed range, and never quote a secret.
"""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_aigc.exceptions import AigcInvalidRequestError
from airflow_provider_aigc.hooks.connection import (
    MAX_OUTPUT_TTL_SECONDS,
    MAX_RETRIES,
    MAX_TIMEOUT,
    ConnectionSettings,
    read_settings,
)

DEFAULT = "https://pretrain.aminer.cn/api"
SECRET = "s3cr3t-value-never-shown"


def settings(extra: Any = None, **fields: Any) -> ConnectionSettings:
    values: dict[str, Any] = {"host": "http://127.0.0.1:8765", "port": None, "schema": None}
    values.update({"login": "user", "password": "pw", **fields})
    return read_settings("c1", extra={} if extra is None else extra, default_base_url=DEFAULT, **values)


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("output_ttl_seconds", 1e300, "at most 3.16224e+07"),
        ("output_ttl_seconds", 10**400, "at most"),
        ("output_ttl_seconds", "1e400", "at most"),
        ("output_ttl_seconds", MAX_OUTPUT_TTL_SECONDS + 1, "at most"),
        ("output_ttl_seconds", "nan", "more than 0"),
        ("output_ttl_seconds", [3600], "more than 0"),
        ("timeout", MAX_TIMEOUT + 1, "at most 600"),
        ("timeout", 1e308, "at most 600"),
        ("timeout", -5, "more than 0"),
        ("max_retries", MAX_RETRIES + 1, "from 0 to 10"),
        ("max_retries", "99999999999999999999", "from 0 to 10"),
        ("max_retries", 10**30, "from 0 to 10"),
        ("max_retries", [1], "from 0 to 10"),
        ("allow_private_output_hosts", 2, "true or false"),
        ("allow_private_output_hosts", [], "true or false"),
        ("allowed_output_hosts", "https://img.example.com", "bare host names"),
        ("allowed_output_hosts", "img.example.com/path", "bare host names"),
        ("allowed_output_hosts", "img.example.com:443", "bare host names"),
        ("allowed_output_hosts", "user@img.example.com", "bare host names"),
        ("allowed_output_hosts", "img example.com", "bare host names"),
        ("allowed_output_hosts", "*", "bare host names"),
        ("allowed_output_hosts", "*example.com", "bare host names"),
        ("allowed_output_hosts", f"img{chr(0xD800)}.example.com", "bare host names"),
        ("allowed_output_hosts", ",".join(f"h{i}.example.com" for i in range(101)), "at most 100"),
        ("queue", 7, "1-64 printable characters"),
        ("queue", "q" * 65, "1-64 printable characters"),
        ("queue", "queue\n1", "1-64 printable characters"),
        ("queue", "   ", "1-64 printable characters"),
    ],
)
def test_out_of_range_extras_name_the_extra_and_the_allowed_range(
    name: str, value: Any, allowed: str
) -> None:
    with pytest.raises(AigcInvalidRequestError) as raised:
        settings({name: value})
    message = raised.value.message
    assert message.startswith(f"connection 'c1': extra '{name}'")
    assert allowed in message
    assert len(message) < 400


@pytest.mark.parametrize(
    ("name", "value", "read"),
    [
        ("output_ttl_seconds", MAX_OUTPUT_TTL_SECONDS, lambda s: s.output_policy.output_ttl_seconds),
        ("output_ttl_seconds", "90", lambda s: s.output_policy.output_ttl_seconds),
        ("timeout", MAX_TIMEOUT, lambda s: s.timeout),
        ("max_retries", MAX_RETRIES, lambda s: s.max_retries),
        ("max_retries", " 2 ", lambda s: s.max_retries),
        ("allow_private_output_hosts", 1, lambda s: s.output_policy.allow_private_output_hosts),
    ],
)
def test_values_at_the_bounds_are_taken(name: str, value: Any, read: Any) -> None:
    assert read(settings({name: value})) == (float(value) if name != "allow_private_output_hosts" else True)


def test_host_patterns_of_every_documented_form_are_taken() -> None:
    hosts = "img.example.com, *.bcebos.com, 127.0.0.1, [::1], ::1, example.com., under_score.example.com"
    policy = settings({"allowed_output_hosts": hosts}).output_policy
    assert policy.allowed_output_hosts == (
        "img.example.com",
        "*.bcebos.com",
        "127.0.0.1",
        "[::1]",
        "::1",
        "example.com.",
        "under_score.example.com",
    )


@pytest.mark.parametrize("extra", [[1, 2], "text", 5])
def test_an_extra_that_is_not_an_object_is_refused(extra: Any) -> None:
    with pytest.raises(AigcInvalidRequestError, match="extra must be a JSON object"):
        settings(extra)


@pytest.mark.parametrize("name", ["secret_app_key", "app_secret", "secret_des3_key", "app_key", "des3_key"])
@pytest.mark.parametrize("value", [12345678901234567890, ["x"], f"{SECRET}\ud800"])
def test_bad_secret_extras_are_refused_without_showing_the_value(name: str, value: Any) -> None:
    with pytest.raises(AigcInvalidRequestError, match=rf"extra '{name}' must be a string") as raised:
        settings({name: value})
    assert "<hidden>" in raised.value.message
    assert SECRET not in raised.value.message
    assert "1234567890" not in raised.value.message


@pytest.mark.parametrize("field", ["login", "password"])
def test_unencodable_credentials_are_refused_without_showing_them(field: str) -> None:
    with pytest.raises(AigcInvalidRequestError, match=f"{field} must be text UTF-8 can encode") as raised:
        settings(**{field: f"{SECRET}\udc00"})
    assert SECRET not in raised.value.message


@pytest.mark.parametrize(
    ("host", "port"),
    [("http://[::1", None), ("http://h:99999", None), ("http://h", 70000), ("http://h\u0000x", None)],
)
def test_unusable_hosts_and_ports_are_classified(host: str, port: int | None) -> None:
    with pytest.raises(AigcInvalidRequestError, match=r"connection (host|port)"):
        settings(host=host, port=port)


def test_old_secret_names_resolve_to_the_new_ones_and_are_reported() -> None:
    resolved = settings({"app_key": "ak-123456", "des3_key": "dk-123456", "app_secret": "as-123456"})
    assert resolved.secret_extra("secret_app_key") == "ak-123456"
    assert resolved.secret_extra("secret_des3_key") == "dk-123456"
    assert resolved.deprecated_extras == (("app_key", "secret_app_key"), ("des3_key", "secret_des3_key"))
    assert set(resolved.secrets()) == {"user", "pw", "ak-123456", "as-123456", "dk-123456"}
    fresh = settings({"secret_app_key": "ak-123456", "secret_des3_key": "dk-123456"})
    assert fresh.deprecated_extras == ()
    assert fresh.secret_extra("secret_des3_key") == "dk-123456"
