"""
### Human review before publishing: generate, archive, approve, publish

`submit` buys one Jumdata drawing job, `wait` follows it from the triggerer and `archive` copies
the images into S3 with their `manifest.json`. `preview` presigns the **archived S3 copies** (never
the vendor's URLs, which expire and are not ours to share), and `review` asks a human in Airflow's
*Required Actions* page to approve or reject them. Only on **Approve** does `publish` copy the
images and manifest under `published/`; **Reject** skips it, and so does no answer within
`response_timeout` (the default option is Reject).

Answer in the UI (Browse → Required Actions, or the task's page), or through the REST API:

    PATCH /api/v2/dags/example_human_review/dagRuns/{run_id}/taskInstances/review/-1/hitlDetails
    {"chosen_options": ["Approve"]}

Connections: `aigc_jumdata_default` and `aws_default`. The bucket is the environment variable
`AIGC_ARCHIVE_BUCKET` (default `aigc-archive`).
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import DAG, Param, XComArg, task

from airflow_provider_aigc.operators.archive import AigcArchiveToS3Operator
from airflow_provider_aigc.operators.links import MANIFEST_URI_XCOM_KEY
from airflow_provider_aigc.operators.submit import JumdataDrawSubmitOperator
from airflow_provider_aigc.sensors.job import AigcJobSensor
from airflow_provider_aigc.vendors.jumdata import MAX_IMAGES, MAX_TEXT_LENGTH, MIN_IMAGES, STYLES

ARCHIVE_BUCKET = os.environ.get("AIGC_ARCHIVE_BUCKET", "aigc-archive")
PUBLISHED_PREFIX = "published"
REVIEW_TIMEOUT = timedelta(days=3)
# Presigned preview links outlive the review window (SigV4 allows at most 7 days).
PREVIEW_SECONDS = 7 * 24 * 3600


@task
def preview(archived: list[dict[str, Any]]) -> str:
    """Markdown for the reviewer: each archived image, shown through a presigned S3 URL."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    hook = S3Hook(aws_conn_id="aws_default")
    lines = []
    for item in archived:
        url = hook.generate_presigned_url(
            "get_object",
            params={"Bucket": item["bucket"], "Key": item["key"]},
            expires_in=PREVIEW_SECONDS,
        )
        lines += [
            f"**Image {item['index']}**: `s3://{item['bucket']}/{item['key']}`"
            f" ({item['size']} bytes, sha256 `{item['sha256'][:12]}…`)",
            "",
            f"![image {item['index']}]({url})",
            "",
        ]
    return "\n".join(lines)


@task
def publish(archived: list[dict[str, Any]], manifest_uri: str) -> list[str]:
    """Copy the approved images and their manifest under ``published/`` (S3-side copies)."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    hook = S3Hook(aws_conn_id="aws_default")
    bucket, _, manifest_key = manifest_uri.removeprefix("s3://").partition("/")
    published = []
    for key in [item["key"] for item in archived] + [manifest_key]:
        target = f"{PUBLISHED_PREFIX}/{key}"
        hook.copy_object(key, target, source_bucket_name=bucket, dest_bucket_name=bucket)
        published.append(f"s3://{bucket}/{target}")
    return published


with DAG(
    dag_id="example_human_review",
    schedule=None,
    params={
        "text": Param(
            "江南水乡的清晨，薄雾与石桥",
            type="string",
            minLength=1,
            maxLength=MAX_TEXT_LENGTH,
            description="What the images should show.",
        ),
        "style": Param("水彩画", type="string", enum=list(STYLES)),
        "num": Param(2, type="integer", minimum=MIN_IMAGES, maximum=MAX_IMAGES),
    },
    tags=["aigc", "example", "jumdata", "human-in-the-loop"],
    doc_md=__doc__,
):
    submit = JumdataDrawSubmitOperator(
        task_id="submit",
        text="{{ params.text }}",
        style="{{ params.style }}",
        resolution="1024*1024",
        num="{{ params.num }}",
    )
    wait = AigcJobSensor(task_id="wait", job=submit.output)
    archive = AigcArchiveToS3Operator(
        task_id="archive",
        job=wait.output,
        s3_bucket=ARCHIVE_BUCKET,
        s3_key_prefix="review/{{ dag_run.run_after | ds }}",
    )
    review = ApprovalOperator(
        task_id="review",
        subject="Publish {{ params.num }} image(s) for “{{ params.text }}”?",
        body="{{ ti.xcom_pull(task_ids='preview') }}",
        defaults="Reject",
        response_timeout=REVIEW_TIMEOUT,
    )
    preview(archive.output) >> review
    review >> publish(archive.output, XComArg(archive, key=MANIFEST_URI_XCOM_KEY))
