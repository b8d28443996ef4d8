"""
### DashScope Wan text-to-image: prompt in, archived images out, in one task

`generate` (`WanImageToS3Operator`) buys one Wan text-to-image task (`n` images, each billed; the
vendor's own default would be four), waits for it in the triggerer, then copies the images into
S3 with their `manifest.json` before the vendor's 24-hour URLs lapse. An image the vendor could
not produce (a per-image moderation block inside a task that otherwise succeeded) is listed in
the manifest's `skipped` with its code; only the produced images are billed.

Connections: `aigc_dashscope_default` (the API key as password; the host is the region's base
URL, e.g. `https://dashscope.aliyuncs.com/api/v1`) and `aws_default`. The bucket is the
environment variable `AIGC_ARCHIVE_BUCKET` (default `aigc-archive`); objects land under
`wan-image/<date>/dashscope/wan_image/<task id>/`.
"""

from __future__ import annotations

import os

from airflow.sdk import DAG, Param

from airflow_provider_aigc.operators.dashscope import WanImageToS3Operator
from airflow_provider_aigc.vendors.dashscope import IMAGE_MODELS, N_RANGE

# Read when the file is parsed (not templated), so the task can declare its S3 asset.
ARCHIVE_BUCKET = os.environ.get("AIGC_ARCHIVE_BUCKET", "aigc-archive")

with DAG(
    dag_id="example_wan_image",
    schedule=None,
    params={
        "prompt": Param(
            "一只在枫树下熟睡的水彩狐狸",
            type="string",
            minLength=1,
            maxLength=500,
            description="What the images should show (the model's limit is checked before paying).",
        ),
        "model": Param("wan2.2-t2i-flash", type="string", enum=list(IMAGE_MODELS)),
        "size": Param("1024*1024", type="string", description="width*height, as the model allows."),
        "n": Param(
            2,
            type="integer",
            minimum=N_RANGE[0],
            maximum=N_RANGE[1],
            description="How many images (each produced image is billed).",
        ),
    },
    tags=["aigc", "example", "dashscope"],
    doc_md=__doc__,
):
    WanImageToS3Operator(
        task_id="generate",
        prompt="{{ params.prompt }}",
        model="{{ params.model }}",
        size="{{ params.size }}",
        n="{{ params.n }}",
        s3_bucket=ARCHIVE_BUCKET,
        # Manual runs may have no logical date (no `ds`) in Airflow 3; run_after is always set.
        s3_key_prefix="wan-image/{{ dag_run.run_after | ds }}",
    )
