"""The DAG of benchmark 3 (submit >> wait >> archive), built by the files the benchmark writes.

Runs are created by the scheduler itself, one every ``every`` seconds from ``start_epoch`` (a
timedelta schedule ending after exactly ``runs`` intervals), as work arrives in production: no
API call or CLI start-up sits between a run being due and the scheduler starting it.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any


def make_dag(
    dag_id: str,
    *,
    deferrable: bool,
    runs: int,
    every: float,
    start_epoch: float,
    poll_interval: float,
    bucket: str,
) -> Any:
    """One Airflow DAG with ``runs`` runs, due one every ``every`` seconds."""
    from airflow.sdk import DAG

    from airflow_provider_aigc.operators.archive import AigcArchiveToS3Operator
    from airflow_provider_aigc.operators.submit import CogViewSubmitOperator
    from airflow_provider_aigc.sensors.job import AigcJobSensor

    start = datetime.fromtimestamp(start_epoch, tz=timezone.utc)
    with DAG(
        dag_id=dag_id,
        schedule=timedelta(seconds=every),
        start_date=start,
        end_date=start + timedelta(seconds=every * (runs - 1)),
        catchup=True,
        max_active_runs=runs,
        default_args={"retries": 0},
        tags=["aigc-benchmark"],
    ) as dag:
        submit = CogViewSubmitOperator(task_id="submit", query="benchmark {{ run_id }}")
        wait = AigcJobSensor(
            task_id="wait",
            job=submit.output,
            poll_interval=poll_interval,
            deferrable=deferrable,
            mode="poke",
            timeout=3600,
        )
        AigcArchiveToS3Operator(
            task_id="archive", job=wait.output, s3_bucket=bucket, s3_key_prefix=dag_id + "/{{ run_id }}"
        )
    return dag
