"""Wan text-to-image in one task (wan2.6-t2i, the image-generation protocol), deferred."""

from __future__ import annotations

import os

from airflow.sdk import DAG

from airflow_provider_aigc.operators.dashscope import WanImageToS3Operator

with DAG(dag_id="it_wan_one_task", schedule=None, params={"prompt": "雪山脚下的小木屋"}):
    WanImageToS3Operator(
        task_id="generate",
        prompt="{{ params.prompt }}",
        n=2,
        poll_interval=0.3,
        s3_bucket=os.environ["AIGC_ARCHIVE_BUCKET"],
        s3_key_prefix="one-task",
    )
