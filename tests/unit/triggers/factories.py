"""Small builders shared by the trigger, sensor and submit-operator unit tests."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog

from airflow_provider_aigc.models import JobError, JobRef, JobState, JobStatus, Output

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

JOB_ID = "5f1c9a0e2b7d4c33"
CONN_ID = "aigc_zhipu_default"


def job_ref(job_id: str = JOB_ID, *, request: dict[str, Any] | None = None) -> JobRef:
    return JobRef(
        vendor="zhipu",
        app="cogview",
        conn_id=CONN_ID,
        job_id=job_id,
        submitted_at="2024-05-01T08:00:00+00:00",
        request={"key": "queue1", "query": "a lotus pond"} if request is None else request,
    )


def job_status(
    state: JobState,
    progress: float | None = None,
    *,
    job_id: str = JOB_ID,
    error: JobError | None = None,
) -> JobStatus:
    outputs: tuple[Output, ...] = ()
    if state is JobState.SUCCEEDED:
        outputs = (
            Output(index=0, kind="image", url="http://127.0.0.1:8765/a/0.png", width=1024, height=1024),
            Output(index=1, kind="image", url="http://127.0.0.1:8765/a/1.png", width=1024, height=1024),
        )
    return JobStatus(
        vendor="zhipu",
        app="cogview",
        job_id=job_id,
        state=state,
        progress=progress,
        outputs=outputs,
        error=error,
        conn_id=CONN_ID,
    )


def failed_status(error_type: str, message: str = "boom", code: str | None = None) -> JobStatus:
    return job_status(JobState.FAILED, error=JobError(type=error_type, message=message, code=code))


class Script:
    """Answers one call per item: a value is returned, an exception raised; records the calls."""

    def __init__(self, items: Iterable[object]) -> None:
        self.items: list[Any] = list(items)
        self.calls: list[tuple[Any, ...]] = []

    def next(self, *args: Any) -> Any:
        self.calls.append(args)
        item = self.items.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item


@dataclass
class FakeClock:
    """Epoch seconds that move only when the code under test sleeps."""

    now: float = 1_700_000_000.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass(frozen=True)
class LogLine:
    level: str
    message: str


@contextmanager
def captured_logs() -> Iterator[list[LogLine]]:
    """Every line logged through Airflow's structlog loggers inside the block."""
    lines: list[LogLine] = []
    with structlog.testing.capture_logs() as entries:
        yield lines
    lines.extend(LogLine(str(entry["log_level"]), str(entry["event"])) for entry in entries)
