"""The one event ``AigcJobTrigger`` fires and ``AigcJobSensor`` resumes with.

Every event has the same keys, JSON primitives only (URLs and text, never bytes or secrets):

``status``
    ``"success"`` (the job SUCCEEDED), ``"error"`` (the job FAILED, or polling it failed for good)
    or ``"timeout"`` (the job was still unfinished at the sensor's deadline).
``job_id``
    The vendor's job id the trigger watched.
``message``
    What happened, for the task log.
``job``
    The last ``JobStatus`` dict seen: required for ``success`` (state SUCCEEDED); for ``error`` it is
    set when the vendor failed the job (state FAILED) and null when polling failed.
``error_type`` / ``code``
    For ``error`` only: the taxonomy class name (``airflow_provider_aigc.exceptions``) and the
    vendor's code, if any.

``JobEvent.from_payload`` accepts exactly this schema and raises ``AirflowException`` for anything
else, so the sensor never acts on an event it does not understand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from airflow.sdk.exceptions import AirflowException

from airflow_provider_aigc.exceptions import EXCEPTION_CLASSES, AigcError, trim
from airflow_provider_aigc.models import JobState, JobStatus

EventStatus = Literal["success", "error", "timeout"]
EVENT_STATUSES: frozenset[str] = frozenset({"success", "error", "timeout"})
EVENT_KEYS = frozenset({"status", "job_id", "message", "job", "error_type", "code"})


@dataclass(frozen=True)
class JobEvent:
    """A trigger event, validated."""

    status: EventStatus
    job_id: str
    message: str
    job: JobStatus | None = None
    error_type: str | None = None
    code: str | None = None

    @classmethod
    def success(cls, job: JobStatus) -> JobEvent:
        return cls("success", job.job_id, f"{job.vendor} job {job.job_id} succeeded", job=job)

    @classmethod
    def job_failed(cls, job: JobStatus) -> JobEvent:
        """The vendor failed the job; the error comes from the job's own ``JobError``."""
        error_type = job.error.type if job.error and job.error.type in EXCEPTION_CLASSES else None
        return cls(
            "error",
            job.job_id,
            job.error.message if job.error else "the vendor reported the job as failed",
            job=job,
            error_type=error_type or "AigcJobFailedError",
            code=job.error.code if job.error else None,
        )

    @classmethod
    def polling_failed(cls, job_id: str, error: AigcError, message: str) -> JobEvent:
        return cls("error", job_id, message, error_type=type(error).__name__, code=error.code)

    @classmethod
    def timeout(cls, job_id: str, message: str, last_seen: JobStatus | None) -> JobEvent:
        return cls("timeout", job_id, message, job=last_seen)

    def to_payload(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "job_id": self.job_id,
            "message": self.message,
            "job": self.job.to_dict() if self.job else None,
            "error_type": self.error_type,
            "code": self.code,
        }

    def to_error(self) -> AigcError:
        """The taxonomy exception an ``error`` event stands for."""
        cls = EXCEPTION_CLASSES[self.error_type or "AigcError"]
        vendor = self.job.vendor if self.job else None
        return cls(self.message, vendor=vendor, code=self.code)

    @classmethod
    def from_payload(cls, payload: object) -> JobEvent:
        """Validate a payload against the schema above; anything else raises ``AirflowException``."""
        if not isinstance(payload, Mapping):
            raise _malformed(payload, "expected a dict")
        if set(payload) != EVENT_KEYS:
            raise _malformed(payload, f"expected exactly the keys {sorted(EVENT_KEYS)}")
        status, job_id, message = payload["status"], payload["job_id"], payload["message"]
        error_type, code = payload["error_type"], payload["code"]
        if not isinstance(status, str) or status not in EVENT_STATUSES:
            raise _malformed(payload, f"unknown status {status!r}")
        if not isinstance(job_id, str) or not job_id or not isinstance(message, str):
            raise _malformed(payload, "job_id and message must be strings")
        if code is not None and not isinstance(code, str):
            raise _malformed(payload, "code must be a string or null")
        job = _job(payload)
        if job is not None and job.job_id != job_id:
            raise _malformed(payload, "job.job_id differs from job_id")
        if status == "error":
            if not isinstance(error_type, str) or error_type not in EXCEPTION_CLASSES:
                raise _malformed(payload, f"unknown error_type {error_type!r}")
            if job is not None and job.state is not JobState.FAILED:
                raise _malformed(payload, "an error event's job must be FAILED")
        elif error_type is not None or code is not None:
            raise _malformed(payload, f"a {status} event carries no error_type or code")
        if status == "success" and (job is None or job.state is not JobState.SUCCEEDED):
            raise _malformed(payload, "a success event needs a SUCCEEDED job")
        if status == "timeout" and job is not None and job.is_terminal:
            raise _malformed(payload, "a timeout event's job cannot be finished")
        return cls(cast("EventStatus", status), job_id, message, job=job, error_type=error_type, code=code)


def _job(payload: Mapping[str, Any]) -> JobStatus | None:
    data = payload["job"]
    if data is None:
        return None
    if not isinstance(data, dict):
        raise _malformed(payload, "job must be a JobStatus dict or null")
    try:
        return JobStatus.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise _malformed(payload, f"job is not a JobStatus dict ({type(error).__name__}: {error})") from None


def _malformed(payload: object, reason: str) -> AirflowException:
    return AirflowException(f"Unexpected event from AigcJobTrigger ({reason}): {trim(payload)}")
