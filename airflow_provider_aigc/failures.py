"""How taxonomy errors become task outcomes: errors a retry cannot fix skip the task's retries."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_aigc.exceptions import AigcError

if TYPE_CHECKING:
    from collections.abc import Iterator


@contextmanager
def fail_fast_on_permanent_errors() -> Iterator[None]:
    """Turn an ``AigcError`` whose class is ``fail_fast`` into ``AirflowFailException``.

    Airflow fails the task at once on ``AirflowFailException`` (its retries and any
    ``retry_policy`` are skipped); the original error stays attached as ``__cause__`` and in the
    message. Other errors pass through unchanged and use the task's retries as usual.
    """
    try:
        yield
    except AigcError as error:
        if not error.fail_fast:
            raise
        raise AirflowFailException(
            f"{type(error).__name__}: {error.message} ({_advice(type(error))} "
            "The task fails without using its retries.)"
        ) from error


def _advice(error_class: type[AigcError]) -> str:
    """What the error class means to the user: the first line of its docstring."""
    return (error_class.__doc__ or "").strip().splitlines()[0]
