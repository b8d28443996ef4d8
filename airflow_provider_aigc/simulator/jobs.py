"""Jobs as pure functions of the clock: no task per job, so thousands of jobs cost nothing.

A job is fixed at submission (latency, outcome, image sizes, when its URLs expire); every poll derives its
phase and progress from ``now``, so progress can only rise as the clock does.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

QUEUED_FRACTION = 0.1


class Outcome(str, Enum):
    """How a job ends, decided when it is accepted."""

    SUCCESS = "success"
    FAILED = "failed"  # the model failed (zhipu "failed", baidu sub tasks 201)
    PARTIAL = "partial"  # the task succeeds, its last image fails (baidu sub task 201, dashscope item)
    MODERATED = "moderated"  # baidu: text blocked, every sub task 501, visible at once


class Phase(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"


@dataclass
class Job:
    """One accepted job; ``params`` keeps the vendor-specific echo of the request."""

    vendor: str
    app: str
    job_id: str
    prompt: str
    submitted_at: float
    latency: float
    outcome: Outcome = Outcome.SUCCESS
    images: tuple[tuple[int, int], ...] = ()
    image_bytes: int = 0
    urls_expire_at: float = 0.0
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def done_at(self) -> float:
        return self.submitted_at + self.latency

    def progress(self, now: float) -> float:
        """Fraction of the latency elapsed, 0.0-1.0."""
        if now >= self.done_at:
            return 1.0
        return max(0.0, (now - self.submitted_at) / self.latency)

    def phase(self, now: float) -> Phase:
        progress = self.progress(now)
        if progress >= 1.0:
            return Phase.DONE
        return Phase.QUEUED if progress < QUEUED_FRACTION else Phase.RUNNING

    def percent(self, now: float) -> int:
        """Progress as a whole percentage: 0 while queued, 1-99 while running, 100 when done."""
        phase = self.phase(now)
        if phase is Phase.DONE:
            return 100
        if phase is Phase.QUEUED:
            return 0
        return min(99, max(1, int(self.progress(now) * 100)))


class JobStore:
    """Jobs by vendor and id, plus per-vendor completion heaps that count unfinished jobs cheaply."""

    def __init__(self) -> None:
        self._jobs: dict[str, dict[str, Job]] = {}
        self._pending: dict[str, list[float]] = {}

    def add(self, job: Job) -> None:
        self._jobs.setdefault(job.vendor, {})[job.job_id] = job
        if job.latency > 0:
            heapq.heappush(self._pending.setdefault(job.vendor, []), job.done_at)

    def get(self, vendor: str, job_id: str) -> Job | None:
        return self._jobs.get(vendor, {}).get(job_id)

    def of(self, vendor: str) -> list[Job]:
        """Every job of ``vendor`` (DashScope's task listing)."""
        return list(self._jobs.get(vendor, {}).values())

    def __contains__(self, key: tuple[str, str]) -> bool:
        return self.get(*key) is not None

    def active(self, vendor: str, now: float) -> int:
        """Jobs of ``vendor`` not yet done at ``now``."""
        pending = self._pending.get(vendor, [])
        while pending and pending[0] <= now:
            heapq.heappop(pending)
        return len(pending)

    def clear(self) -> None:
        self._jobs.clear()
        self._pending.clear()
