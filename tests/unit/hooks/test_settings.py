from __future__ import annotations

import pytest

from airflow_provider_aigc.exceptions import AigcInvalidRequestError
from airflow_provider_aigc.hooks.connection import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    ConnectionSettings,
    OutputPolicy,
    base_url,
    origin,
    read_settings,
)

DEFAULT = "https://pretrain.aminer.cn/api"


@pytest.mark.parametrize(
    ("host", "port", "schema", "expected"),
    [
        ("https://pretrain.aminer.cn/api", None, None, "https://pretrain.aminer.cn/api"),
        ("https://pretrain.aminer.cn/api/", None, None, "https://pretrain.aminer.cn/api"),
        ("http://127.0.0.1:8765", None, None, "http://127.0.0.1:8765"),
        ("HTTP://127.0.0.1:8765", None, None, "http://127.0.0.1:8765"),
        ("gpt.aminer.cn", None, None, "https://gpt.aminer.cn"),
        ("  gpt.aminer.cn  ", None, None, "https://gpt.aminer.cn"),
        ("http://127.0.0.1", 8765, None, "http://127.0.0.1:8765"),
        ("http://127.0.0.1:1", 8765, None, "http://127.0.0.1:8765"),
        ("pretrain.aminer.cn", None, "api", "https://pretrain.aminer.cn/api"),
        ("pretrain.aminer.cn", 8443, "/api/", "https://pretrain.aminer.cn:8443/api"),
        ("https://example.com/base", None, "v2", "https://example.com/base/v2"),
        ("http://[::1]", 8765, None, "http://[::1]:8765"),
        (None, None, None, DEFAULT),
        ("", 8765, "ignored", DEFAULT),
        ("   ", None, None, DEFAULT),
    ],
)
def test_base_url(host: str | None, port: int | None, schema: str | None, expected: str) -> None:
    assert base_url(host, port, schema, DEFAULT) == expected


@pytest.mark.parametrize(
    "host", ["ftp://example.com", "https://", "https://example.com/api?x=1", "http://a#b"]
)
def test_base_url_rejects_what_is_not_a_base_url(host: str) -> None:
    with pytest.raises(AigcInvalidRequestError, match="connection host"):
        base_url(host, None, None, DEFAULT)


def test_origin_is_scheme_host_and_port() -> None:
    assert origin("http://127.0.0.1:8765/api/v1") == "http://127.0.0.1:8765"
    assert origin("https://aip.baidubce.com") == "https://aip.baidubce.com"


def _settings(**extra: object) -> ConnectionSettings:
    return read_settings(
        "c1",
        host="http://127.0.0.1:8765",
        port=None,
        schema=None,
        login="user",
        password="pw",
        extra=extra,
        default_base_url=DEFAULT,
    )


def test_defaults_when_no_extras() -> None:
    settings = _settings()
    assert settings.timeout == DEFAULT_TIMEOUT
    assert settings.max_retries == DEFAULT_MAX_RETRIES
    assert settings.output_policy == OutputPolicy((), False, None)


def test_extras_are_read_and_normalised() -> None:
    settings = _settings(
        timeout="12.5",
        max_retries="5",
        output_ttl_seconds=3600,
        allowed_output_hosts="Img.Example.com, cdn.example.com,,img.example.com",
        allow_private_output_hosts="true",
    )
    assert settings.timeout == 12.5
    assert settings.max_retries == 5
    assert settings.output_policy == OutputPolicy(("img.example.com", "cdn.example.com"), True, 3600.0)


def test_allowed_output_hosts_accepts_a_list_and_flags_accept_false_strings() -> None:
    settings = _settings(
        allowed_output_hosts=["a.example.com", "B.example.com"], allow_private_output_hosts="False"
    )
    assert settings.output_policy.allowed_output_hosts == ("a.example.com", "b.example.com")
    assert settings.output_policy.allow_private_output_hosts is False


def test_max_retries_zero_is_allowed() -> None:
    assert _settings(max_retries=0).max_retries == 0


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"timeout": "soon"}, "timeout"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": True}, "timeout"),
        ({"output_ttl_seconds": -1}, "output_ttl_seconds"),
        ({"max_retries": "-1"}, "max_retries"),
        ({"max_retries": 1.5}, "max_retries"),
        ({"allow_private_output_hosts": "maybe"}, "allow_private_output_hosts"),
        ({"allowed_output_hosts": 5}, "allowed_output_hosts"),
        ({"allowed_output_hosts": ["ok.example.com", 5]}, "allowed_output_hosts"),
    ],
)
def test_bad_extras_name_the_connection_and_field(extra: dict[str, object], field: str) -> None:
    with pytest.raises(AigcInvalidRequestError, match=rf"connection 'c1': extra '{field}'"):
        _settings(**extra)


def test_secrets_lists_credentials_and_secret_extras_only() -> None:
    settings = _settings(app_key="ak-123456", app_secret="as-123456", des3_key="dk-123456", queue="queue1")
    assert set(settings.secrets()) == {"user", "pw", "ak-123456", "as-123456", "dk-123456"}
    assert "pw" not in repr(settings)
    assert "as-123456" not in repr(settings)


def test_a_non_string_secret_extra_is_rejected() -> None:
    with pytest.raises(AigcInvalidRequestError, match="extra 'app_key' must be a string"):
        _settings(app_key=123).secrets()


@pytest.mark.parametrize(("value", "expected"), [(None, None), ("", None), (0, 0), ("3", 3), (999, 999)])
def test_max_running_jobs_is_unset_zero_or_a_count(value: object, expected: int | None) -> None:
    extra = {} if value is None else {"max_running_jobs": value}
    assert _settings(**extra).max_running_jobs == expected


@pytest.mark.parametrize("value", [-1, 1000, "two", True, 1.5])
def test_a_bad_max_running_jobs_names_the_extra(value: object) -> None:
    with pytest.raises(AigcInvalidRequestError, match="'max_running_jobs' must be a whole number"):
        _settings(max_running_jobs=value)
