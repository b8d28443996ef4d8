"""The three-task chain (submit >> wait >> archive) archiving into the asset example_publish_on_asset
is scheduled on: ``s3://$AIGC_ARCHIVE_BUCKET/cogview``."""

from __future__ import annotations

import os

from airflow.sdk import DAG

from airflow_provider_aigc.operators.archive import AigcArchiveToS3Operator
from airflow_provider_aigc.operators.submit import CogViewSubmitOperator
from airflow_provider_aigc.sensors.job import AigcJobSensor

with DAG(dag_id="cogview_chain", schedule=None, params={"prompt": "黄山云海"}):
    submit = CogViewSubmitOperator(task_id="submit", query="{{ params.prompt }}")
    wait = AigcJobSensor(task_id="wait", job=submit.output, poll_interval=1)
    AigcArchiveToS3Operator(
        task_id="archive",
        job=wait.output,
        s3_bucket=os.environ["AIGC_ARCHIVE_BUCKET"],
        s3_key_prefix="cogview/{{ dag_run.run_after | ds }}",
    )
