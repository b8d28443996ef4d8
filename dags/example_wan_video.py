"""
### DashScope Wan text-to-video: prompt in, archived MP4 out, in one task

`generate` (`WanVideoToS3Operator`) buys one Wan text-to-video task (billed per second of video at
the resolution tier's price), waits for it in the triggerer, then streams the MP4 into S3 with its
`manifest.json` (kind `video`, sha256, `video/mp4`) before the vendor's 24-hour URL lapses.

Connections: `aigc_dashscope_default` (the API key as password; the host is the region's base
URL, e.g. `https://dashscope.aliyuncs.com/api/v1`) and `aws_default`. The bucket is the
environment variable `AIGC_ARCHIVE_BUCKET` (default `aigc-archive`); objects land under
`wan-video/<date>/dashscope/wan_video/<task id>/`.
"""

from __future__ import annotations

import os

from airflow.sdk import DAG, Param

from airflow_provider_aigc.operators.dashscope import WanVideoToS3Operator
from airflow_provider_aigc.vendors.dashscope import VIDEO_MODELS

# Read when the file is parsed (not templated), so the task can declare its S3 asset.
ARCHIVE_BUCKET = os.environ.get("AIGC_ARCHIVE_BUCKET", "aigc-archive")

with DAG(
    dag_id="example_wan_video",
    schedule=None,
    params={
        "prompt": Param(
            "清晨的荷塘，一只翠鸟掠过水面",
            type="string",
            minLength=1,
            maxLength=800,
            description="What the video should show (the model's limit is checked before paying).",
        ),
        "model": Param("wanx2.1-t2v-turbo", type="string", enum=list(VIDEO_MODELS)),
        "size": Param("832*480", type="string", description="width*height from the model's tiers."),
        "duration": Param(5, type="integer", description="Seconds, as the model offers (billed per second)."),
    },
    tags=["aigc", "example", "dashscope"],
    doc_md=__doc__,
):
    WanVideoToS3Operator(
        task_id="generate",
        prompt="{{ params.prompt }}",
        model="{{ params.model }}",
        size="{{ params.size }}",
        duration="{{ params.duration }}",
        s3_bucket=ARCHIVE_BUCKET,
        # Manual runs may have no logical date (no `ds`) in Airflow 3; run_after is always set.
        s3_key_prefix="wan-video/{{ dag_run.run_after | ds }}",
    )
