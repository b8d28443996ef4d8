"""What a stopped wait does about its vendor job: ``cancel_pending_on_kill``.

A killed task (on_kill in the worker, or the trigger's ``on_kill`` when the user marks a deferred
task failed or success, or clears it) leaves its job running and billed at the vendor. Where the
vendor has a cancel call that is free (DashScope: only while the task is PENDING) the user may opt
in to send it. A job that has left PENDING is not cancelled by the vendor: that is logged, never
raised, since the task is being stopped anyway. Without the opt-in nothing is sent: a cancel
cannot be undone, and a kill is not always a wish to throw the job away (a clear re-runs the task,
which then reuses the job).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_aigc.exceptions import AigcError, AigcInvalidRequestError
from airflow_provider_aigc.vendors.common import validate_bool

if TYPE_CHECKING:
    from airflow_provider_aigc.hooks.base import AigcHook

__all__ = ["acancel_on_kill", "cancel_on_kill", "cancel_option"]

OPTION = "cancel_pending_on_kill"


class Log(Protocol):
    """The part of a task's or trigger's logger used here (stdlib and Airflow's structlog alike)."""

    def info(self, event: str, *args: Any) -> Any: ...

    def warning(self, event: str, *args: Any) -> Any: ...


def cancel_option(value: object) -> bool:
    """The option's value: a bool, or "true"/"false" from a rendered template."""
    return validate_bool(OPTION, value, source="the operator's")


def cancel_on_kill(hook: AigcHook[Any], job_id: str, app: str, opted_in: bool, log: Log) -> None:
    """In a worker's ``on_kill``: cancel the job if wanted and possible, and log what happened."""
    if not _wanted(hook, job_id, app, opted_in, log):
        return
    try:
        hook.cancel(job_id)
    except AigcError as error:
        _report(hook.vendor, app, job_id, error, log)
    else:
        _report(hook.vendor, app, job_id, None, log)


async def acancel_on_kill(hook: AigcHook[Any], job_id: str, app: str, opted_in: bool, log: Log) -> None:
    """``cancel_on_kill`` in the triggerer's ``on_kill`` (nothing blocks the event loop)."""
    if not _wanted(hook, job_id, app, opted_in, log):
        return
    try:
        await hook.acancel(job_id)
    except AigcError as error:
        _report(hook.vendor, app, job_id, error, log)
    else:
        _report(hook.vendor, app, job_id, None, log)


def _wanted(hook: AigcHook[Any], job_id: str, app: str, opted_in: bool, log: Log) -> bool:
    """Whether to send the cancel; when not, say what keeps running at the vendor."""
    vendor = hook.vendor
    if not hook.can_cancel:
        log.warning(
            "The task was stopped, but %s offers no way to cancel jobs: %s job %s keeps running (and is "
            "billed) at the vendor; its outputs can still be fetched by that id.",
            vendor,
            app,
            job_id,
        )
        return False
    if not opted_in:
        log.warning(
            "The task was stopped; %s job %s keeps running (and is billed) at %s, and its outputs can "
            "still be fetched by that id. With %s=True it would have been cancelled while PENDING (free).",
            app,
            job_id,
            vendor,
            OPTION,
        )
        return False
    log.info("The task was stopped: asking %s to cancel %s job %s (%s=True)", vendor, app, job_id, OPTION)
    return True


def _report(vendor: str, app: str, job_id: str, error: AigcError | None, log: Log) -> None:
    if error is None:
        log.warning("%s cancelled %s job %s while it was PENDING: nothing is billed.", vendor, app, job_id)
    elif isinstance(error, AigcInvalidRequestError):
        log.warning(
            "%s did not cancel %s job %s (%s): it had left PENDING, so it keeps running (and is billed); "
            "its outputs can still be fetched by that id.",
            vendor,
            app,
            job_id,
            error.message,
        )
    else:
        log.warning(
            "Cancelling %s job %s at %s failed (%s: %s): it may keep running (and be billed).",
            app,
            job_id,
            vendor,
            type(error).__name__,
            error.message,
        )
