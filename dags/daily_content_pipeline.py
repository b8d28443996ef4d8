"""
### Daily content pipeline: one news article with its cover image per topic

Every day, for each topic in the `topics` param, Zhipu writes a news article and CogView draws a
cover for it. Dynamic task mapping (`.partial().expand()`) fans out one `submit >> wait >> archive`
chain per topic and vendor app, so adding a topic adds mapped task instances, not code. While the
jobs run, the sensors wait in the triggerer, not on worker slots.

Each story is archived under `daily/<ds>/story-<n>/`: the article (`zhipu/news_generate/...`) and
its cover images (`zhipu/cogview/...`) side by side, each job with its own `manifest.json`.

Connections: `aigc_zhipu_default` and `aws_default`. The bucket is the environment variable
`AIGC_ARCHIVE_BUCKET` (default `aigc-archive`).
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Any

from airflow.sdk import DAG, Param, task

from airflow_provider_aigc.operators.archive import AigcArchiveToS3Operator
from airflow_provider_aigc.operators.submit import CogViewSubmitOperator, NewsGenerateSubmitOperator
from airflow_provider_aigc.sensors.job import AigcJobSensor

# Read when the file is parsed (not templated), so the archive task can declare its S3 asset.
ARCHIVE_BUCKET = os.environ.get("AIGC_ARCHIVE_BUCKET", "aigc-archive")

# Mapped archive tasks share the map index of their topic, so a story's article and cover sit together.
STORY_PREFIX = "daily/{{ ds }}/story-{{ ti.map_index }}"


def cover_prompt(topic: str) -> str:
    """The CogView prompt for a story's cover image."""
    return f"新闻封面插画，明亮的扁平风格：{topic}"


with DAG(
    dag_id="daily_content_pipeline",
    schedule="@daily",
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    params={
        "topics": Param(
            ["长江流域秋粮喜获丰收", "城市公园迎来赏菊季", "新能源公交线路正式开通"],
            type="array",
            items={"type": "string", "minLength": 1},
            minItems=1,
            description="One story (article + cover) per topic.",
        ),
        "max_length": Param(300, type="integer", minimum=1, description="Longest article, in characters."),
    },
    tags=["aigc", "example", "zhipu"],
    doc_md=__doc__,
):

    @task
    def story_topics(**context: Any) -> list[str]:
        """The run's topics as a task output, so the submits can expand over them."""
        return [str(topic) for topic in context["params"]["topics"]]

    topics = story_topics()

    submit_article = NewsGenerateSubmitOperator.partial(
        task_id="submit_article", max_length="{{ params.max_length }}"
    ).expand(content=topics)
    wait_article = AigcJobSensor.partial(task_id="wait_article").expand(job=submit_article.output)
    archive_article = AigcArchiveToS3Operator.partial(
        task_id="archive_article", s3_bucket=ARCHIVE_BUCKET, s3_key_prefix=STORY_PREFIX
    ).expand(job=wait_article.output)

    submit_cover = CogViewSubmitOperator.partial(task_id="submit_cover").expand(
        query=topics.map(cover_prompt)
    )
    wait_cover = AigcJobSensor.partial(task_id="wait_cover").expand(job=submit_cover.output)
    archive_cover = AigcArchiveToS3Operator.partial(
        task_id="archive_cover", s3_bucket=ARCHIVE_BUCKET, s3_key_prefix=STORY_PREFIX
    ).expand(job=wait_cover.output)
