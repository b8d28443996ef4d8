"""
### BigModel CogVideoX-3: prompt in, archived video and cover out, as three tasks

`submit` (`CogVideoXSubmitOperator`) buys one CogVideoX-3 video on Zhipu's BigModel v4 platform
(minutes of work there; the price depends on quality, fps, duration, size and audio), `wait`
follows it from the triggerer, and `archive` streams the MP4 into S3 in parts (a 10 s 4K clip is
hundreds of MB, never held in memory) with its cover image and `manifest.json`: the video is
listed with kind `video`, the cover with kind `cover`, each with its sha256. `CogVideoXToS3Operator`
does the same in one task.

Connections: `aigc_bigmodel_default` (password = the API key) and `aws_default`. The bucket is
the environment variable `AIGC_ARCHIVE_BUCKET` (default `aigc-archive`); objects land under
`cogvideox/<date>/bigmodel/cogvideox/<task id>/` as `0.mp4` (the video) and `1.png` (its cover).
"""

from __future__ import annotations

import os

from airflow.sdk import DAG, Param

from airflow_provider_aigc.operators.archive import AigcArchiveToS3Operator
from airflow_provider_aigc.operators.submit import CogVideoXSubmitOperator
from airflow_provider_aigc.sensors.job import AigcJobSensor
from airflow_provider_aigc.vendors.bigmodel import (
    MAX_VIDEO_PROMPT_CHARS,
    VIDEO_DURATIONS,
    VIDEO_QUALITIES,
    VIDEO_SIZES,
)

# Read when the file is parsed (not templated), so the archive task can declare its S3 asset.
ARCHIVE_BUCKET = os.environ.get("AIGC_ARCHIVE_BUCKET", "aigc-archive")

with DAG(
    dag_id="example_cogvideox",
    schedule=None,
    params={
        "prompt": Param(
            "A paper boat drifting down a rain gutter, close-up, soft morning light",
            type="string",
            minLength=1,
            maxLength=MAX_VIDEO_PROMPT_CHARS,
            description="What happens in the video.",
        ),
        "quality": Param("speed", type="string", enum=list(VIDEO_QUALITIES)),
        "size": Param("1920x1080", type="string", enum=list(VIDEO_SIZES)),
        "duration": Param(5, type="integer", enum=list(VIDEO_DURATIONS), description="Seconds."),
    },
    tags=["aigc", "example", "bigmodel"],
    doc_md=__doc__,
):
    submit = CogVideoXSubmitOperator(
        task_id="submit",
        prompt="{{ params.prompt }}",
        quality="{{ params.quality }}",
        size="{{ params.size }}",
        duration="{{ params.duration }}",
    )
    wait = AigcJobSensor(task_id="wait", job=submit.output)
    archive = AigcArchiveToS3Operator(
        task_id="archive",
        job=wait.output,
        s3_bucket=ARCHIVE_BUCKET,
        # Manual runs may have no logical date (no `ds`) in Airflow 3; run_after is always set.
        s3_key_prefix="cogvideox/{{ dag_run.run_after | ds }}",
    )
