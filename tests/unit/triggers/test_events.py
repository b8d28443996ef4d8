"""The trigger event schema: every builder round-trips, anything else is rejected."""

from __future__ import annotations

from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException

from airflow_provider_aigc.exceptions import AigcContentRejectedError, AigcServerError
from airflow_provider_aigc.models import JobState
from airflow_provider_aigc.triggers.events import JobEvent
from tests.unit.triggers.factories import JOB_ID, failed_status, job_status

SUCCEEDED = job_status(JobState.SUCCEEDED, 1.0)
FAILED = failed_status("AigcContentRejectedError", "blocked", "501")


@pytest.mark.parametrize(
    "event",
    [
        JobEvent.success(SUCCEEDED),
        JobEvent.job_failed(FAILED),
        JobEvent.polling_failed(JOB_ID, AigcServerError("503", code=503), "gave up"),
        JobEvent.timeout(JOB_ID, "late", job_status(JobState.RUNNING, 0.5)),
        JobEvent.timeout(JOB_ID, "late", None),
    ],
)
def test_every_event_round_trips_through_its_payload(event: JobEvent) -> None:
    assert JobEvent.from_payload(event.to_payload()) == event


def test_a_failed_job_without_a_known_error_class_counts_as_job_failed() -> None:
    event = JobEvent.job_failed(failed_status("SomethingNew", "odd"))

    assert (event.error_type, event.message) == ("AigcJobFailedError", "odd")


def test_an_error_event_rebuilds_its_taxonomy_exception() -> None:
    error = JobEvent.job_failed(FAILED).to_error()

    assert isinstance(error, AigcContentRejectedError)
    assert (error.message, error.vendor, error.code) == ("blocked", "zhipu", "501")


def _payload(**changes: Any) -> dict[str, Any]:
    return {**JobEvent.success(SUCCEEDED).to_payload(), **changes}


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (None, "expected a dict"),
        ("success", "expected a dict"),
        ({"status": "success"}, "expected exactly the keys"),
        ({**_payload(), "extra": 1}, "expected exactly the keys"),
        (_payload(status="done"), "unknown status 'done'"),
        (_payload(job_id=""), "job_id and message must be strings"),
        (_payload(message=None), "job_id and message must be strings"),
        (_payload(job="{}"), "job must be a JobStatus dict or null"),
        (_payload(job={"vendor": "zhipu"}), "job is not a JobStatus dict"),
        (_payload(job={**SUCCEEDED.to_dict(), "state": "DONE"}), "job is not a JobStatus dict"),
        (_payload(job_id="other"), "job.job_id differs from job_id"),
        (_payload(job=None), "a success event needs a SUCCEEDED job"),
        (_payload(job=job_status(JobState.RUNNING).to_dict()), "a success event needs a SUCCEEDED job"),
        (_payload(error_type="AigcServerError"), "a success event carries no error_type"),
        (_payload(code=7), "code must be a string or null"),
        (_payload(status="error", error_type="KeyError"), "unknown error_type 'KeyError'"),
        (_payload(status="error", error_type="AigcJobFailedError"), "an error event's job must be FAILED"),
        (_payload(status="timeout"), "a timeout event's job cannot be finished"),
    ],
)
def test_malformed_events_are_rejected(payload: object, reason: str) -> None:
    with pytest.raises(AirflowException, match=reason):
        JobEvent.from_payload(payload)
