"""Reliability: one DAG whose tasks fail in every way a user can meet, next to a chain that succeeds.

Run by tests/reliability/test_airflow_runs.py against the simulator with faults configured:
moderation at submit (jumdata) and in the job (baidu), a template rendering past a documented
limit, wrong credentials, a job the vendor fails (zhipu), downloads that keep failing (jumdata),
and a Baidu chain whose access tokens expire after two calls (refreshed in worker and triggerer).
"""

from __future__ import annotations

import os
from datetime import timedelta

from airflow.sdk import DAG

from airflow_provider_aigc.operators.archive import AigcArchiveToS3Operator
from airflow_provider_aigc.operators.submit import (
    CogViewSubmitOperator,
    ErnieVilgSubmitOperator,
    JumdataDrawSubmitOperator,
)
from airflow_provider_aigc.sensors.job import AigcJobSensor

BUCKET = os.environ.get("AIGC_ARCHIVE_BUCKET", "aigc-archive")

with DAG(dag_id="rel_failures", schedule=None, params={"num": 7}):
    JumdataDrawSubmitOperator(task_id="moderated_submit", text="一幅违禁的画", style="古风")

    moderated = ErnieVilgSubmitOperator(task_id="moderated_job", prompt="违禁 的山水")
    AigcJobSensor(task_id="moderated_wait", job=moderated.output, poll_interval=0.2)

    JumdataDrawSubmitOperator(task_id="bad_template", text="一只猫", style="古风", num="{{ params.num }}")

    ErnieVilgSubmitOperator(task_id="wrong_secret", prompt="一只猫", conn_id="aigc_baidu_wrong")

    failing = CogViewSubmitOperator(task_id="failing_job", query="失败的任务")
    AigcJobSensor(task_id="failing_wait", job=failing.output, poll_interval=0.2)

    drawn = JumdataDrawSubmitOperator(task_id="broken_submit", text="一只狗", style="油画", num=2)
    drawn_wait = AigcJobSensor(task_id="broken_wait", job=drawn.output, poll_interval=0.2)
    AigcArchiveToS3Operator(
        task_id="broken_archive",
        job=drawn_wait.output,
        s3_bucket=BUCKET,
        s3_key_prefix="rel/broken",
        retries=1,
        retry_delay=timedelta(seconds=0),
    )

    refreshed = ErnieVilgSubmitOperator(task_id="refresh_submit", prompt="一只鹤", image_num=2)
    refreshed_wait = AigcJobSensor(task_id="refresh_wait", job=refreshed.output, poll_interval=0.2)
    AigcArchiveToS3Operator(
        task_id="refresh_archive", job=refreshed_wait.output, s3_bucket=BUCKET, s3_key_prefix="rel/refresh"
    )
