"""``AigcCapacityTrigger``: a task whose submit was refused for concurrency, or that queues before
its first submit (admission first), waits here for a slot.

The trigger never calls the vendor: it queues in its connection's room
(``triggers.capacity_room``) and fires one event when the task may submit again, or when the
task's deadline passes. The task then resumes in a worker and submits as always (intent first).

Events (JSON primitives): ``{"status": "capacity" | "timeout", "waited": seconds since the first
refusal, "running": jobs watched on the connection here, "ahead": waiters before this one}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from airflow.sdk.exceptions import AirflowException
from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_aigc.triggers.capacity_room import MIN_GRACE_SECONDS, backoff, prompt_of, room_for
from airflow_provider_aigc.triggers.polling import default_poll_interval

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine

# A waiting trigger logs its place at start and then at most this often: every line a trigger
# logs costs the triggerer's supervisor a database loop (see triggers.job.PROGRESS_LOG_SECONDS).
PLACE_LOG_SECONDS = 300.0
# The longest a waiter sleeps without looking at the clock (its deadline, its backoff).
MAX_PAUSE_SECONDS = 60.0
_STATUSES = frozenset({"capacity", "timeout"})


@dataclass(frozen=True)
class CapacityEvent:
    """What ``AigcCapacityTrigger`` fired; ``from_payload`` accepts exactly this schema."""

    status: Literal["capacity", "timeout"]
    waited: float
    running: int
    ahead: int

    def to_payload(self) -> dict[str, Any]:
        return {"status": self.status, "waited": self.waited, "running": self.running, "ahead": self.ahead}

    @classmethod
    def from_payload(cls, payload: object) -> CapacityEvent:
        if not isinstance(payload, dict) or set(payload) != {"status", "waited", "running", "ahead"}:
            raise AirflowException(
                f"AigcCapacityTrigger sent an event this operator does not know: {payload!r}"
            )
        status, waited, running, ahead = (payload[key] for key in ("status", "waited", "running", "ahead"))
        if (
            status not in _STATUSES
            or not _is_number(waited)
            or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in (running, ahead))
        ):
            raise AirflowException(
                f"AigcCapacityTrigger sent an event this operator does not know: {payload!r}"
            )
        return cls(status, float(waited), running, ahead)


class AigcCapacityTrigger(BaseTrigger):
    """Wait, in the triggerer, until this task may send its refused submit again.

    :param conn_id: The connection whose account refused the submit for concurrency.
    :param vendor: The vendor id (for the backoff's base: the app's poll interval).
    :param app: The vendor API of the submit.
    :param end_time: The task's deadline for waiting (epoch seconds): then a timeout event.
    :param waiting_since: When the task was first refused (epoch seconds): its place in the queue.
    :param refused_at: When the last refusal came (epoch seconds); with no refusal yet, when the
        task queued.
    :param refusals: How many submits of this task the vendor refused for concurrency so far; 0
        when the task queued before its first submit (admission first).
    :param map_index: The task's map index (-1 when not mapped): breaks ties in the queue.
    :param max_running_jobs: The account's concurrency (None: unknown).
    :param clock: Epoch seconds (injectable for tests; not serialized).
    :param sleep: Awaits seconds (injectable for tests; not serialized).
    """

    def __init__(
        self,
        conn_id: str,
        vendor: str,
        app: str,
        end_time: float,
        waiting_since: float,
        refused_at: float,
        refusals: int,
        map_index: int = -1,
        max_running_jobs: int | None = None,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        if not isinstance(conn_id, str) or not conn_id.strip():
            raise ValueError(f"AigcCapacityTrigger needs a non-empty conn_id, got {conn_id!r}")
        for name, value in (
            ("end_time", end_time),
            ("waiting_since", waiting_since),
            ("refused_at", refused_at),
        ):
            if not _is_number(value):
                raise ValueError(f"AigcCapacityTrigger needs {name} as epoch seconds, got {value!r}")
        if isinstance(refusals, bool) or not isinstance(refusals, int) or refusals < 0:
            raise ValueError(f"AigcCapacityTrigger needs refusals >= 0, got {refusals!r}")
        if max_running_jobs is not None and (
            isinstance(max_running_jobs, bool)
            or not isinstance(max_running_jobs, int)
            or max_running_jobs < 1
        ):
            raise ValueError(f"max_running_jobs must be a positive int or None, got {max_running_jobs!r}")
        self.base = default_poll_interval(vendor, app)
        self.conn_id = conn_id
        self.vendor = vendor
        self.app = app
        self.end_time = float(end_time)
        self.waiting_since = float(waiting_since)
        self.refused_at = float(refused_at)
        self.refusals = refusals
        self.map_index = int(map_index)
        self.max_running_jobs = max_running_jobs
        self._clock = clock
        self._sleep = sleep

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "airflow_provider_aigc.triggers.capacity.AigcCapacityTrigger",
            {
                "conn_id": self.conn_id,
                "vendor": self.vendor,
                "app": self.app,
                "end_time": self.end_time,
                "waiting_since": self.waiting_since,
                "refused_at": self.refused_at,
                "refusals": self.refusals,
                "map_index": self.map_index,
                "max_running_jobs": self.max_running_jobs,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        room = room_for(self.conn_id)
        limit = self.max_running_jobs
        refused = self.refusals > 0
        pause = backoff(self.base, self.refusals) if refused else 0.0
        ticket = room.join(
            self.waiting_since,
            self.map_index,
            self.refused_at + pause,
            refused=refused,
            now=self._clock(),
            prompt=prompt_of(self.task_instance),
        )
        logged: tuple[int, int] | None = None
        logged_at = -math.inf
        try:
            while True:
                now = self._clock()
                place = (len(room.running), room.ahead(ticket))
                if now >= self.end_time:
                    yield self._event("timeout", now, *place)
                    return
                if room.may_try(ticket, now, limit):
                    room.admit(ticket, now, max(self.base, MIN_GRACE_SECONDS))
                    self.log.info(
                        "Capacity on %s may be free after %.0f s of waiting: the task submits again",
                        self.conn_id,
                        now - self.waiting_since,
                    )
                    yield self._event("capacity", now, *place)
                    return
                if place != logged and now - logged_at >= PLACE_LOG_SECONDS:
                    self.log.info(
                        "waiting for capacity on %s: %d running, %d ahead (max_running_jobs=%s, "
                        "refused %d time(s), waiting %.0f s of at most %.0f s)",
                        self.conn_id,
                        *place,
                        "unknown" if limit is None else limit,
                        self.refusals,
                        now - self.waiting_since,
                        self.end_time - self.waiting_since,
                    )
                    logged, logged_at = place, now
                wake = room.next_check(ticket, now, limit)
                until = min(self.end_time, now + MAX_PAUSE_SECONDS, math.inf if wake is None else wake)
                await self._pause(room.changed(), max(until - now, 0.0))
        finally:
            room.leave(ticket)

    async def _pause(self, change: Coroutine[Any, Any, bool], seconds: float) -> None:
        """Sleep ``seconds`` or until ``change`` comes, whichever is first."""
        waits = [asyncio.ensure_future(change), asyncio.ensure_future(self._sleep(seconds))]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await wait

    def _event(
        self, status: Literal["capacity", "timeout"], now: float, running: int, ahead: int
    ) -> TriggerEvent:
        waited = round(now - self.waiting_since, 3)
        return TriggerEvent(CapacityEvent(status, waited, running, ahead).to_payload())  # type: ignore[no-untyped-call]


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
