"""Wan text-to-image as submit >> wait >> archive (three images asked, the legacy protocol)."""

from __future__ import annotations

import os

from airflow.sdk import DAG

from airflow_provider_aigc.operators.archive import AigcArchiveToS3Operator
from airflow_provider_aigc.operators.dashscope import WanImageSubmitOperator
from airflow_provider_aigc.sensors.job import AigcJobSensor

with DAG(dag_id="it_wan_chain", schedule=None, params={"prompt": "荷塘月色"}):
    submit = WanImageSubmitOperator(
        task_id="submit", prompt="{{ params.prompt }}", model="wan2.2-t2i-flash", size="1024*1024", n=3
    )
    wait = AigcJobSensor(task_id="wait", job=submit.output, poll_interval=0.3)
    archive = AigcArchiveToS3Operator(
        task_id="archive", job=wait.output, s3_bucket=os.environ["AIGC_ARCHIVE_BUCKET"], s3_key_prefix="chain"
    )
    submit >> wait >> archive
