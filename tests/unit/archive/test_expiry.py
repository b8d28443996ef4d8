from __future__ import annotations

from datetime import datetime, timezone

import pytest

from airflow_provider_aigc.archive.expiry import check_not_expired, validity_note
from airflow_provider_aigc.exceptions import AigcOutputExpiredError
from tests.unit.archive.jobs import image, succeeded

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("vendor", "ttl", "says"),
    [
        ("baidu", None, "valid for 1 hour"),
        ("jumdata", None, "valid for 3 months"),
        ("zhipu", None, "does not document"),
        ("zhipu", 86400.0, "output_ttl_seconds=86400"),
    ],
)
def test_validity_note_names_the_vendor_documentation(vendor: str, ttl: float | None, says: str) -> None:
    assert says in validity_note(vendor, ttl)


def test_outputs_not_yet_expired_pass() -> None:
    job = succeeded(
        image(0, "http://x/0.png", expires_at="2024-05-01T12:00:01+00:00"), image(1, "http://x/1.png")
    )
    check_not_expired(job, job.outputs, NOW, None)


def test_an_expired_output_names_its_expiry_time() -> None:
    job = succeeded(
        image(0, "http://x/0.png", expires_at="2024-05-01T13:00:00+00:00"),
        image(1, "http://x/1.png", expires_at="2024-05-01T11:00:00+00:00"),
    )
    with pytest.raises(AigcOutputExpiredError) as info:
        check_not_expired(job, job.outputs, NOW, None)
    message = info.value.message
    assert "output 1 of job job-1 expired at 2024-05-01T11:00:00+00:00" in message
    assert "valid for 1 hour" in message
    assert info.value.vendor == "baidu"
