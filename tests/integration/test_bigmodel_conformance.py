"""Conformance for BigModel v4: the simulator, driven through the provider's own ``vendors/bigmodel``
code and ``BigModelHook`` (sync as on a worker, async as in the trigger), behaves as the documents
(../shared/vendors/zhipu_v4_async.md) describe, except for its host.

Time is the simulator's (``/_sim/clock``), moved by the test; like the main conformance module,
this one runs its own simulator so moving the clock cannot disturb other tests.
"""

from __future__ import annotations

import json
import struct
from typing import TYPE_CHECKING

import pytest
import requests

from airflow_provider_aigc import exceptions
from airflow_provider_aigc.hooks.bigmodel import BigModelHook
from airflow_provider_aigc.models import JobState
from airflow_provider_aigc.simulator import DEMO_CREDENTIALS
from tests.integration import conformance_helpers as h
from tests.integration.conformance_helpers import SimClock, Sleeps

if TYPE_CHECKING:
    from tests.conftest import SimulatorServer

pytestmark = pytest.mark.integration

KEY = DEMO_CREDENTIALS["bigmodel"]["api_key"]
LATENCY = 600.0
VIDEO_TTL = 7200.0  # the connection's output_ttl_seconds: video URL lifetime is not documented
MODES = ("sync", "async")
PLAIN, JWT, WRONG, ZAI_STYLE = (
    "conf_bigmodel",
    "conf_bigmodel_jwt",
    "conf_bigmodel_wrong",
    "conf_bigmodel_zai",
)
VIDEO = {"prompt": "A paper boat drifting down a rain gutter", "size": "1280x720", "duration": 10}
IMAGE = {"prompt": "Isometric illustration of a tiny lighthouse", "size": "1056x1568"}
# The documents' examples (§9): the submit answer, and the finished video and image answers.
SUBMIT_FIELDS = {"model", "id", "request_id", "task_status"}
VIDEO_DONE_FIELDS = {"model", "task_status", "request_id", "video_result"}
IMAGE_DONE_FIELDS = {"model", "task_status", "request_id", "image_result"}


# This module's own simulator (moving its clock cannot disturb other tests), its clock, and
# session cleanup.
simulator = h.simulator
clock = h.clock
close_http_sessions = h.close_http_sessions


@pytest.fixture(autouse=True)
def conformance(simulator: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    private = {"allow_private_output_hosts": True, "timeout": 10, "output_ttl_seconds": VIDEO_TTL}
    connections = {
        PLAIN: {"host": simulator.url, "password": KEY, "extra": private},
        JWT: {"host": simulator.url, "password": KEY, "extra": {**private, "jwt": True}},
        WRONG: {"host": simulator.url, "password": "demo-bigmodel-key-id.not-the-secret", "extra": private},
        # A host with the path written out, as "https://api.z.ai/api" is: the paths start with /paas.
        ZAI_STYLE: {"host": simulator.url + "/", "password": KEY, "extra": private},
    }
    env = h.connection_vars(
        {conn_id: {"conn_type": "aigc_bigmodel", **fields} for conn_id, fields in connections.items()}
    )
    h.start_fresh(simulator, monkeypatch, dict.fromkeys(("glm_image", "cogvideox"), LATENCY), env)


def hook(conn_id: str, clock: SimClock, sleeps: Sleeps | None = None) -> BigModelHook:
    return h.hook_on(BigModelHook, conn_id, clock, sleeps)


def check_mp4(data: bytes) -> None:
    """Top-level ISO-BMFF boxes that add up to the file: ftyp, moov, mdat (and padding)."""
    kinds, position = [], 0
    while position < len(data):
        size, kind = struct.unpack(">I4s", data[position : position + 8])
        assert size >= 8
        kinds.append(kind)
        position += size
    assert position == len(data)
    assert kinds[:3] == [b"ftyp", b"moov", b"mdat"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("conn_id", [PLAIN, JWT, ZAI_STYLE])
async def test_a_video_runs_finishes_and_its_files_expire(
    conn_id: str, mode: str, simulator: SimulatorServer, clock: SimClock
) -> None:
    made = hook(conn_id, clock)
    ref = made.submit("cogvideox", VIDEO)
    job = h.submission(simulator, "bigmodel", ref.job_id)
    submitted_at = float(job["submitted_at"])
    for fraction in (0.0, 0.5, 0.99):
        clock.advance_to(submitted_at + fraction * LATENCY)
        running = await h.get_status(made, ref.job_id, "cogvideox", mode)
        assert (running.state, running.progress, running.outputs) == (JobState.RUNNING, None, ())
    clock.advance_to(submitted_at + LATENCY + 1)
    done = await h.get_status(made, ref.job_id, "cogvideox", mode)
    assert done.state is JobState.SUCCEEDED
    video, cover = done.outputs
    assert [(o.index, o.kind) for o in done.outputs] == [(0, "video"), (1, "cover")]
    assert all(str(o.url).startswith(simulator.url + "/") for o in done.outputs)
    code, body = await h.fetch(str(video.url), mode)
    assert code == 200
    check_mp4(body)
    code, body = await h.fetch(str(cover.url), mode)
    assert (code, h.read_png(body).width, h.read_png(body).height) == (200, 1280, 720)
    # The video's expiry is the connection's TTL from the read that saw it (not documented).
    expires_at = h.parse_time(video.expires_at)
    assert abs(expires_at.timestamp() - (clock() + VIDEO_TTL)) < 5
    stats = h.vendor_stats(simulator, "bigmodel")
    assert (stats["submissions"]["count"], stats["rejections"]) == (1, {})
    assert KEY not in json.dumps([ref.to_dict(), done.to_dict()])


@pytest.mark.parametrize("mode", MODES)
async def test_an_image_finishes_and_expires_after_30_days(
    mode: str, simulator: SimulatorServer, clock: SimClock
) -> None:
    made = hook(PLAIN, clock)
    ref = made.submit("glm_image", IMAGE)
    submitted_at = float(h.submission(simulator, "bigmodel", ref.job_id)["submitted_at"])
    clock.advance_to(submitted_at + LATENCY + 1)
    done = await h.get_status(made, ref.job_id, "glm_image", mode)
    (image,) = done.outputs
    code, body = await h.fetch(str(image.url), mode)
    assert (code, h.read_png(body).width) == (200, 1056)
    # The provider dates it 30 days from its read; the simulator expires it 30 days from submit.
    clock.advance_to(submitted_at + 30 * 86400 - 60)
    assert (await h.fetch(str(image.url), mode))[0] == 200
    clock.advance_to(submitted_at + 30 * 86400 + 60)
    assert (await h.fetch(str(image.url), mode))[0] == 403
    assert h.parse_time(image.expires_at).timestamp() >= submitted_at + 30 * 86400


def test_test_connection_tells_a_good_key_from_a_bad_one(simulator: SimulatorServer, clock: SimClock) -> None:
    assert hook(PLAIN, clock).test_connection()[0] is True
    assert hook(JWT, clock).test_connection()[0] is True
    ok, message = hook(WRONG, clock).test_connection()
    assert ok is False
    assert "not-the-secret" not in message
    assert h.vendor_stats(simulator, "bigmodel")["submissions"]["count"] == 0


@pytest.mark.parametrize("mode", MODES)
async def test_refusals_are_classified_without_retry_or_purchase(
    mode: str, simulator: SimulatorServer, clock: SimClock
) -> None:
    sleeps = Sleeps()
    with pytest.raises(exceptions.AigcAuthError):
        hook(WRONG, clock, sleeps).submit("glm_image", IMAGE)
    with pytest.raises(exceptions.AigcContentRejectedError):
        hook(PLAIN, clock, sleeps).submit("cogvideox", {"prompt": "违禁的画面"})
    simulator.config({"concurrency": {"bigmodel": 1}})
    made = hook(PLAIN, clock, sleeps)
    made.submit("cogvideox", VIDEO)
    with pytest.raises(exceptions.AigcConcurrencyLimitError) as busy:
        made.submit("cogvideox", VIDEO)
    assert busy.value.refused
    with pytest.raises(exceptions.AigcUnknownJobError):
        await h.get_status(made, "no-such-task", "cogvideox", mode)
    stats = h.vendor_stats(simulator, "bigmodel")
    assert stats["submissions"]["count"] == 1
    assert stats["rejections"] == {"1002": 1, "1301": 1, "1302": 1, "404": 1}
    assert sleeps.delays == []


def test_the_provider_refuses_before_the_simulator_would(simulator: SimulatorServer, clock: SimClock) -> None:
    for params in ({"prompt": "p", "fps": 24}, {"prompt": "x" * 513}, {"prompt": "p", "size": "1920*1080"}):
        with pytest.raises(exceptions.AigcInvalidRequestError):
            hook(PLAIN, clock).submit("cogvideox", params)
    assert simulator.stats()["vendors"]["bigmodel"]["rejections"] == {}


def test_raw_answers_carry_the_documented_fields(simulator: SimulatorServer, clock: SimClock) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    body = {"model": "cogvideox-3", "prompt": "p", "request_id": "airflow-demo-run-000001"}
    submitted = requests.post(
        f"{simulator.url}/paas/v4/videos/generations", json=body, headers=headers, timeout=10
    )
    answer = submitted.json()
    assert set(answer) == SUBMIT_FIELDS
    assert (answer["request_id"], answer["task_status"]) == ("airflow-demo-run-000001", "PROCESSING")
    image = requests.post(
        f"{simulator.url}/paas/v4/async/images/generations",
        json={"model": "glm-image", "prompt": "p"},
        headers=headers,
        timeout=10,
    ).json()
    clock.advance(LATENCY + 1)
    video_done = requests.get(
        f"{simulator.url}/paas/v4/async-result/{answer['id']}", headers=headers, timeout=10
    )
    image_done = requests.get(
        f"{simulator.url}/paas/v4/async-result/{image['id']}", headers=headers, timeout=10
    )
    assert set(video_done.json()) >= VIDEO_DONE_FIELDS
    assert set(video_done.json()["video_result"][0]) == {"url", "cover_image_url"}
    assert set(image_done.json()) >= IMAGE_DONE_FIELDS
    assert set(image_done.json()["image_result"][0]) == {"url"}
