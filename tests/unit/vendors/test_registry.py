"""The vendor registry and what every spec declares (the code tables moved here from exceptions.py)."""

from __future__ import annotations

import pytest

from airflow_provider_aigc.exceptions import (
    EXCEPTION_CLASSES,
    AigcAuthError,
    AigcConcurrencyLimitError,
    AigcContentRejectedError,
    AigcError,
    AigcInvalidRequestError,
    AigcJobFailedError,
    AigcQuotaExceededError,
    AigcRateLimitError,
    AigcServerError,
    AigcUnknownJobError,
)
from airflow_provider_aigc.vendors import baidu
from airflow_provider_aigc.vendors.common import envelope_error
from airflow_provider_aigc.vendors.registry import VENDORS, spec_for


@pytest.mark.parametrize(
    ("vendor", "code", "cls"),
    [
        ("zhipu", 10001, AigcAuthError),
        ("zhipu", 10003, AigcRateLimitError),
        ("zhipu", 10004, AigcQuotaExceededError),
        ("baidu", 111, AigcAuthError),
        ("baidu", 15, AigcConcurrencyLimitError),
        ("baidu", 4, AigcQuotaExceededError),
        ("baidu", 17, AigcQuotaExceededError),
        ("baidu", 282004, AigcInvalidRequestError),
        ("baidu", 216630, AigcServerError),
        ("jumdata", 201, AigcUnknownJobError),
        ("jumdata", 202, AigcContentRejectedError),
        ("jumdata", 607, AigcAuthError),
        ("jumdata", 609, AigcRateLimitError),
        ("jumdata", 999, AigcServerError),
    ],
)
def test_documented_codes_map_to_their_class(vendor: str, code: int, cls: type[AigcError]) -> None:
    error = envelope_error(vendor, spec_for(vendor).error_codes, code, "message")
    assert type(error) is cls
    assert (error.code, error.vendor) == (str(code), vendor)


def test_baidu_sub_task_codes_are_their_own_namespace() -> None:
    assert {"501": AigcContentRejectedError, "201": AigcJobFailedError} == baidu.SUB_TASK_ERROR_CODES
    assert baidu.ERROR_CODES.get("501") is None


def test_unknown_code_is_a_retryable_server_error_that_proves_nothing() -> None:
    error = envelope_error("jumdata", spec_for("jumdata").error_codes, 12345, "odd")
    assert isinstance(error, AigcServerError)
    assert error.retryable
    assert not error.refused


def test_every_mapped_class_is_in_the_family() -> None:
    mapped = {cls for spec in VENDORS.values() for cls in spec.error_codes.values()}
    assert mapped | set(baidu.SUB_TASK_ERROR_CODES.values()) <= set(EXCEPTION_CLASSES.values())


def test_each_spec_is_complete_and_registered_under_its_name() -> None:
    assert sorted(VENDORS) == ["baidu", "bigmodel", "dashscope", "jumdata", "zhipu"]
    for name, spec in VENDORS.items():
        assert spec.name == name
        assert set(spec.poll_intervals) == spec.apps == set(spec.prompt_fields)
        assert spec.hook_class.startswith(f"airflow_provider_aigc.hooks.{name}.")


def test_an_unknown_vendor_is_an_invalid_request() -> None:
    with pytest.raises(AigcInvalidRequestError, match="unknown vendor 'openai'; expected one of baidu"):
        spec_for("openai")
