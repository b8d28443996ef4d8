"""
### Zhipu CogView: prompt in, four archived images out

`submit` buys one CogView job for the run's `prompt` (validated before the paid call), `wait`
follows it from the triggerer without holding a worker slot (CogView takes minutes), and `archive`
streams the images into S3 before the vendor's URLs expire, writing `manifest.json` last.

Connections: `aigc_zhipu_default` (CogView) and `aws_default` (S3). The bucket is the environment
variable `AIGC_ARCHIVE_BUCKET` (default `aigc-archive`); objects land under
`cogview/<date>/zhipu/cogview/<job id>/`.
"""

from __future__ import annotations

import os

from airflow.sdk import DAG, Param

from airflow_provider_aigc.operators.archive import AigcArchiveToS3Operator
from airflow_provider_aigc.operators.submit import CogViewSubmitOperator
from airflow_provider_aigc.sensors.job import AigcJobSensor

# Read when the file is parsed (not templated), so the archive task can declare its S3 asset.
ARCHIVE_BUCKET = os.environ.get("AIGC_ARCHIVE_BUCKET", "aigc-archive")

with DAG(
    dag_id="example_cogview",
    schedule=None,
    params={
        "prompt": Param(
            "水墨画风格的黄山云海，日出时分",
            type="string",
            minLength=1,
            description="What the images should show.",
        )
    },
    tags=["aigc", "example", "zhipu"],
    doc_md=__doc__,
):
    submit = CogViewSubmitOperator(task_id="submit", query="{{ params.prompt }}")
    wait = AigcJobSensor(task_id="wait", job=submit.output)
    archive = AigcArchiveToS3Operator(
        task_id="archive",
        job=wait.output,
        s3_bucket=ARCHIVE_BUCKET,
        # Manual runs may have no logical date (no `ds`) in Airflow 3; run_after is always set.
        s3_key_prefix="cogview/{{ dag_run.run_after | ds }}",
    )
