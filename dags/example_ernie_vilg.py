"""
### Baidu ERNIE-ViLG v2: prompt in, archived images out, in one task

`generate` (`ErnieVilgToS3Operator`) buys one txt2imgv2 job (`image_num` images at 1024x1024, each
billed), waits for it in the triggerer, then streams the images into S3 well inside the hour that
Baidu's signed URLs live, writing `manifest.json` last. Images the vendor's moderation blocked are
listed under `skipped` in the manifest instead of being archived. If Baidu's model fails the job
(sub task 201), one new job is bought on the task's retry (`resubmit_failed_jobs=1`); a prompt
blocked by moderation is never bought again.

Connections: `aigc_baidu_default` (API Key / Secret Key) and `aws_default`. The bucket is the
environment variable `AIGC_ARCHIVE_BUCKET` (default `aigc-archive`); objects land under
`ernie-vilg/<date>/baidu/txt2imgv2/<job id>/`.
"""

from __future__ import annotations

import os
from datetime import timedelta

from airflow.sdk import DAG, Param

from airflow_provider_aigc.operators.generate import ErnieVilgToS3Operator
from airflow_provider_aigc.vendors.baidu import IMAGE_NUM_RANGE, PROMPT_MAX_CHARS

# Read when the file is parsed (not templated), so the task can declare its S3 asset.
ARCHIVE_BUCKET = os.environ.get("AIGC_ARCHIVE_BUCKET", "aigc-archive")

with DAG(
    dag_id="example_ernie_vilg",
    schedule=None,
    params={
        "prompt": Param(
            "睡莲，印象派油画",
            type="string",
            minLength=1,
            maxLength=PROMPT_MAX_CHARS,
            description="What the images should show.",
        ),
        "image_num": Param(
            2,
            type="integer",
            minimum=IMAGE_NUM_RANGE[0],
            maximum=IMAGE_NUM_RANGE[1],
            description="How many images to draw (each is billed).",
        ),
    },
    tags=["aigc", "example", "baidu"],
    doc_md=__doc__,
):
    ErnieVilgToS3Operator(
        task_id="generate",
        prompt="{{ params.prompt }}",
        image_num="{{ params.image_num }}",
        s3_bucket=ARCHIVE_BUCKET,
        # Manual runs may have no logical date (no `ds`) in Airflow 3; run_after is always set.
        s3_key_prefix="ernie-vilg/{{ dag_run.run_after | ds }}",
        resubmit_failed_jobs=1,
        retries=1,
        retry_delay=timedelta(seconds=30),
    )
