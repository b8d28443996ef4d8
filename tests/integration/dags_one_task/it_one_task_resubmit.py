"""One CogView task allowed to replace one job the vendor's model failed (resubmit_failed_jobs=1)."""

from __future__ import annotations

import os
from datetime import timedelta

from airflow.sdk import DAG

from airflow_provider_aigc.operators.generate import CogViewToS3Operator

with DAG(dag_id="it_one_task_resubmit", schedule=None):
    CogViewToS3Operator(
        task_id="generate",
        query="a lotus pond at dusk",
        s3_bucket=os.environ["AIGC_ARCHIVE_BUCKET"],
        s3_key_prefix="one-task",
        poll_interval=0.3,
        resubmit_failed_jobs=1,
        retries=1,
        retry_delay=timedelta(seconds=0),
    )
