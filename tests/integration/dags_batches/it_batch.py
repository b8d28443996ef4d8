"""Six Baidu prompts mapped on one connection that runs 2 jobs at a time (issue #20), both modes.

``it_batch_chain``: ``ErnieVilgSubmitOperator`` -> ``AigcJobSensor`` -> ``AigcArchiveToS3Operator``;
``it_batch_group``: the same chain mapped as one task group per prompt (docs/operators.md, "Mapping a
chain"); ``it_batch_one_task``: ``ErnieVilgToS3Operator``. ``AIGC_BATCH_RETRIES`` sets every task's retries
(the waits for capacity must not spend them); ``AIGC_ARCHIVE_BUCKET`` names the bucket.
"""

from __future__ import annotations

import os
from datetime import timedelta

from airflow.sdk import DAG, task_group

from airflow_provider_aigc.operators.archive import AigcArchiveToS3Operator
from airflow_provider_aigc.operators.generate import ErnieVilgToS3Operator
from airflow_provider_aigc.operators.submit import ErnieVilgSubmitOperator
from airflow_provider_aigc.sensors.job import AigcJobSensor

PROMPTS = [f"第{n}幅:荷塘月色" for n in range(1, 7)]
BUCKET = os.environ.get("AIGC_ARCHIVE_BUCKET", "aigc-archive")
TASK_DEFAULTS = {"retries": int(os.environ.get("AIGC_BATCH_RETRIES", "0")), "retry_delay": timedelta(0)}

with DAG(dag_id="it_batch_chain", schedule=None, default_args=TASK_DEFAULTS):
    submit = ErnieVilgSubmitOperator.partial(task_id="submit").expand(prompt=PROMPTS)
    wait = AigcJobSensor.partial(task_id="wait", poll_interval=0.3).expand(job=submit.output)
    AigcArchiveToS3Operator.partial(task_id="archive", s3_bucket=BUCKET, s3_key_prefix="chain").expand(
        job=wait.output
    )

with DAG(dag_id="it_batch_group", schedule=None, default_args=TASK_DEFAULTS):

    @task_group(group_id="prompt")
    def one_prompt(prompt: str) -> None:
        submit = ErnieVilgSubmitOperator(task_id="submit", prompt=prompt)
        wait = AigcJobSensor(task_id="wait", job=submit.output, poll_interval=0.3)
        AigcArchiveToS3Operator(task_id="archive", job=wait.output, s3_bucket=BUCKET, s3_key_prefix="group")

    one_prompt.expand(prompt=PROMPTS)

with DAG(dag_id="it_batch_one_task", schedule=None, default_args=TASK_DEFAULTS):
    ErnieVilgToS3Operator.partial(
        task_id="generate", s3_bucket=BUCKET, s3_key_prefix="one-task", poll_interval=0.3
    ).expand(prompt=PROMPTS)
