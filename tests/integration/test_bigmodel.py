"""BigModel v4 in real Airflow (``airflow dags test``) against the simulator over HTTP and a moto S3
server: chain and one-task modes, a video archived byte-exact with its cover and manifest."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from demo_archive import read_archive

from airflow_provider_aigc.simulator import DEMO_CREDENTIALS
from tests.integration.conftest import connection_env_with

if TYPE_CHECKING:
    from tests.conftest import S3Server, SimulatorServer
    from tests.integration.conftest import AirflowHarness

pytestmark = pytest.mark.integration

DAGS = Path(__file__).parent / "dags_bigmodel"
DEFERRED = "[DAG TEST] running trigger in line"
VIDEO_BYTES = 20 * 1024 * 1024  # above the 8 MiB part size: a multipart upload
KEY = DEMO_CREDENTIALS["bigmodel"]["api_key"]


def wall_latency(sim: SimulatorServer, seconds: float) -> None:
    speed = float(sim.config({})["speed"])
    sim.config({"latency": {"glm_image": seconds * speed, "cogvideox": seconds * speed}})


def test_chain_archives_the_video_byte_exact_with_its_cover(
    airflow: AirflowHarness, sim: SimulatorServer, s3: S3Server
) -> None:
    wall_latency(sim, 2.0)
    sim.config({"video_bytes": VIDEO_BYTES})
    bucket = s3.make_bucket("bigmodel-chain")

    run = airflow.run_dag("it_bigmodel_chain", dags_folder=DAGS, env={"AIGC_ARCHIVE_BUCKET": bucket})

    assert run.returncode == 0, run.output_tail()
    assert set(run.task_states().values()) == {"success"}
    assert run.stdout.count(DEFERRED) == 1
    stats = sim.stats()["vendors"]["bigmodel"]
    (job,) = stats["submissions"]["jobs"]
    ref, status = run.xcom("submit"), run.xcom("wait")
    assert (ref["vendor"], ref["app"], ref["job_id"]) == ("bigmodel", "cogvideox", job["job_id"])
    assert ref["request"]["duration"] == 10
    assert ref["request"]["request_id"].startswith("airflow-")
    assert [(o["index"], o["kind"]) for o in status["outputs"]] == [(0, "video"), (1, "cover")]
    assert (status["billed_units"], status["billed_unit"]) == (1, "video")

    (archived,) = read_archive(s3.client, bucket)  # every object re-hashed against the manifest
    assert archived.manifest["job_id"] == job["job_id"]
    assert archived.manifest["prompt"] == "A paper boat drifting down a gutter"
    video, cover = archived.files
    assert (video.kind, video.content_type, video.name, video.size) == (
        "video",
        "video/mp4",
        "0.mp4",
        VIDEO_BYTES,
    )
    assert (cover.kind, cover.content_type, cover.name) == ("cover", "image/png", "1.png")
    # Byte-exact: the archived video is what the platform's URL serves.
    origin = requests.get(status["outputs"][0]["url"], timeout=60)
    assert (
        hashlib.sha256(origin.content).hexdigest() == video.sha256 == hashlib.sha256(video.body).hexdigest()
    )
    assert video.body[4:8] == b"ftyp"
    for secret in (KEY, KEY.split(".", 1)[1]):
        assert secret not in run.stdout + run.stderr


def test_one_task_mode_with_a_jwt_connection(
    airflow: AirflowHarness, sim: SimulatorServer, s3: S3Server
) -> None:
    wall_latency(sim, 1.5)
    bucket = s3.make_bucket("bigmodel-one-task")
    env = {"AIGC_ARCHIVE_BUCKET": bucket, **connection_env_with(sim.url, "bigmodel", jwt=True)}

    run = airflow.run_dag("it_bigmodel_one_task", dags_folder=DAGS, env=env)

    assert run.returncode == 0, run.output_tail()
    assert run.task_states() == {("image", -1): "success", ("video", -1): "success"}
    assert run.stdout.count(DEFERRED) == 2
    stats = sim.stats()["vendors"]["bigmodel"]
    assert [job["app"] for job in stats["submissions"]["jobs"]] == ["glm_image", "cogvideox"]
    assert stats["rejections"] == {}
    archives = {item.manifest["app"]: item for item in read_archive(s3.client, bucket)}
    assert [(f.kind, f.content_type) for f in archives["glm_image"].files] == [("image", "image/png")]
    assert [(f.kind, f.content_type) for f in archives["cogvideox"].files] == [
        ("video", "video/mp4"),
        ("cover", "image/png"),
    ]
    assert archives["cogvideox"].manifest["request"]["fps"] == 60
    assert KEY.split(".", 1)[1] not in run.stdout + run.stderr


def test_a_balance_refusal_buys_nothing_and_fails_without_retries(
    airflow: AirflowHarness, sim: SimulatorServer, s3: S3Server
) -> None:
    sim.config({"faults": {"bigmodel": {"submit": {"quota": {"next": 1, "code": 1113}}}}})
    bucket = s3.make_bucket("bigmodel-refused")

    run = airflow.run_dag("it_bigmodel_one_task", dags_folder=DAGS, env={"AIGC_ARCHIVE_BUCKET": bucket})

    assert run.returncode != 0
    assert run.task_states()[("image", -1)] == "failed"
    assert run.try_numbers()[("image", -1)] == 1
    assert "AigcBalanceError" in run.stdout + run.stderr
    stats = sim.stats()["vendors"]["bigmodel"]
    assert stats["submissions"]["count"] == 0
    assert stats["rejections"] == {"1113": 1}
