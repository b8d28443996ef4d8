"""One task from prompt to archive: submit, wait (deferred), archive; one operator per vendor API.

``CogViewToS3Operator`` and its siblings are a submit operator and ``AigcArchiveToS3Operator`` in
one task (docs/operators.md, "One task"): they buy the job exactly as the submit operator does
(intent, ``aigc_job``, reuse), defer to ``AigcJobTrigger`` with an absolute deadline while the
vendor works, and on resume run the archive operator's own ``execute`` on the finished job, so
the copier, manifest, asset event, extra link and lineage are the archive step's, not a copy.

A later try resumes from its task state (``operators.generate_state``): the job is never bought
again, a finished job is archived without waiting (its status is recorded), and a complete
archive is found by the copier's manifest check and not copied again. A job the vendor failed
is replaced only on a later try and only ``resubmit_failed_jobs`` times.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSensorTimeout
from airflow.sdk.execution_time.context import NEVER_EXPIRE

from airflow_provider_aigc.cancel import cancel_on_kill, cancel_option
from airflow_provider_aigc.exceptions import EXCEPTION_CLASSES, AigcError, AigcJobFailedError, DeadlineReached
from airflow_provider_aigc.failures import fail_fast_on_permanent_errors
from airflow_provider_aigc.models import JobRef, JobState, JobStatus
from airflow_provider_aigc.operators.archive import AigcArchiveToS3Operator
from airflow_provider_aigc.operators.generate_state import GENERATE_STATE_KEY, GenerateRecord
from airflow_provider_aigc.operators.job_state import JOB_STATE_KEY, SavedJob, read_state
from airflow_provider_aigc.operators.submit import (
    AigcSubmitOperator,
    CogVideoXSubmitOperator,
    CogViewSubmitOperator,
    ErnieVilgSubmitOperator,
    GlmImageSubmitOperator,
    JumdataDrawSubmitOperator,
    NewsGenerateSubmitOperator,
)
from airflow_provider_aigc.sensors.job import DEFAULT_TIMEOUT
from airflow_provider_aigc.triggers.events import JobEvent
from airflow_provider_aigc.triggers.job import AigcJobTrigger
from airflow_provider_aigc.triggers.polling import default_poll_interval

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from airflow.sdk import Context
    from airflow.sdk.execution_time.context import TaskStateStoreAccessor

__all__ = [
    "GENERATE_STATE_KEY",
    "PURCHASES_XCOM_KEY",
    "AigcGenerateToS3Operator",
    "CogVideoXToS3Operator",
    "CogViewToS3Operator",
    "ErnieVilgToS3Operator",
    "GlmImageToS3Operator",
    "JumdataDrawToS3Operator",
    "NewsGenerateToS3Operator",
]

# The XCom key of the task's purchases: every job it bought and the units billed over all of them.
PURCHASES_XCOM_KEY = "aigc_purchases"
# The one-task operators' templated fields beside the submit operator's: the archive's, the kill option.
ARCHIVE_TEMPLATE_FIELDS = ("s3_bucket", "s3_key_prefix", "cancel_pending_on_kill")


class AigcGenerateToS3Operator(AigcSubmitOperator, AigcArchiveToS3Operator):
    """Buy one job, wait for it in the triggerer, archive its outputs into S3; return the objects.

    Base of the per-API operators. The arguments are the submit operator's (prompt fields,
    ``conn_id``), the archive operator's (``s3_bucket``, ``s3_key_prefix``, ``aws_conn_id``,
    ``key_template``, ``replace``, ``skip_blocked``, ...; see ``AigcArchiveToS3Operator``) and:

    :param deferrable: Wait in the triggerer (default); False polls in the worker slot, checking
        the status every ``poll_interval`` as ``AigcJobSensor`` does in poke mode.
    :param poll_interval: Seconds between status checks; None takes the app's default.
    :param timeout: How long this try waits for the job (seconds or timedelta, default 1 hour),
        as an absolute deadline carried by the trigger; past it the task fails with
        ``AirflowSensorTimeout`` (no retries). The job keeps running at the vendor.
    :param resubmit_failed_jobs: How many times a job the vendor failed (a model failure, not
        moderation) may be replaced by a new, paid job, each on a later try of this task (so the
        task needs at least as many ``retries``). Default 0: a failed job fails the task.
    :param cancel_pending_on_kill: When the task is stopped while it waits for its job (killed in
        the worker, or marked failed or success or cleared while deferred), ask the vendor to
        cancel the job. Only vendors with a cancel call take it (DashScope: only while the task
        is PENDING, and then free; a running task is not cancelled, which is logged). Default
        False: the job keeps running and a later try reuses it (templated).
    """

    template_fields: Sequence[str] = ("conn_id", *ARCHIVE_TEMPLATE_FIELDS)
    ui_color = "#e8e4ff"

    def __init__(
        self,
        *,
        deferrable: bool = True,
        poll_interval: float | None = None,
        timeout: timedelta | float = DEFAULT_TIMEOUT,
        resubmit_failed_jobs: int = 0,
        cancel_pending_on_kill: bool | str = False,
        **kwargs: Any,
    ) -> None:
        if "job" in kwargs:
            raise ValueError(
                f"{type(self).__name__} buys its own job; to archive a job bought elsewhere use "
                "AigcJobSensor and AigcArchiveToS3Operator"
            )
        super().__init__(job=None, **kwargs)
        seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)
        if not seconds > 0:
            raise ValueError(f"{type(self).__name__}: timeout must be positive, got {timeout!r}")
        if poll_interval is not None and not poll_interval > 0:
            raise ValueError(f"{type(self).__name__}: poll_interval must be positive, got {poll_interval!r}")
        if isinstance(resubmit_failed_jobs, bool) or not isinstance(resubmit_failed_jobs, int):
            raise ValueError(f"resubmit_failed_jobs must be an integer, got {resubmit_failed_jobs!r}")
        if resubmit_failed_jobs < 0:
            raise ValueError(f"resubmit_failed_jobs must be 0 or more, got {resubmit_failed_jobs}")
        if resubmit_failed_jobs > (self.retries or 0):
            raise ValueError(
                f"resubmit_failed_jobs={resubmit_failed_jobs} needs retries >= {resubmit_failed_jobs}"
                f" (got {self.retries}): a failed job is replaced on a later try of the task"
            )
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.timeout = seconds
        self.resubmit_failed_jobs = resubmit_failed_jobs
        self.cancel_pending_on_kill = cancel_pending_on_kill
        # Injectable for tests: epoch seconds, and the pause between polls in the worker.
        self._clock: Callable[[], float] = time.time
        self._sleep: Callable[[float], None] = time.sleep
        self._record = GenerateRecord()
        self._record_readable = True
        self._resubmit_pending = False
        self._waiting_for: JobRef | None = None  # the job a worker-side wait is for (on_kill)

    def execute(self, context: Context) -> Any:
        deadline = self._clock() + self.timeout
        with fail_fast_on_permanent_errors():
            self.cancel_pending_on_kill = cancel_option(self.cancel_pending_on_kill)
            store = context.get("task_state_store")
            self._load_record(store)
            job, status = self.job_or_wait(context)
            self._waiting_for = job
            self._store_record(store, self._record.bought(job.job_id))
            if status is None:
                status = self._check_once(job, deadline)
            if status is not None and status.is_terminal:
                return self._finish(context, job, status)
            if not self.deferrable:
                return self._finish(context, job, self._wait_in_worker(job, deadline))
        self.defer(
            trigger=AigcJobTrigger(
                conn_id=job.conn_id,
                vendor=job.vendor,
                app=job.app,
                job_id=job.job_id,
                poll_interval=self._poll_interval(job),
                end_time=deadline,
                cancel_pending_on_kill=self.cancel_pending_on_kill,
            ),
            method_name="execute_complete",
            kwargs={"job": job.to_dict()},
            # The deadline travels in the trigger as an absolute end_time: a framework timeout
            # would fail the task without calling execute_complete.
            timeout=None,
        )

    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None, job: dict[str, Any] | None = None
    ) -> Any:
        """Resume from the trigger: archive the finished job, or fail as its event says."""
        result = JobEvent.from_payload(event)
        with fail_fast_on_permanent_errors():
            ref = self._deferred_job(context, job)
            if result.job_id != ref.job_id:
                raise AirflowException(f"AigcJobTrigger reported on job {result.job_id}, not {ref.job_id}")
            if result.status == "timeout":
                raise AirflowSensorTimeout(f"Timed out waiting for the job: {result.message}")
            if result.job is None:
                raise result.to_error()
            self._load_record(context.get("task_state_store"))
            return self._finish(context, ref, result.job)

    def _deferred_job(self, context: Context, job: dict[str, Any] | None) -> JobRef:
        """The job the trigger watched: the one saved in ``aigc_job``, else the deferral's kwargs
        (``airflow dags test`` resumes with the event alone; the kwargs serve when saving the job
        failed)."""
        store = context.get("task_state_store")
        if store is not None:
            try:
                saved = read_state(store.get(JOB_STATE_KEY))
            except ValueError:
                saved = None
            if isinstance(saved, SavedJob):
                return saved.job
        if isinstance(job, dict):
            return JobRef.from_dict(job)
        raise AirflowException(
            f"{type(self).__name__} resumed, but neither its task state nor the event names its job"
        )

    def on_kill(self) -> None:
        """Stopped in the worker: cancel the job it waits for if opted in (see ``cancel_on_kill``)."""
        job = self._waiting_for
        if job is not None:
            cancel_on_kill(self.hook, job.job_id, job.app, self.cancel_pending_on_kill is True, self.log)

    # -- the job's end: archive it, or fail ----------------------------------------------------

    def _finish(self, context: Context, ref: JobRef, status: JobStatus) -> Any:
        """Record the finished job, then archive it with the archive operator's ``execute``."""
        status = replace(status, conn_id=ref.conn_id, request=ref.request, submitted_at=ref.submitted_at)
        self._store_record(context.get("task_state_store"), self._record.finish(status))
        if status.state is not JobState.SUCCEEDED:
            self._fail_for_failed_job(status)
        self.log.info(
            "Job %s succeeded with %d output(s); archiving them", status.job_id, len(status.outputs)
        )
        self.job = status.to_dict()
        objects = AigcArchiveToS3Operator.execute(self, context)
        self._report_purchases(context)
        return objects

    def _fail_for_failed_job(self, status: JobStatus) -> NoReturn:
        """A job the vendor failed: moderation fails at once; a model failure is replaced on a
        later try while ``resubmit_failed_jobs`` allows it, else the task fails without retries."""
        message = _model_failure(status)
        left = self.resubmit_failed_jobs - self._record.resubmits
        if self._record_readable and left > 0:
            raise AigcJobFailedError(
                f"{message}. The next try of this task buys a new job (resubmit_failed_jobs="
                f"{self.resubmit_failed_jobs}, {left} left).",
                vendor=status.vendor,
            )
        raise AirflowFailException(self._no_resubmit_message(message))

    def _no_resubmit_message(self, message: str) -> str:
        return (
            f"AigcJobFailedError: {message}. resubmit_failed_jobs={self.resubmit_failed_jobs} and this"
            f" task instance has replaced {self._record.resubmits} failed job(s), so it buys no new job"
            " and skips its retries. To buy again, raise resubmit_failed_jobs (and retries) and clear"
            f" the task; or delete its task_state_store keys {JOB_STATE_KEY!r} and {GENERATE_STATE_KEY!r}"
            " (UI: the task instance's Task State Store tab; REST API: DELETE"
            " /api/v2/dags/<dag_id>/dagRuns/<run_id>/taskInstances/<task_id>/state-store), then clear it."
        )

    def _report_purchases(self, context: Context) -> None:
        """Every job this task instance bought, and the units billed over all of them."""
        record = self._record
        units = record.billed_units
        unit = next((item.billed_unit for item in reversed(record.purchases) if item.billed_unit), None)
        self.log.info(
            "This task instance bought %d job(s) (%s), %d of them to replace a failed job; billed: %s",
            len(record.purchases),
            ", ".join(f"{item.job_id} {item.state}" for item in record.purchases),
            record.resubmits,
            "unknown" if units is None else f"{units} {unit}(s)",
        )
        summary = {
            "jobs": [item.to_dict() for item in record.purchases],
            "resubmits": record.resubmits,
            "billed_units": units,
            "billed_unit": unit,
        }
        context["ti"].xcom_push(key=PURCHASES_XCOM_KEY, value=summary)
        if self.outlet_asset is not None:
            extra = context["outlet_events"][self.outlet_asset].extra
            extra.update({"purchases": len(record.purchases), "purchases_billed_units": units})

    # -- waiting ---------------------------------------------------------------------------------

    def _poll_interval(self, job: JobRef) -> float:
        return self.poll_interval or default_poll_interval(job.vendor, job.app)

    def _check_once(self, job: JobRef, deadline: float) -> JobStatus | None:
        """The new job's status before deferring, or None when the vendor is briefly unreachable."""
        try:
            return self.hook.get_status(job.job_id, job.app, deadline=deadline)
        except DeadlineReached as error:
            _timed_out(job, error)
        except AigcError as error:
            if not error.retryable:
                raise
            self.log.warning(
                "Could not check job %s before deferring (%s: %s); the trigger keeps trying.",
                job.job_id,
                type(error).__name__,
                error.message,
            )
            return None

    def _wait_in_worker(self, job: JobRef, deadline: float) -> JobStatus:
        """``deferrable=False``: poll in this worker slot until the job ends or the deadline passes."""
        interval = self._poll_interval(job)
        while True:
            left = deadline - self._clock()
            if left <= 0:
                raise AirflowSensorTimeout(f"Timed out waiting for job {job.job_id}: its deadline passed")
            self._sleep(min(interval, left))
            try:
                status = self.hook.get_status(job.job_id, job.app, deadline=deadline)
            except DeadlineReached as error:
                _timed_out(job, error)
            if status.is_terminal:
                return status
            progress = "" if status.progress is None else f" {status.progress:.0%}"
            self.log.info("Job %s: %s%s", status.job_id, status.state.value, progress)

    # -- task state: the submit operator's hooks, and this mode's record -------------------------

    def _live_status(self, job: JobRef) -> JobStatus | None:
        """A job whose end an earlier try recorded is not asked about again (nor waited for)."""
        finished = self._record.finished_job(job.job_id)
        if finished is None:
            return super()._live_status(job)
        if finished.state is JobState.FAILED:
            self._replacing_failed_job(job, finished)
            return None
        self.log.info(
            "Job %s finished in an earlier try (recorded in task_state_store): archiving it without "
            "waiting or asking %s again.",
            job.job_id,
            job.vendor,
        )
        return finished

    def _replacing_failed_job(self, job: JobRef, status: JobStatus) -> None:
        """Buy a replacement only for a model failure and only within ``resubmit_failed_jobs``."""
        message = _model_failure(status)
        self._record = self._record.finish(status)
        if not self._record_readable or self._record.resubmits >= self.resubmit_failed_jobs:
            raise AirflowFailException(self._no_resubmit_message(message))
        self._record = replace(self._record, resubmits=self._record.resubmits + 1)
        self._resubmit_pending = True
        self.log.warning(
            "%s; buying a new job (resubmit %d of resubmit_failed_jobs=%d).",
            message,
            self._record.resubmits,
            self.resubmit_failed_jobs,
        )

    def _before_buying(self, store: TaskStateStoreAccessor) -> None:
        """A replacement is counted in task state before it is bought, or not bought at all."""
        if not self._resubmit_pending:
            return
        try:
            store.set(GENERATE_STATE_KEY, self._record.to_state(), retention=NEVER_EXPIRE)
        except Exception as error:
            raise AigcError(
                f"could not count the resubmit in task_state_store ({type(error).__name__}: {error}),"
                " so no new job was bought; the task's retries apply.",
                vendor=self.vendor,
            ) from error
        self._resubmit_pending = False

    def _load_record(self, store: TaskStateStoreAccessor | None) -> None:
        if store is None:
            return
        try:
            self._record = GenerateRecord.from_state(store.get(GENERATE_STATE_KEY))
        except ValueError as error:
            # Unreadable: nothing is skipped (the job is waited for again) and no failed job is
            # replaced, since the count of replacements is lost.
            self.log.warning(
                "Ignoring an unreadable %r entry in task_state_store (%s)", GENERATE_STATE_KEY, error
            )
            self._record, self._record_readable = GenerateRecord(), False

    def _store_record(self, store: TaskStateStoreAccessor | None, record: GenerateRecord) -> None:
        """Keep ``record`` for later tries; a failed write costs a later try a wait, never a purchase."""
        self._record = record
        if store is None:
            return
        try:
            store.set(GENERATE_STATE_KEY, record.to_state(), retention=NEVER_EXPIRE)
        except Exception:
            self.log.exception(
                "Could not update %r in task_state_store; a retry may wait for the job again.",
                GENERATE_STATE_KEY,
            )


def _model_failure(status: JobStatus) -> str:
    """What to say about a failed job that a new one may replace; raises its taxonomy error when
    the failure is fail-fast (moderation: the same prompt gets the same verdict)."""
    error = status.error
    cls = EXCEPTION_CLASSES.get(error.type, AigcJobFailedError) if error else AigcJobFailedError
    reason = error.message if error else "the vendor reported the job as failed"
    message = f"{status.vendor} job {status.job_id} failed: {reason}"
    if cls.fail_fast:
        raise cls(message, vendor=status.vendor, code=error.code if error else None)
    return message


def _timed_out(job: JobRef, error: DeadlineReached) -> NoReturn:
    raise AirflowSensorTimeout(
        f"Timed out waiting for job {job.job_id}: not finished by the deadline ({error.message})"
    ) from error


class CogViewToS3Operator(AigcGenerateToS3Operator, CogViewSubmitOperator):
    """Zhipu CogView images from ``query`` into S3 in one task (see ``AigcGenerateToS3Operator``)."""

    template_fields: Sequence[str] = (*CogViewSubmitOperator.template_fields, *ARCHIVE_TEMPLATE_FIELDS)


class NewsGenerateToS3Operator(AigcGenerateToS3Operator, NewsGenerateSubmitOperator):
    """A Zhipu news article from ``content`` into S3 as text, in one task."""

    template_fields: Sequence[str] = (*NewsGenerateSubmitOperator.template_fields, *ARCHIVE_TEMPLATE_FIELDS)


class ErnieVilgToS3Operator(AigcGenerateToS3Operator, ErnieVilgSubmitOperator):
    """Baidu ERNIE-ViLG v2 images from ``prompt`` into S3 in one task."""

    template_fields: Sequence[str] = (*ErnieVilgSubmitOperator.template_fields, *ARCHIVE_TEMPLATE_FIELDS)


class JumdataDrawToS3Operator(AigcGenerateToS3Operator, JumdataDrawSubmitOperator):
    """Jumdata AI drawings from ``text`` and ``style`` into S3 in one task."""

    template_fields: Sequence[str] = (*JumdataDrawSubmitOperator.template_fields, *ARCHIVE_TEMPLATE_FIELDS)


class GlmImageToS3Operator(AigcGenerateToS3Operator, GlmImageSubmitOperator):
    """A BigModel GLM-Image picture from ``prompt`` into S3 in one task."""

    template_fields: Sequence[str] = (*GlmImageSubmitOperator.template_fields, *ARCHIVE_TEMPLATE_FIELDS)


class CogVideoXToS3Operator(AigcGenerateToS3Operator, CogVideoXSubmitOperator):
    """A BigModel CogVideoX-3 video and its cover into S3 in one task (the mp4 streamed in parts).

    A video takes minutes: the default ``timeout`` (1 hour) and poll interval (15 s) suit it.
    """

    template_fields: Sequence[str] = (*CogVideoXSubmitOperator.template_fields, *ARCHIVE_TEMPLATE_FIELDS)
