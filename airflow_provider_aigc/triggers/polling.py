"""When to poll a vendor job: per-app default intervals, jitter, and backoff after transient errors."""

from __future__ import annotations

import random

from airflow_provider_aigc.vendors.registry import spec_for

# Each wait is shortened (polls) or stretched and shrunk (backoff) by up to this fraction, so jobs
# submitted together do not poll in lockstep. Poll waits only shrink, so the configured interval
# is a true upper bound on detection delay. The generator is seeded from the job id: a restarted
# trigger polls on the same rhythm.
JITTER_FRACTION = 0.1
# Backoff after consecutive failed polls doubles from the poll interval up to this ceiling
# (or the poll interval itself, when that is longer).
MAX_BACKOFF_SECONDS = 120.0


def default_poll_interval(vendor: str, app: str) -> float:
    """The vendor spec's poll interval for ``app``, fitted to the documented latency."""
    return spec_for(vendor).poll_interval(app)


class PollSchedule:
    """The waits between polls of one job.

    :param interval: Seconds between polls while the job runs normally.
    :param seed: Seeds the jitter (the job id), so the schedule is the same after a restart.
    """

    def __init__(self, interval: float, seed: str) -> None:
        self.interval = interval
        self._random = random.Random(seed)

    def next_poll(self) -> float:
        """The wait before the next poll of a job still running: at most ``interval``."""
        return self.interval * self._random.uniform(1.0 - JITTER_FRACTION, 1.0)

    def after_failure(self, failures: int, retry_after: float | None = None) -> float:
        """The wait after ``failures`` consecutive failed polls: exponential, jittered, and never
        shorter than the vendor's ``Retry-After``."""
        ceiling = max(MAX_BACKOFF_SECONDS, self.interval)
        delay = self._jitter(min(ceiling, self.interval * 2.0 ** min(failures, 32)))
        return max(delay, retry_after or 0.0)

    def _jitter(self, seconds: float) -> float:
        return seconds * self._random.uniform(1.0 - JITTER_FRACTION, 1.0 + JITTER_FRACTION)
