"""A submit the vendor refused for concurrency waits for a slot, deferred, and is sent again.

``AigcConcurrencyLimitError`` proves the vendor took nothing (the submit withdrew its intent), so
the same submit may be sent once a running job ends. The submit operators (and so the one-task
``<Api>ToS3Operator`` family) defer to ``AigcCapacityTrigger`` (no worker slot, no Airflow retry
spent) until their connection's room admits them or ``capacity_timeout`` (counted from the first
refusal) passes, then resume in ``execute_after_capacity`` and run ``execute`` again. This module
holds what that needs besides the operator's own state: the setting and the timeout's message.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from airflow_provider_aigc.exceptions import AigcCapacityTimeoutError

if TYPE_CHECKING:
    from airflow_provider_aigc.triggers.capacity import CapacityEvent

# How long a task may wait for a slot by default, from its first refusal: a batch of hundreds of
# jobs of minutes each, on an account that runs 2 at a time, takes hours.
DEFAULT_CAPACITY_TIMEOUT = timedelta(hours=6)


def capacity_seconds(value: timedelta | float) -> float:
    """``capacity_timeout`` as seconds; ValueError unless positive."""
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if not seconds > 0:
        raise ValueError(f"capacity_timeout must be positive, got {value!r}")
    return seconds


def capacity_timeout_error(
    *, vendor: str, conn_id: str, capacity_timeout: float, outcome: CapacityEvent, refusals: int
) -> AigcCapacityTimeoutError:
    """The classified timeout of a wait for capacity: how long, how many ahead, what to change."""
    return AigcCapacityTimeoutError(
        f"waited {outcome.waited:.0f} s for capacity on connection {conn_id!r} and capacity_timeout"
        f" ({capacity_timeout:.0f} s) passed: at the end {outcome.running} job(s) on it were watched"
        f" here and {outcome.ahead} task(s) waited ahead of this one. {vendor} refused this task's"
        f" submit {refusals} time(s) for concurrency and nothing was bought. Raise capacity_timeout or"
        " the account's concurrency (then the connection's max_running_jobs extra), or split the batch.",
        vendor=vendor,
    )
