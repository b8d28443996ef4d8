"""A submit task that dies right after the vendor accepted its job, on its first try only.

The retry must find the job in task_state_store and reuse it: the vendor bills one job.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import DAG

from airflow_provider_aigc.operators.submit import CogViewSubmitOperator
from airflow_provider_aigc.sensors.job import AigcJobSensor

if TYPE_CHECKING:
    from airflow.sdk import Context


class CrashAfterSubmitOperator(CogViewSubmitOperator):
    """Test only: the first try fails after the job was accepted and saved (a lost worker)."""

    def execute(self, context: Context) -> dict[str, Any]:
        job = super().execute(context)
        if context["ti"].try_number == 1:
            raise RuntimeError(f"simulated worker loss right after job {job['job_id']} was accepted")
        return job


with DAG(dag_id="it_crash_after_submit", schedule=None):
    submit = CrashAfterSubmitOperator(
        task_id="submit", query="a lotus pond", retries=2, retry_delay=timedelta(seconds=0)
    )
    submit >> AigcJobSensor(task_id="wait", job=submit.output, poll_interval=0.3)
