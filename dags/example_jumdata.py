"""
### Jumdata AI drawing: prompt and style in, archived images out, in one task

`generate` (`JumdataDrawToS3Operator`) buys one drawing job (`num` images in one of the vendor's
17 styles, each image billed), waits for it in the triggerer, then copies the images into S3 with
their `manifest.json`, so they outlive the vendor's three-month URLs. A retry resumes from the
task's state and never buys the drawing twice.

Connections: `aigc_jumdata_default` (appId / appSecret) and `aws_default`. The bucket is the
environment variable `AIGC_ARCHIVE_BUCKET` (default `aigc-archive`); objects land under
`jumdata/<date>/jumdata/ai_draw/<job id>/`.
"""

from __future__ import annotations

import os

from airflow.sdk import DAG, Param

from airflow_provider_aigc.operators.generate import JumdataDrawToS3Operator
from airflow_provider_aigc.vendors.jumdata import MAX_IMAGES, MAX_TEXT_LENGTH, MIN_IMAGES, RESOLUTIONS, STYLES

# Read when the file is parsed (not templated), so the task can declare its S3 asset.
ARCHIVE_BUCKET = os.environ.get("AIGC_ARCHIVE_BUCKET", "aigc-archive")

with DAG(
    dag_id="example_jumdata",
    schedule=None,
    params={
        "text": Param(
            "雪山脚下的小木屋，炊烟袅袅",
            type="string",
            minLength=1,
            maxLength=MAX_TEXT_LENGTH,
            description="What the images should show.",
        ),
        "style": Param("水彩画", type="string", enum=list(STYLES), description="The vendor's named style."),
        "resolution": Param("1024*1024", type="string", enum=list(RESOLUTIONS)),
        "num": Param(
            2,
            type="integer",
            minimum=MIN_IMAGES,
            maximum=MAX_IMAGES,
            description="How many images to draw (each is billed).",
        ),
    },
    tags=["aigc", "example", "jumdata"],
    doc_md=__doc__,
):
    JumdataDrawToS3Operator(
        task_id="generate",
        text="{{ params.text }}",
        style="{{ params.style }}",
        resolution="{{ params.resolution }}",
        num="{{ params.num }}",
        s3_bucket=ARCHIVE_BUCKET,
        # Manual runs may have no logical date (no `ds`) in Airflow 3; run_after is always set.
        s3_key_prefix="jumdata/{{ dag_run.run_after | ds }}",
    )
