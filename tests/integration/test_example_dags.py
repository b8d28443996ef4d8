"""The example DAGs in dags/, end to end in real Airflow against the simulator and a moto S3 server.

The seven DAGs run once per module, side by side (each ``airflow dags test`` has its own Airflow
home), each archiving into a bucket of its own (the DAGs read ``AIGC_ARCHIVE_BUCKET``). The tests
then read every archive back and check each object against its manifest from the downloaded bytes
(size, sha256, content type), the manifest against the job the sensor returned, and the jobs
against what the simulator billed.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from demo_archive import ArchivedJob, ArchiveMismatchError, read_archive

from airflow_provider_aigc.operators.generate import GENERATE_STATE_KEY, PURCHASES_XCOM_KEY

if TYPE_CHECKING:
    from tests.conftest import S3Server, SimulatorServer
    from tests.integration.conftest import AirflowHarness, DagTestRun

pytestmark = pytest.mark.integration

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CJK = re.compile(r"[\u4e00-\u9fff]")
# Every job finishes this long after it is submitted: a DAG run takes seconds, not minutes.
JOB_SECONDS = 0.2
TOPICS = ["长江流域秋粮喜获丰收", "新能源公交线路正式开通"]
CONFS: dict[str, dict[str, Any]] = {
    "example_cogview": {"prompt": "黄山云海"},
    "example_ernie_vilg": {"prompt": "睡莲", "image_num": 3},
    "example_jumdata": {"text": "雪山脚下的小木屋", "style": "油画", "num": 1},
    "example_news": {"topic": "人工智能助力春耕", "max_length": 120},
    "example_glm_image": {"prompt": "A tiny lighthouse on a rock", "size": "1280x1280"},
    "example_cogvideox": {"prompt": "A paper boat drifting down a gutter", "duration": 10},
    "daily_content_pipeline": {"topics": TOPICS, "max_length": 200},
}


@dataclass(frozen=True)
class ExampleRuns:
    """The finished runs, where each archived, and the simulator's stats right after."""

    runs: dict[str, DagTestRun]
    buckets: dict[str, str]
    stats: dict[str, Any]

    def archive(self, s3: S3Server, dag_id: str) -> tuple[DagTestRun, list[ArchivedJob]]:
        """A successful run and its archive, every object verified against its manifest."""
        run = self.runs[dag_id]
        assert run.returncode == 0, run.output_tail()
        assert set(run.task_states().values()) == {"success"}
        return run, read_archive(s3.client, self.buckets[dag_id])


@pytest.fixture(scope="module")
def examples(airflow: AirflowHarness, simulator: SimulatorServer, s3: S3Server) -> ExampleRuns:
    simulator.reset(config=True)
    speed = float(simulator.config({})["speed"])
    apps = ("cogview", "news_generate", "txt2imgv2", "ai_draw", "glm_image", "cogvideox")
    simulator.config({"latency": {app: JOB_SECONDS * speed for app in apps}})
    buckets = {dag_id: s3.make_bucket(dag_id.replace("_", "-")) for dag_id in CONFS}
    try:
        with ThreadPoolExecutor(max_workers=len(CONFS)) as pool:
            futures = {
                dag_id: pool.submit(
                    airflow.run_dag,
                    dag_id,
                    conf,
                    dags_folder=DAGS_FOLDER,
                    env={"AIGC_ARCHIVE_BUCKET": buckets[dag_id]},
                )
                for dag_id, conf in CONFS.items()
            }
        return ExampleRuns({dag_id: f.result() for dag_id, f in futures.items()}, buckets, simulator.stats())
    finally:
        simulator.reset(config=True)


def finished_job(run: DagTestRun, wait: str, map_index: int = -1) -> dict[str, Any]:
    """The JobStatus the archive step archived: the sensor's XCom, or what a one-task operator
    recorded in its task state."""
    if wait == "generate":
        status: dict[str, Any] = run.task_state_store(wait, map_index)[GENERATE_STATE_KEY]["finished"]
        return status
    return dict(run.xcom(wait, map_index))


def assert_archive_is_the_job(
    run: DagTestRun, job: ArchivedJob, wait: str, archive: str, map_index: int = -1
) -> None:
    """The manifest describes the job the sensor (or the one task) waited for, lists every output,
    and is what the archive task returned."""
    status = finished_job(run, wait, map_index)
    manifest = job.manifest
    assert (manifest["vendor"], manifest["app"], manifest["job_id"]) == (
        status["vendor"],
        status["app"],
        status["job_id"],
    )
    assert [item.index for item in job.files] == [output["index"] for output in status["outputs"]]
    assert [item.kind for item in job.files] == [output["kind"] for output in status["outputs"]]
    assert manifest["skipped"] == []
    returned = run.xcom(archive, map_index)
    assert [(item["key"], item["sha256"], item["size"]) for item in returned] == [
        (item.key, item.sha256, item.size) for item in job.files
    ]


def assert_images(job: ArchivedJob, count: int) -> None:
    assert len(job.files) == count
    for item in job.files:
        assert item.content_type == "image/png"
        assert item.body.startswith(PNG_SIGNATURE)
        assert item.key == f"{job.directory}/{item.index}.png"


def assert_chinese_article(job: ArchivedJob, max_length: int) -> str:
    (item,) = job.files
    assert item.content_type == "text/plain; charset=utf-8"
    text = item.body.decode("utf-8")
    assert len(CJK.findall(text)) > len(text) / 2
    assert len(text) <= max_length
    return text


@pytest.mark.parametrize(
    ("dag_id", "images"),
    [("example_cogview", 4), ("example_ernie_vilg", 3), ("example_jumdata", 1), ("example_glm_image", 1)],
)
def test_image_example_archives_every_image(
    examples: ExampleRuns, s3: S3Server, dag_id: str, images: int
) -> None:
    run, (job,) = examples.archive(s3, dag_id)

    assert set(run.task_states()) == {("generate", -1)}
    assert_archive_is_the_job(run, job, "generate", "generate")
    assert_images(job, images)
    purchases = run.xcom("generate", key=PURCHASES_XCOM_KEY)
    assert [item["job_id"] for item in purchases["jobs"]] == [job.manifest["job_id"]]
    assert purchases["resubmits"] == 0
    conf = CONFS[dag_id]
    assert job.prompt == conf.get("prompt", conf.get("text"))


def test_video_example_archives_the_mp4_and_its_cover(examples: ExampleRuns, s3: S3Server) -> None:
    run, (job,) = examples.archive(s3, "example_cogvideox")

    assert_archive_is_the_job(run, job, "wait", "archive")
    video, cover = job.files
    assert (video.kind, video.content_type, video.key) == ("video", "video/mp4", f"{job.directory}/0.mp4")
    assert video.body[4:8] == b"ftyp"
    assert (cover.kind, cover.content_type, cover.key) == ("cover", "image/png", f"{job.directory}/1.png")
    assert cover.body.startswith(PNG_SIGNATURE)
    assert (job.manifest["billed_units"], job.manifest["billed_unit"]) == (1, "video")
    assert job.manifest["request"]["duration"] == 10
    assert job.prompt == "A paper boat drifting down a gutter"


def test_news_example_archives_the_article_as_utf8_text(examples: ExampleRuns, s3: S3Server) -> None:
    run, (job,) = examples.archive(s3, "example_news")

    assert_archive_is_the_job(run, job, "wait", "archive")
    text = assert_chinese_article(job, max_length=120)
    assert text == run.xcom("wait")["outputs"][0]["text"]
    assert job.prompt == "人工智能助力春耕"


def test_daily_pipeline_archives_one_article_and_cover_per_topic(examples: ExampleRuns, s3: S3Server) -> None:
    run, jobs = examples.archive(s3, "daily_content_pipeline")

    mapped = {(task_id, index) for task_id, index in run.task_states() if index >= 0}
    assert {index for _, index in mapped} == set(range(len(TOPICS)))
    assert len(mapped) == 6 * len(TOPICS)
    stories: dict[int, dict[str, ArchivedJob]] = {}
    for job in jobs:
        story = re.fullmatch(r"daily/\d{4}-\d{2}-\d{2}/story-(\d+)/zhipu/\w+/\w+", job.directory)
        assert story, job.directory
        stories.setdefault(int(story.group(1)), {})[job.manifest["app"]] = job
    assert sorted(stories) == list(range(len(TOPICS)))
    for index, topic in enumerate(TOPICS):
        article, cover = stories[index]["news_generate"], stories[index]["cogview"]
        assert_archive_is_the_job(run, article, "wait_article", "archive_article", index)
        assert_archive_is_the_job(run, cover, "wait_cover", "archive_cover", index)
        assert article.prompt == topic
        assert cover.prompt.endswith(topic)
        assert_chinese_article(article, max_length=200)
        assert_images(cover, 4)


def test_each_archived_job_was_bought_once(examples: ExampleRuns, s3: S3Server) -> None:
    archived = Counter(
        (job.manifest["vendor"], job.prompt) for dag_id in CONFS for job in examples.archive(s3, dag_id)[1]
    )
    billed = Counter(
        (vendor, job["prompt"])
        for vendor, data in examples.stats["vendors"].items()
        for job in data["submissions"]["jobs"]
    )
    assert billed == archived
    assert sum(billed.values()) == 6 + 2 * len(TOPICS)


def test_verification_catches_a_changed_or_unlisted_object(s3: S3Server) -> None:
    """The archive checks above are only as good as read_archive: it must see a changed byte."""
    client, bucket = s3.client, s3.make_bucket("tampered-archive")
    body = PNG_SIGNATURE + b"image"
    directory = "x/zhipu/cogview/job1"
    client.put_object(Bucket=bucket, Key=f"{directory}/0.png", Body=body, ContentType="image/png")
    manifest = {
        "vendor": "zhipu",
        "app": "cogview",
        "job_id": "job1",
        "objects": [
            {
                "key": f"{directory}/0.png",
                "size": len(body),
                "sha256": hashlib.sha256(body).hexdigest(),
                "content_type": "image/png",
                "index": 0,
                "kind": "image",
            }
        ],
    }
    client.put_object(Bucket=bucket, Key=f"{directory}/manifest.json", Body=json.dumps(manifest).encode())
    (job,) = read_archive(client, bucket)
    assert job.files[0].body == body

    client.put_object(Bucket=bucket, Key=f"{directory}/0.png", Body=body[:-1] + b"E", ContentType="image/png")
    with pytest.raises(ArchiveMismatchError, match=r"0\.png: sha256 [0-9a-f]{64}, manifest says"):
        read_archive(client, bucket)

    client.put_object(Bucket=bucket, Key=f"{directory}/0.png", Body=body, ContentType="image/jpeg")
    with pytest.raises(ArchiveMismatchError, match="stored as 'image/jpeg', manifest says 'image/png'"):
        read_archive(client, bucket)

    client.put_object(Bucket=bucket, Key=f"{directory}/0.png", Body=body, ContentType="image/png")
    client.put_object(Bucket=bucket, Key=f"{directory}/1.png", Body=body, ContentType="image/png")
    with pytest.raises(ArchiveMismatchError, match=r"1\.png: beside manifest\.json but not listed"):
        read_archive(client, bucket)
