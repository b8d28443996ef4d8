"""
### Baidu ERNIE-ViLG v2: prompt in, archived images out

`submit` buys one txt2imgv2 job (`image_num` images at 1024x1024, each billed), `wait` follows it
from the triggerer, and `archive` streams the images into S3 well inside the hour that Baidu's
signed URLs live, writing `manifest.json` last. Images the vendor's moderation blocked are listed
under `skipped` in the manifest instead of being archived.

Connections: `aigc_baidu_default` (API Key / Secret Key) and `aws_default`. The bucket is the
environment variable `AIGC_ARCHIVE_BUCKET` (default `aigc-archive`); objects land under
`ernie-vilg/<date>/baidu/txt2imgv2/<job id>/`.
"""

from __future__ import annotations

import os

from airflow.sdk import DAG, Param

from airflow_provider_aigc.operators.archive import AigcArchiveToS3Operator
from airflow_provider_aigc.operators.submit import ErnieVilgSubmitOperator
from airflow_provider_aigc.sensors.job import AigcJobSensor
from airflow_provider_aigc.vendors.baidu import IMAGE_NUM_RANGE, PROMPT_MAX_CHARS

# Read when the file is parsed (not templated), so the archive task can declare its S3 asset.
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
    submit = ErnieVilgSubmitOperator(
        task_id="submit", prompt="{{ params.prompt }}", image_num="{{ params.image_num }}"
    )
    wait = AigcJobSensor(task_id="wait", job=submit.output)
    archive = AigcArchiveToS3Operator(
        task_id="archive",
        job=wait.output,
        s3_bucket=ARCHIVE_BUCKET,
        # Manual runs may have no logical date (no `ds`) in Airflow 3; run_after is always set.
        s3_key_prefix="ernie-vilg/{{ dag_run.run_after | ds }}",
    )
