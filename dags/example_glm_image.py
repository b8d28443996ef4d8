"""
### BigModel GLM-Image: prompt in, archived picture out, in one task

`generate` (`GlmImageToS3Operator`) buys one GLM-Image picture on Zhipu's BigModel v4 platform
(about 20 s of work there, billed per image), waits for it in the triggerer, then copies it into
S3 with its `manifest.json` before the vendor's 30-day URL expires. A retry resumes from the
task's state and never buys the picture twice; the `request_id` it sends is the same on every try,
so BigModel itself refuses a duplicate (code 1231).

Connections: `aigc_bigmodel_default` (password = the API key, host `https://open.bigmodel.cn/api`
or `https://api.z.ai/api`) and `aws_default`. The bucket is the environment variable
`AIGC_ARCHIVE_BUCKET` (default `aigc-archive`); objects land under
`glm-image/<date>/bigmodel/glm_image/<task id>/`.
"""

from __future__ import annotations

import os

from airflow.sdk import DAG, Param

from airflow_provider_aigc.operators.generate import GlmImageToS3Operator
from airflow_provider_aigc.vendors.bigmodel import IMAGE_SIZES

# Read when the file is parsed (not templated), so the task can declare its S3 asset.
ARCHIVE_BUCKET = os.environ.get("AIGC_ARCHIVE_BUCKET", "aigc-archive")

with DAG(
    dag_id="example_glm_image",
    schedule=None,
    params={
        "prompt": Param(
            "Isometric illustration of a tiny lighthouse on a rock, warm evening light",
            type="string",
            minLength=1,
            description="What the picture should show.",
        ),
        "size": Param(
            "1472x1088",
            type="string",
            description=f"WIDTHxHEIGHT: one of {', '.join(IMAGE_SIZES)}, or a custom size (sides"
            " 1024-2048 px, multiples of 32).",
        ),
    },
    tags=["aigc", "example", "bigmodel"],
    doc_md=__doc__,
):
    GlmImageToS3Operator(
        task_id="generate",
        prompt="{{ params.prompt }}",
        size="{{ params.size }}",
        s3_bucket=ARCHIVE_BUCKET,
        # Manual runs may have no logical date (no `ds`) in Airflow 3; run_after is always set.
        s3_key_prefix="glm-image/{{ dag_run.run_after | ds }}",
    )
