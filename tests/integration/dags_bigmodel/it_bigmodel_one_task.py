"""GLM-Image and CogVideoX-3 in one task each (deferred while the platform works)."""

from __future__ import annotations

import os
from datetime import timedelta

from airflow.sdk import DAG, chain

from airflow_provider_aigc.operators.generate import CogVideoXToS3Operator, GlmImageToS3Operator

BUCKET = os.environ.get("AIGC_ARCHIVE_BUCKET", "aigc-archive")

# A retry would show as a second try: a balance refusal must fail without using it.
with DAG(
    dag_id="it_bigmodel_one_task",
    schedule=None,
    default_args={"retries": 1, "retry_delay": timedelta(seconds=0)},
):
    chain(
        GlmImageToS3Operator(
            task_id="image",
            prompt="Isometric illustration of a tiny lighthouse on a rock",
            size="1088x1472",
            poll_interval=0.3,
            s3_bucket=BUCKET,
            s3_key_prefix="images",
        ),
        CogVideoXToS3Operator(
            task_id="video",
            prompt="A lighthouse at dusk, waves rolling in",
            fps=60,
            poll_interval=0.3,
            s3_bucket=BUCKET,
            s3_key_prefix="videos",
        ),
    )
