"""``AigcJobSensor``: waits for a submitted job to finish and returns its ``JobStatus`` dict."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
)

from airflow_provider_aigc.cancel import cancel_on_kill, cancel_option
from airflow_provider_aigc.exceptions import (
    EXCEPTION_CLASSES,
    AigcError,
    AigcInvalidRequestError,
    AigcJobFailedError,
    DeadlineReached,
)
from airflow_provider_aigc.failures import fail_fast_on_permanent_errors
from airflow_provider_aigc.hooks import hook_class_for
from airflow_provider_aigc.models import JobRef, JobState, JobStatus
from airflow_provider_aigc.triggers.events import JobEvent
from airflow_provider_aigc.triggers.job import AigcJobTrigger
from airflow_provider_aigc.triggers.polling import default_poll_interval
from airflow_provider_aigc.vendors.registry import VENDORS

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow.sdk import Context, XComArg

    from airflow_provider_aigc.hooks.base import AigcHook

DEFAULT_TIMEOUT = timedelta(hours=1)


class AigcJobSensor(BaseSensorOperator):
    """Wait for an AIGC job to finish, without holding a worker slot; return its ``JobStatus`` dict.

    The sensor checks the job once and returns at once when it is already finished; otherwise it
    defers to :class:`~airflow_provider_aigc.triggers.job.AigcJobTrigger`, which polls in the
    triggerer until the job finishes or the ``timeout`` deadline passes. With ``deferrable=False``
    the same check runs as ``poke()`` in ``poke`` or ``reschedule`` mode, with the same result.

    The result is the job's ``JobStatus`` dict (outputs with their URLs or text, expiry and
    moderation), carrying ``conn_id`` and ``request`` over from the ``JobRef`` for the archive step.

    Failures:

    * the vendor failed the job: the task fails without using its retries, since a retry of this
      sensor would only read the same failed job again. Clear the submit task (with its downstream
      tasks) to buy a new job: the submit task sees the failed job in its task state and resubmits.
    * errors no retry can fix (rejected credentials, unknown job, moderation) also skip the retries;
    * transient trouble the hook and trigger could not ride out uses the task's retries;
    * an unfinished job at the deadline raises ``AirflowSensorTimeout`` (no retries; ``soft_fail``
      skips instead). The vendor job keeps running (no vendor cancels a job that has started).

    :param job: The ``JobRef`` dict of the job, usually ``submit.output`` (templated). Give either
        ``job`` or ``job_id`` with ``vendor``.
    :param conn_id: With ``job_id``: the connection of the vendor account that owns the job
        (default: the vendor's default connection).
    :param job_id: The vendor's job id, to wait for a job submitted elsewhere (templated).
    :param vendor: With ``job_id``: the vendor id (``zhipu``, ``baidu``, ``jumdata``, ``bigmodel``:
        the names in ``vendors.registry``) (templated).
    :param app: With ``job_id``: the vendor API (``cogview``, ``txt2imgv2``, ``cogvideox``, ...:
        the vendor spec's ``apps``); may be omitted for vendors with a single API (templated).
    :param poll_interval: Seconds between status checks; None takes the app's default, fitted to
        the vendor's documented latency (e.g. 15 s for CogView, whose jobs take minutes).
    :param timeout: How long to wait for the job (seconds or timedelta) before failing with
        ``AirflowSensorTimeout``. The deadline is absolute and starts when this try starts (in
        ``reschedule`` mode: at the try's first poke, as Airflow's own sensors count it); every
        wait on the way (the first check, each poke, the trigger's polls, backoff and
        ``Retry-After``) is cut to the time left, and a triggerer restart does not extend it. A
        task retry (after an error, never after the timeout) starts a new deadline, as in Airflow.
    :param deferrable: Wait in the triggerer (default) instead of a worker slot.
    :param cancel_pending_on_kill: When the task is stopped while it waits (killed in the worker,
        or marked failed or success or cleared while deferred), ask the vendor to cancel the job.
        Only vendors with a cancel call take it (DashScope, which cancels a task only while it is
        PENDING, for free; a running task is not cancelled, which is logged). Default False: the
        job keeps running and can still be fetched by its id (templated).
    """

    template_fields: Sequence[str] = ("job", "conn_id", "job_id", "vendor", "app", "cancel_pending_on_kill")
    ui_color = "#e4f0ff"

    def __init__(
        self,
        *,
        job: Mapping[str, Any] | XComArg | None = None,
        conn_id: str | None = None,
        job_id: str | None = None,
        vendor: str | None = None,
        app: str | None = None,
        poll_interval: float | None = None,
        timeout: timedelta | float = DEFAULT_TIMEOUT,
        deferrable: bool = True,
        cancel_pending_on_kill: bool | str = False,
        **kwargs: Any,
    ) -> None:
        # An explicit poke_interval is the user's choice; otherwise the vendor's default applies.
        self._poke_interval_given = "poke_interval" in kwargs
        super().__init__(timeout=timeout, **kwargs)
        if (job is None) == (job_id is None):
            raise ValueError("AigcJobSensor needs either job (a JobRef, e.g. submit.output) or job_id")
        if job is not None and (conn_id, vendor, app) != (None, None, None):
            raise ValueError("AigcJobSensor: job already names conn_id, vendor and app; do not pass them")
        if job_id is not None and vendor is None:
            raise ValueError(f"AigcJobSensor: job_id needs its vendor (one of {', '.join(sorted(VENDORS))})")
        if poll_interval is not None and not poll_interval > 0:
            raise ValueError(f"AigcJobSensor: poll_interval must be positive, got {poll_interval!r}")
        self.job = job
        self.conn_id = conn_id
        self.job_id = job_id
        self.vendor = vendor
        self.app = app
        self.poll_interval = poll_interval
        self.deferrable = deferrable
        self.cancel_pending_on_kill = cancel_pending_on_kill
        # Epoch seconds: injectable for tests; the deadline of the running try, once execute starts.
        self._clock: Callable[[], float] = time.time
        self._deadline: float | None = None

    @cached_property
    def job_ref(self) -> JobRef:
        """The job to wait for, from the rendered arguments."""
        if self.job is not None:
            if not isinstance(self.job, Mapping):
                raise AigcInvalidRequestError(
                    "job must be the JobRef dict a submit operator returns (pass submit.output), "
                    f"got {type(self.job).__name__}"
                )
            try:
                return JobRef.from_dict(dict(self.job))
            except KeyError as missing:
                raise AigcInvalidRequestError(f"job is not a JobRef dict: it has no {missing}") from None
        hook = hook_class_for(str(self.vendor))(conn_id=self.conn_id)
        app = self.app
        if app is None and len(hook.apps) == 1:
            (app,) = hook.apps
        if app is None or app not in hook.apps:
            choices = sorted(hook.apps)
            raise AigcInvalidRequestError(f"{hook.vendor} has no app {app!r}; choose one of {choices}")
        return JobRef(vendor=hook.vendor, app=app, conn_id=hook.conn_id, job_id=str(self.job_id))

    @cached_property
    def hook(self) -> AigcHook[Any]:
        return hook_class_for(self.job_ref.vendor)(conn_id=self.job_ref.conn_id)

    def execute(self, context: Context) -> Any:
        with fail_fast_on_permanent_errors():
            ref = self.job_ref
            self.cancel_pending_on_kill = cancel_option(self.cancel_pending_on_kill)
            if self.poll_interval is not None:
                self.poke_interval = self.poll_interval
            elif not self._poke_interval_given:
                self.poke_interval = default_poll_interval(ref.vendor, ref.app)
        self._deadline = self._try_deadline(context)
        if not self.deferrable:
            return super().execute(context)
        with fail_fast_on_permanent_errors():
            status = self._check_before_deferring(ref)
            if status is not None and status.is_terminal:
                return self._conclude(status)
        self.defer(
            trigger=AigcJobTrigger(
                conn_id=ref.conn_id,
                vendor=ref.vendor,
                app=ref.app,
                job_id=ref.job_id,
                poll_interval=self.poke_interval,
                end_time=self._deadline,
                cancel_pending_on_kill=self.cancel_pending_on_kill,
            ),
            method_name="execute_complete",
            # The deadline lives in the trigger as an absolute end_time: a framework timeout
            # would fail the task without calling execute_complete.
            timeout=None,
        )

    def _try_deadline(self, context: Context) -> float:
        """When this try stops waiting (epoch seconds): ``timeout`` after the try started.

        Like ``BaseSensorOperator.execute``: poke and deferrable mode count from this execute,
        reschedule mode from the try's first reschedule (Airflow 3 keeps reschedule records per
        try, so a retry starts a new deadline in every mode).
        """
        started = self._clock()
        if self.reschedule:
            first = context["ti"].get_first_reschedule_date(context)
            if first is not None:
                started = first.timestamp()
        return started + self.timeout

    def _timed_out(self, error: DeadlineReached) -> NoReturn:
        """End the wait at the deadline as Airflow's sensors do (``soft_fail`` skips instead)."""
        message = (
            f"Sensor timed out: job {self.job_ref.job_id} was not finished by the deadline ({error.message})"
        )
        if self.soft_fail:
            raise AirflowSkipException(message) from error
        raise AirflowSensorTimeout(message) from error

    def _check_before_deferring(self, ref: JobRef) -> JobStatus | None:
        """The job's status now, or None when the vendor is briefly unreachable (the trigger retries)."""
        try:
            return self.hook.get_status(ref.job_id, ref.app, deadline=self._deadline)
        except DeadlineReached as error:
            self._timed_out(error)
        except AigcError as error:
            if not error.retryable:
                raise
            self.log.warning(
                "Could not check job %s before deferring (%s: %s); the trigger keeps trying.",
                ref.job_id,
                type(error).__name__,
                error.message,
            )
            return None

    def poke(self, context: Context) -> PokeReturnValue:
        with fail_fast_on_permanent_errors():
            try:
                status = self.hook.get_status(self.job_ref.job_id, self.job_ref.app, deadline=self._deadline)
            except DeadlineReached as error:
                self._timed_out(error)
            if not status.is_terminal:
                progress = "" if status.progress is None else f" {status.progress:.0%}"
                self.log.info("Job %s: %s%s", status.job_id, status.state.value, progress)
                return PokeReturnValue(is_done=False)
            return PokeReturnValue(is_done=True, xcom_value=self._conclude(status))

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume from the trigger: return the finished job, or fail as its event says."""
        result = JobEvent.from_payload(event)
        with fail_fast_on_permanent_errors():
            expected = self.job_ref.job_id
            if result.job_id != expected:
                raise AirflowException(f"AigcJobTrigger reported on job {result.job_id}, not {expected}")
            if result.status == "timeout":
                raise AirflowSensorTimeout(f"Sensor timed out: {result.message}")
            if result.job is not None:
                return self._conclude(result.job)
            raise result.to_error()

    def _conclude(self, status: JobStatus) -> dict[str, Any]:
        """The result of a finished job: its status dict, or the failure it stands for.

        Callers run it inside ``fail_fast_on_permanent_errors``.
        """
        ref = self.job_ref
        if status.state is JobState.SUCCEEDED:
            self.log.info("Job %s succeeded with %d output(s)", ref.job_id, len(status.outputs))
            return replace(
                status, conn_id=ref.conn_id, request=ref.request, submitted_at=ref.submitted_at
            ).to_dict()
        _fail_for_failed_job(ref, status)

    def on_kill(self) -> None:
        try:
            ref = self.job_ref
        except AigcError:
            return
        cancel_on_kill(self.hook, ref.job_id, ref.app, self.cancel_pending_on_kill is True, self.log)


def _fail_for_failed_job(ref: JobRef, status: JobStatus) -> NoReturn:
    """Fail the task for a job the vendor failed, with the job's taxonomy error.

    Always final for this task, as a retry of the sensor would read the same failed job again:
    ``fail_fast`` errors (moderation, ...) are raised for ``fail_fast_on_permanent_errors`` to turn
    into ``AirflowFailException``; the others (``AigcJobFailedError``) fail it here, saying how to
    buy a new job instead.
    """
    error = status.error
    cls = EXCEPTION_CLASSES.get(error.type, AigcJobFailedError) if error else AigcJobFailedError
    reason = error.message if error else "the vendor reported the job as failed"
    code = error.code if error else None
    cause = cls(f"{ref.vendor} job {ref.job_id} failed: {reason}", vendor=ref.vendor, code=code)
    if cls.fail_fast:
        raise cause
    raise AirflowFailException(
        f"{cls.__name__}: {cause.message}. Waiting again cannot revive a failed job, so this task "
        "skips its retries. To buy a new job, clear the submit task together with its downstream "
        "tasks: it finds this failed job in its task state and submits again."
    ) from cause
