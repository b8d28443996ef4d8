"""JobStatus values for the archive tests."""

from __future__ import annotations

from typing import Any

from airflow_provider_aigc.models import JobState, JobStatus, Output


def image(index: int, url: str, **fields: Any) -> Output:
    return Output(index=index, kind="image", url=url, **fields)


def succeeded(
    *outputs: Output, vendor: str = "baidu", app: str = "txt2imgv2", job_id: str = "job-1"
) -> JobStatus:
    return JobStatus(
        vendor=vendor,
        app=app,
        job_id=job_id,
        state=JobState.SUCCEEDED,
        progress=1.0,
        outputs=outputs,
        conn_id="aigc_baidu_default",
        request={"prompt": "a red fox in snow", "width": 1024, "height": 1024},
    )
