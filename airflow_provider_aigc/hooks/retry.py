"""How a vendor call is repeated, on tenacity: one predicate, one wait, one stop.

The predicate is the taxonomy's own ``retryable`` flag: the hook decides before an error leaves an
attempt whether repeating is safe (a status read always is; a submit only when the vendor proved
it refused it, see ``AigcError.refused``), so everything retryable here may be repeated. Waits
honour ``Retry-After``, never come back sooner than a rate-limit floor, and, like every request
timeout, are cut to the time left before the caller's absolute deadline.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, NoReturn

from tenacity import RetryCallState, Retrying, retry_if_exception

from airflow_provider_aigc.exceptions import AigcError, AigcRateLimitError, DeadlineReached

if TYPE_CHECKING:
    import random

# Called before each pause: (error, retry number starting at 1, delay in seconds).
OnRetry = Callable[[AigcError, int, float], None]


@dataclass(frozen=True)
class RetryPolicy:
    """``max_retries`` repeats after the first attempt, pausing ``base_delay * 2**n`` at most (up
    to ``max_delay``), drawn uniformly (full jitter) so many clients do not retry in step.

    A rate-limited call waits at least ``rate_limit_floor`` more: the vendors count their limits
    per second (Baidu 13/18 "QPS 超限"; Zhipu 10003 and Jumdata 606/609 name no window, and a
    second is the shortest window any of them counts), so an earlier retry lands in the window
    that refused it. A vendor's ``Retry-After`` replaces the draw (not below the floor), capped at
    ``max_retry_after``.
    """

    max_retries: int = 3
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_retry_after: float = 120.0
    rate_limit_floor: float = 1.0

    def delay(self, retry_number: int, error: AigcError, rng: random.Random) -> float:
        """The pause before retry ``retry_number`` (1-based), before any deadline cut."""
        floor = self.rate_limit_floor if isinstance(error, AigcRateLimitError) else 0.0
        if error.retry_after is not None:
            return min(max(error.retry_after, floor), self.max_retry_after)
        return floor + rng.uniform(0.0, min(self.max_delay, self.base_delay * 2 ** (retry_number - 1)))


@dataclass(frozen=True)
class Deadline:
    """An absolute deadline (epoch seconds; None: none) read on the hook's clock."""

    at: float | None
    clock: Callable[[], float]

    def left(self) -> float:
        """Seconds left (infinite without a deadline)."""
        return math.inf if self.at is None else self.at - self.clock()

    def timeout(self, timeout: float, last: AigcError | None = None) -> float:
        """The request timeout for one attempt: ``timeout`` cut to the time left, or
        ``DeadlineReached`` (from ``last``, the previous failure) when none is left."""
        left = self.left()
        if left > 0:
            return min(timeout, left)
        if last is None:
            raise DeadlineReached("the deadline passed before the call could be made")
        raise DeadlineReached(
            f"the deadline passed while retrying: {last.message}", vendor=last.vendor
        ) from last


def _retryable(error: BaseException) -> bool:
    return isinstance(error, AigcError) and error.retryable


def _failure(state: RetryCallState) -> AigcError:
    """The error of the attempt that just failed (the predicate only lets ``AigcError`` through)."""
    assert state.outcome is not None
    error = state.outcome.exception()
    assert isinstance(error, AigcError)
    return error


def retrying(policy: RetryPolicy, deadline: Deadline, rng: random.Random, on_retry: OnRetry) -> Retrying:
    """The predicate, wait, stop and give-up of one call; ``hooks.calls.retried`` runs it and
    hands its pauses to the sync or the async driver."""
    failures: list[AigcError] = []

    def before(state: RetryCallState) -> None:
        deadline.timeout(math.inf, failures[-1] if failures else None)

    def wait(state: RetryCallState) -> float:
        delay = policy.delay(state.attempt_number, _failure(state), rng)
        return max(0.0, min(delay, deadline.left()))

    def stop(state: RetryCallState) -> bool:
        return state.attempt_number > policy.max_retries or deadline.left() <= 0

    def report(state: RetryCallState) -> None:
        assert state.next_action is not None
        failures.append(_failure(state))
        on_retry(failures[-1], state.attempt_number, state.next_action.sleep)

    def give_up(state: RetryCallState) -> NoReturn:
        error = _failure(state)
        deadline.timeout(math.inf, error)  # DeadlineReached when that is why the retries stopped
        raise error

    return Retrying(
        before=before,
        retry=retry_if_exception(_retryable),
        wait=wait,
        stop=stop,
        before_sleep=report,
        retry_error_callback=give_up,
    )


def parse_retry_after(value: str | None, now: float) -> float | None:
    """A ``Retry-After`` header in seconds from ``now`` (epoch): delta-seconds or an HTTP date.

    The one Retry-After parser: the hook reads it for every retryable answer.
    """
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
    return max(seconds, 0.0) if math.isfinite(seconds) else None
