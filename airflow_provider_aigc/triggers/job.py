"""``AigcJobTrigger``: waits in the triggerer for one vendor job to finish, without a worker slot."""

from __future__ import annotations

import asyncio
import math
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_aigc.cancel import acancel_on_kill, cancel_option
from airflow_provider_aigc.exceptions import AigcError, DeadlineReached
from airflow_provider_aigc.hooks import hook_class_for
from airflow_provider_aigc.models import JobState, JobStatus
from airflow_provider_aigc.triggers.capacity_room import prompt_of, room_for
from airflow_provider_aigc.triggers.events import JobEvent
from airflow_provider_aigc.triggers.polling import PollSchedule, default_poll_interval

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

DEFAULT_MAX_CONSECUTIVE_FAILURES = 5
# Progress within one state is logged at INFO at most this often (every change at DEBUG): each line
# a trigger logs wakes Airflow's triggerer supervisor into a full database loop (~6 ms of CPU on
# Airflow 3.3, more than the poll that saw the change), so a line per poll would cost most of a wait.
PROGRESS_LOG_SECONDS = 300.0


class AigcJobTrigger(BaseTrigger):
    """Poll a vendor job's status until it finishes, fails or passes its deadline; fire one event.

    The trigger only reads status, it never submits, so running it again (after a triggerer
    restart, or on another triggerer) is harmless: the deadline is absolute and travels with it.
    Every wait is cut to the time left before it: the hook's requests, its retry pauses and
    ``Retry-After``, and the trigger's own backoff, so the timeout event comes at the deadline
    even when the vendor answers every call with a long ``Retry-After``.
    Transient errors (rate limits, 5xx, timeouts) are retried with jittered backoff; only a run
    of ``max_consecutive_failures`` of them in a row gives up. The event schema is described in
    :mod:`airflow_provider_aigc.triggers.events`.

    :param conn_id: The Airflow connection of the vendor account that owns the job.
    :param vendor: a vendor id of ``vendors.registry`` (``zhipu``, ``bigmodel``, ...).
    :param job_id: The vendor's id of the job to watch.
    :param poll_interval: Seconds between status checks while the job runs; None takes the app's
        default (fitted to the vendor's documented latency, e.g. 15 s for CogView).
    :param end_time: Deadline as epoch seconds: an unfinished job by then gives a timeout event.
    :param app: The vendor API the job belongs to (``cogview``, ``news_generate``, ``txt2imgv2``,
        ``ai_draw``); may be omitted for vendors with a single API.
    :param max_consecutive_failures: How many polls in a row may fail transiently before the
        trigger gives up with an error event.
    :param cancel_pending_on_kill: When the user stops the deferred task (mark failed or success,
        clear), ask the vendor to cancel the job; only vendors with a cancel call (DashScope, which
        cancels only PENDING tasks, for free). Not on a timeout or a triggerer restart.
    :param clock: Returns the current epoch seconds (injectable for tests; not serialized); the
        hook reads the same clock.
    :param sleep: Awaits a number of seconds, between polls and between the hook's retries
        (injectable for tests; not serialized).
    """

    def __init__(
        self,
        conn_id: str,
        vendor: str,
        job_id: str,
        poll_interval: float | None,
        end_time: float,
        app: str | None = None,
        max_consecutive_failures: int = DEFAULT_MAX_CONSECUTIVE_FAILURES,
        cancel_pending_on_kill: bool = False,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        for name, value in (("conn_id", conn_id), ("vendor", vendor), ("job_id", job_id)):
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"AigcJobTrigger needs a non-empty string {name}, got {value!r}")
        self._hook = hook_class_for(vendor)(conn_id=conn_id, clock=clock, async_sleep=sleep)
        apps = self._hook.apps
        if app is None and len(apps) == 1:
            (app,) = apps
        if app is None or app not in apps:
            raise ValueError(f"AigcJobTrigger: {vendor} has no app {app!r}; choose one of {sorted(apps)}")
        if poll_interval is None:
            poll_interval = default_poll_interval(vendor, app)
        if not _is_number(poll_interval) or poll_interval <= 0:
            raise ValueError(f"AigcJobTrigger needs a positive poll_interval, got {poll_interval!r}")
        if not _is_number(end_time):
            raise ValueError(f"AigcJobTrigger needs end_time as epoch seconds, got {end_time!r}")
        if isinstance(max_consecutive_failures, bool) or not isinstance(max_consecutive_failures, int):
            raise ValueError(f"max_consecutive_failures must be an int, got {max_consecutive_failures!r}")
        if max_consecutive_failures < 1:
            raise ValueError(f"max_consecutive_failures must be at least 1, got {max_consecutive_failures}")
        self.conn_id = conn_id
        self.vendor = vendor
        self.app: str = app
        self.job_id = job_id
        self.poll_interval = float(poll_interval)
        self.end_time = float(end_time)
        self.max_consecutive_failures = max_consecutive_failures
        self.cancel_pending_on_kill = cancel_option(cancel_pending_on_kill)
        self._clock = clock
        self._sleep = sleep
        self._finished = False

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "airflow_provider_aigc.triggers.job.AigcJobTrigger",
            {
                "conn_id": self.conn_id,
                "vendor": self.vendor,
                "job_id": self.job_id,
                "poll_interval": self.poll_interval,
                "end_time": self.end_time,
                "app": self.app,
                "max_consecutive_failures": self.max_consecutive_failures,
                "cancel_pending_on_kill": self.cancel_pending_on_kill,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow_provider_aigc.hooks.session import session_lease  # aiohttp: triggerer only

        room = room_for(self.conn_id)  # waiters for capacity on this connection count this job
        room.job_started(self.job_id, prompt=prompt_of(self.task_instance))
        try:
            async with session_lease():
                event = await self._watch()
        finally:
            room.job_ended(self.job_id)
        self._finished = True
        yield TriggerEvent(event.to_payload())  # type: ignore[no-untyped-call]

    async def _watch(self) -> JobEvent:
        schedule = PollSchedule(self.poll_interval, seed=self.job_id)
        self.log.info(
            "Watching %s %s job %s until %s, polling about every %.1f s",
            self.vendor,
            self.app,
            self.job_id,
            _iso(self.end_time),
            self.poll_interval,
        )
        last_seen: JobStatus | None = None
        logged_at: float | None = None
        failures = 0
        while True:
            try:
                status = await self._hook.aget_status(self.job_id, self.app, deadline=self.end_time)
            except DeadlineReached as error:
                return self._timeout(last_seen, error.message)
            except AigcError as error:
                if not error.retryable:
                    return JobEvent.polling_failed(self.job_id, error, error.message)
                failures += 1
                if failures >= self.max_consecutive_failures:
                    message = f"gave up after {failures} failed polls in a row; the last: {error.message}"
                    return JobEvent.polling_failed(self.job_id, error, message)
                delay = schedule.after_failure(failures, error.retry_after)
                self.log.warning(
                    "Polling job %s failed (%d of at most %d in a row; %s: %s); next poll in %.1f s",
                    self.job_id,
                    failures,
                    self.max_consecutive_failures,
                    type(error).__name__,
                    error.message,
                    delay,
                )
            else:
                failures = 0
                logged_at = self._log_change(last_seen, status, logged_at)
                last_seen = status
                if status.state is JobState.SUCCEEDED:
                    return JobEvent.success(status)
                if status.state is JobState.FAILED:
                    return JobEvent.job_failed(status)
                delay = schedule.next_poll()
            remaining = self.end_time - self._clock()
            if remaining <= 0:
                return self._timeout(last_seen)
            await self._sleep(min(delay, remaining))

    def _timeout(self, last_seen: JobStatus | None, why: str | None = None) -> JobEvent:
        seen = _describe(last_seen) if last_seen else "never seen"
        message = f"job {self.job_id} was not finished by {_iso(self.end_time)} (last seen: {seen})"
        return JobEvent.timeout(self.job_id, f"{message}; {why}" if why else message, last_seen)

    def _log_change(
        self, previous: JobStatus | None, current: JobStatus, logged_at: float | None
    ) -> float | None:
        """Log a new state at INFO, progress within a state at DEBUG (at INFO every
        ``PROGRESS_LOG_SECONDS``); when the last INFO line was written."""
        now = self._clock()
        if (
            previous is None
            or previous.state != current.state
            or (
                previous.progress != current.progress
                and (logged_at is None or now - logged_at >= PROGRESS_LOG_SECONDS)
            )
        ):
            self.log.info("Job %s: %s", self.job_id, _describe(current))
            return now
        if previous.progress != current.progress:
            self.log.debug("Job %s: %s", self.job_id, _describe(current))
        return logged_at

    async def on_kill(self) -> None:
        """The user stopped the task: cancel the job if opted in (and the vendor can), else say
        that it keeps running remotely."""
        from airflow_provider_aigc.hooks.session import session_lease  # aiohttp: triggerer only

        self._finished = True  # the wait is over for good: cleanup must not promise a resumed watch
        async with session_lease():
            await acancel_on_kill(self._hook, self.job_id, self.app, self.cancel_pending_on_kill, self.log)

    async def cleanup(self) -> None:
        if not self._finished:
            self.log.info(
                "Stopped watching %s job %s before it finished; it keeps running at the vendor and a "
                "re-started trigger resumes watching it with the same deadline.",
                self.vendor,
                self.job_id,
            )


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat(timespec="seconds")


def _describe(status: JobStatus) -> str:
    progress = "" if status.progress is None else f" {status.progress:.0%}"
    return f"{status.state.value}{progress}"
