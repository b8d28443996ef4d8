"""Wan text-to-video as submit >> wait >> archive (wan2.5, 480P, 10 s)."""

from __future__ import annotations

import os

from airflow.sdk import DAG

from airflow_provider_aigc.operators.archive import AigcArchiveToS3Operator
from airflow_provider_aigc.operators.dashscope import WanVideoSubmitOperator
from airflow_provider_aigc.sensors.job import AigcJobSensor

with DAG(dag_id="it_wan_video", schedule=None):
    submit = WanVideoSubmitOperator(
        task_id="submit", prompt="荷塘月色", model="wan2.5-t2v-preview", size="832*480", duration=10
    )
    wait = AigcJobSensor(task_id="wait", job=submit.output, poll_interval=0.3)
    archive = AigcArchiveToS3Operator(
        task_id="archive", job=wait.output, s3_bucket=os.environ["AIGC_ARCHIVE_BUCKET"], s3_key_prefix="video"
    )
    submit >> wait >> archive
