"""One CogView task from prompt to archive, whose first try fails right after the archive is complete.

The retry must resume from the task state: no second purchase, no second wait, no second copy.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import DAG

from airflow_provider_aigc.operators.generate import CogViewToS3Operator

if TYPE_CHECKING:
    from airflow.sdk import Context


def lose_the_first_try(context: Context, result: Any) -> None:
    """Test only: the first try dies after its archive is complete (a lost worker, a later step)."""
    if context["ti"].try_number == 1:
        raise RuntimeError(f"simulated loss after archiving {len(result)} object(s)")


with DAG(dag_id="it_one_task_retry", schedule=None):
    CogViewToS3Operator(
        task_id="generate",
        query="a lotus pond at dawn",
        s3_bucket=os.environ["AIGC_ARCHIVE_BUCKET"],
        s3_key_prefix="one-task",
        poll_interval=0.3,
        retries=1,
        retry_delay=timedelta(seconds=0),
        post_execute=lose_the_first_try,
    )
