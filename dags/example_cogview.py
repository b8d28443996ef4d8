"""
### Zhipu CogView: prompt in, four archived images out, in one task

`generate` (`CogViewToS3Operator`) buys one CogView job for the run's `prompt` (validated before
the paid call), defers to the triggerer while CogView works (minutes, without holding a worker
slot), then streams the images into S3 before the vendor's URLs expire, writing `manifest.json`
last, and returns the archived objects. A retry resumes from the task's state: it never buys the
job again, never waits again for a finished job and never copies a complete archive again.

Connections: `aigc_zhipu_default` (CogView) and `aws_default` (S3). The bucket is the environment
variable `AIGC_ARCHIVE_BUCKET` (default `aigc-archive`); objects land under
`cogview/<date>/zhipu/cogview/<job id>/`.
"""

from __future__ import annotations

import os

from airflow.sdk import DAG, Param

from airflow_provider_aigc.operators.generate import CogViewToS3Operator

# Read when the file is parsed (not templated), so the task can declare its S3 asset.
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
    CogViewToS3Operator(
        task_id="generate",
        query="{{ params.prompt }}",
        s3_bucket=ARCHIVE_BUCKET,
        # Manual runs may have no logical date (no `ds`) in Airflow 3; run_after is always set.
        s3_key_prefix="cogview/{{ dag_run.run_after | ds }}",
    )
