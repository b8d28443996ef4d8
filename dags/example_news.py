"""
### Zhipu news generation: topic in, archived article out, as three tasks

The three-task chain, for pipelines that want each step on its own (a job bought elsewhere, a
different archive, a human look between the steps); `NewsGenerateToS3Operator` does the same in
one task, like the other examples.

`submit` asks Zhipu to write a Chinese news article of at most `max_length` characters about the
run's `topic`, `wait` follows the job from the triggerer, and `archive` stores the article in S3 as
a UTF-8 text object (`text/plain; charset=utf-8`) with its `manifest.json`.

Connections: `aigc_zhipu_default` and `aws_default`. The bucket is the environment variable
`AIGC_ARCHIVE_BUCKET` (default `aigc-archive`); objects land under
`news/<date>/zhipu/news_generate/<job id>/`.
"""

from __future__ import annotations

import os

from airflow.sdk import DAG, Param

from airflow_provider_aigc.operators.archive import AigcArchiveToS3Operator
from airflow_provider_aigc.operators.submit import NewsGenerateSubmitOperator
from airflow_provider_aigc.sensors.job import AigcJobSensor

# Read when the file is parsed (not templated), so the archive task can declare its S3 asset.
ARCHIVE_BUCKET = os.environ.get("AIGC_ARCHIVE_BUCKET", "aigc-archive")

with DAG(
    dag_id="example_news",
    schedule=None,
    params={
        "topic": Param(
            "人工智能助力农业春耕",
            type="string",
            minLength=1,
            description="The topic or opening sentence the article is written from.",
        ),
        "max_length": Param(400, type="integer", minimum=1, description="Longest article, in characters."),
    },
    tags=["aigc", "example", "zhipu"],
    doc_md=__doc__,
):
    submit = NewsGenerateSubmitOperator(
        task_id="submit", content="{{ params.topic }}", max_length="{{ params.max_length }}"
    )
    wait = AigcJobSensor(task_id="wait", job=submit.output)
    archive = AigcArchiveToS3Operator(
        task_id="archive",
        job=wait.output,
        s3_bucket=ARCHIVE_BUCKET,
        # Manual runs may have no logical date (no `ds`) in Airflow 3; run_after is always set.
        s3_key_prefix="news/{{ dag_run.run_after | ds }}",
    )
