"""What a one-task generate-to-S3 task keeps in its ``task_state_store`` beside the submit's ``aigc_job``.

``aigc_job`` (``operators.job_state``) already makes a task instance buy one job per request. The
one-task mode adds one key, ``GENERATE_STATE_KEY``, so that a later try also resumes *after* the
wait: the finished ``JobStatus`` (a retry archives at once, without waiting or asking the vendor
again), every job this task instance bought with what each was billed, and how many failed jobs
it has replaced (bounded by the operator's ``resubmit_failed_jobs``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from airflow_provider_aigc.models import JobStatus

# The key in task_state_store. Renaming it makes tries in flight wait for (not buy) their job again.
GENERATE_STATE_KEY = "aigc_generate"


@dataclass(frozen=True)
class Purchase:
    """One job this task instance bought, and what the vendor billed for it once it finished."""

    job_id: str
    state: str | None = None
    billed_units: int | None = None
    billed_unit: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "state": self.state,
            "billed_units": self.billed_units,
            "billed_unit": self.billed_unit,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Purchase:
        units = data.get("billed_units")
        return cls(
            job_id=str(data["job_id"]),
            state=data.get("state"),
            billed_units=units if isinstance(units, int) and not isinstance(units, bool) else None,
            billed_unit=data.get("billed_unit"),
        )


@dataclass(frozen=True)
class GenerateRecord:
    """The one-task mode's progress across the tries of one task instance.

    :param purchases: every job bought, oldest first (a job reused by a retry is listed once).
    :param resubmits: how many of them replaced a job the vendor failed.
    :param finished: the last job's terminal status, once seen (URLs included: the archive
        needs them, as the sensor's XCom does in the three-task chain).
    """

    purchases: tuple[Purchase, ...] = ()
    resubmits: int = 0
    finished: JobStatus | None = None

    def bought(self, job_id: str) -> GenerateRecord:
        """This record with ``job_id`` listed (unchanged when it already is)."""
        if any(item.job_id == job_id for item in self.purchases):
            return self
        return replace(self, purchases=(*self.purchases, Purchase(job_id)))

    def finish(self, status: JobStatus) -> GenerateRecord:
        """This record with ``status`` as the finished job and its billing on its purchase."""
        billed = Purchase(status.job_id, status.state.value, status.billed_units, status.billed_unit)
        listed = self.bought(status.job_id).purchases
        purchases = tuple(billed if item.job_id == status.job_id else item for item in listed)
        return replace(self, purchases=purchases, finished=status)

    def finished_job(self, job_id: str) -> JobStatus | None:
        """The recorded terminal status of ``job_id``, if that is the job the record finished."""
        if self.finished is not None and self.finished.job_id == job_id:
            return self.finished
        return None

    @property
    def billed_units(self) -> int | None:
        """Units billed over every purchase; None while any purchase's bill is unknown."""
        units = [item.billed_units for item in self.purchases]
        if not units or any(value is None for value in units):
            return None
        return sum(value for value in units if value is not None)

    def to_state(self) -> dict[str, Any]:
        return {
            "purchases": [item.to_dict() for item in self.purchases],
            "resubmits": self.resubmits,
            "finished": self.finished.to_dict() if self.finished else None,
        }

    @classmethod
    def from_state(cls, saved: object) -> GenerateRecord:
        """The entry stored under ``GENERATE_STATE_KEY`` (empty when nothing is); ValueError if unreadable."""
        if saved is None:
            return cls()
        if not isinstance(saved, dict):
            raise ValueError("not a dict")
        try:
            resubmits = saved.get("resubmits", 0)
            if not isinstance(resubmits, int) or isinstance(resubmits, bool) or resubmits < 0:
                raise ValueError(f"resubmits must be a non-negative integer, got {resubmits!r}")
            finished = saved.get("finished")
            return cls(
                purchases=tuple(Purchase.from_dict(item) for item in saved.get("purchases") or ()),
                resubmits=resubmits,
                finished=JobStatus.from_dict(finished) if finished else None,
            )
        except (KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"incomplete entry ({type(error).__name__}: {error})") from None
