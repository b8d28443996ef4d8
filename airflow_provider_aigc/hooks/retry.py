"""Bounded retries with full-jitter exponential backoff, in a sync and an async flavour.

An attempt decides itself whether it may be repeated, by raising ``RetryableFailure``: only the
caller knows whether repeating is safe (a status poll always is; a submit only when the vendor
proved it did not accept the job). Everything else propagates at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, TypeVar

from airflow_provider_aigc.exceptions import AigcError

if TYPE_CHECKING:
    import random

T = TypeVar("T")

# Called before each pause: (error, retry number starting at 1, delay in seconds).
OnRetry = Callable[[AigcError, int, float], None]


class RetryableFailure(Exception):
    """An attempt failed in a way that may be repeated; ``error`` is raised when attempts run out."""

    def __init__(self, error: AigcError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True)
class RetryPolicy:
    """``max_retries`` repeats after the first attempt; pauses grow as ``base_delay * 2**n`` up to
    ``max_delay``, drawn uniformly below that (full jitter) so many clients do not retry in step.
    A vendor's ``Retry-After`` replaces the draw, capped at ``max_retry_after``."""

    max_retries: int = 3
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_retry_after: float = 120.0

    def delay(self, retry_number: int, error: AigcError, rng: random.Random) -> float:
        """The pause before retry ``retry_number`` (1-based)."""
        if error.retry_after is not None:
            return min(max(error.retry_after, 0.0), self.max_retry_after)
        return rng.uniform(0.0, min(self.max_delay, self.base_delay * 2 ** (retry_number - 1)))

    def next_delay(self, failure: RetryableFailure, retry_number: int, rng: random.Random) -> float:
        """The pause before retry ``retry_number``, or the failure's error when none is left."""
        if retry_number > self.max_retries:
            raise failure.error from None
        return self.delay(retry_number, failure.error, rng)


class _Backoff:
    """The retry count of one call: each ``pause`` counts a retry, reports it and says how long to wait."""

    def __init__(self, policy: RetryPolicy, rng: random.Random, on_retry: OnRetry) -> None:
        self._policy = policy
        self._rng = rng
        self._on_retry = on_retry
        self._retry_number = 0

    def pause(self, failure: RetryableFailure) -> float:
        """The delay before the next retry, or the failure's error when the retries are used up."""
        self._retry_number += 1
        delay = self._policy.next_delay(failure, self._retry_number, self._rng)
        self._on_retry(failure.error, self._retry_number, delay)
        return delay


def call_with_retries(
    attempt: Callable[[], T],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None],
    rng: random.Random,
    on_retry: OnRetry,
) -> T:
    """Run ``attempt`` until it returns, raises something else, or the retries are used up."""
    backoff = _Backoff(policy, rng, on_retry)
    while True:
        try:
            return attempt()
        except RetryableFailure as failure:
            sleep(backoff.pause(failure))


async def acall_with_retries(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], Awaitable[None]],
    rng: random.Random,
    on_retry: OnRetry,
) -> T:
    """``call_with_retries`` for coroutines: pauses with an awaitable sleep, never blocking the loop."""
    backoff = _Backoff(policy, rng, on_retry)
    while True:
        try:
            return await attempt()
        except RetryableFailure as failure:
            await sleep(backoff.pause(failure))


def parse_retry_after(value: str | None, now: float) -> float | None:
    """A ``Retry-After`` header in seconds from ``now`` (epoch): delta-seconds or an HTTP date."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        aware = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
        seconds = aware.timestamp() - now
    return max(seconds, 0.0) if seconds == seconds else None
