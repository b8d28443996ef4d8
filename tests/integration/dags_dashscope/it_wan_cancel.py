"""Wan text-to-image in one task that opts in to cancelling its PENDING task when stopped
(the option templated from the run's params)."""

from __future__ import annotations

import os

from airflow.sdk import DAG

from airflow_provider_aigc.operators.dashscope import WanImageToS3Operator

with DAG(dag_id="it_wan_cancel", schedule=None, params={"cancel": True}):
    WanImageToS3Operator(
        task_id="generate",
        prompt="雪山脚下的小木屋",
        model="wan2.2-t2i-flash",
        poll_interval=1.0,
        cancel_pending_on_kill="{{ params.cancel }}",
        s3_bucket=os.environ["AIGC_ARCHIVE_BUCKET"],
        s3_key_prefix="cancel",
    )
