"""CogVideoX-3 as submit >> wait >> archive: the video and its cover streamed into S3."""

from __future__ import annotations

import os

from airflow.sdk import DAG

from airflow_provider_aigc.operators.archive import AigcArchiveToS3Operator
from airflow_provider_aigc.operators.submit import CogVideoXSubmitOperator
from airflow_provider_aigc.sensors.job import AigcJobSensor

with DAG(dag_id="it_bigmodel_chain", schedule=None, params={"prompt": "A paper boat drifting down a gutter"}):
    submit = CogVideoXSubmitOperator(
        task_id="submit", prompt="{{ params.prompt }}", size="1280x720", duration=10
    )
    wait = AigcJobSensor(task_id="wait", job=submit.output, poll_interval=0.3)
    AigcArchiveToS3Operator(
        task_id="archive",
        job=wait.output,
        s3_bucket=os.environ.get("AIGC_ARCHIVE_BUCKET", "aigc-archive"),
        s3_key_prefix="videos/{{ dag_run.run_after | ds }}",
    )
