"""The simulator's BigModel v4, checked with a client written here from the documents."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import struct
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_aigc.simulator import DEMO_CREDENTIALS
from tests.unit.simulator.helpers import parse_png

if TYPE_CHECKING:
    import requests

    from tests.unit.simulator.helpers import Sim

KEY = DEMO_CREDENTIALS["bigmodel"]["api_key"]
VIDEO, IMAGE = "/paas/v4/videos/generations", "/paas/v4/async/images/generations"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def jwt(now: float, *, key: str = KEY, lifetime_ms: int = 210_000) -> str:
    key_id, secret = key.split(".", 1)
    now_ms = int(now * 1000)
    head = _b64(json.dumps({"alg": "HS256", "sign_type": "SIGN"}).encode())
    claims = _b64(json.dumps({"api_key": key_id, "exp": now_ms + lifetime_ms, "timestamp": now_ms}).encode())
    signature = _b64(hmac.new(secret.encode(), f"{head}.{claims}".encode(), hashlib.sha256).digest())
    return f"{head}.{claims}.{signature}"


def auth(token: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def submit(sim: Sim, path: str = VIDEO, token: str = KEY, **body: Any) -> requests.Response:
    fields = {"model": "cogvideox-3" if path == VIDEO else "glm-image", "prompt": "a paper boat", **body}
    return sim.post(path, json=fields, headers=auth(token))


def result(sim: Sim, task_id: str, token: str = KEY) -> requests.Response:
    return sim.get(f"/paas/v4/async-result/{task_id}", headers=auth(token))


def test_video_job_processing_then_success_with_a_real_mp4_and_cover(sim: Sim) -> None:
    answer = submit(sim, request_id="airflow-demo-run-000001", size="1280x720").json()
    assert answer["model"] == "cogvideox-3"
    assert answer["request_id"] == "airflow-demo-run-000001"
    assert answer["task_status"] == "PROCESSING"
    task = answer["id"]
    assert result(sim, task).json()["task_status"] == "PROCESSING"

    sim.clock.advance(120)
    done = result(sim, task).json()
    assert done["task_status"] == "SUCCESS"
    (item,) = done["video_result"]
    video = sim.get(item["url"].removeprefix(sim.url))
    assert video.headers["Content-Type"] == "video/mp4"
    assert video.content[4:12] == b"ftypisom"
    (size,) = struct.unpack(">I", video.content[:4])
    assert video.content[size + 4 : size + 8] == b"moov"
    cover = parse_png(sim.get(item["cover_image_url"].removeprefix(sim.url)).content)
    assert (cover.width, cover.height) == (1280, 720)
    assert sim.stats("bigmodel")["submissions"]["count"] == 1


def test_image_job_and_urls_that_expire(sim: Sim) -> None:
    task = submit(sim, IMAGE, size="1088x1472").json()["id"]
    sim.clock.advance(20)
    (item,) = result(sim, task).json()["image_result"]
    path = item["url"].removeprefix(sim.url)
    png = parse_png(sim.get(path).content)
    assert (png.width, png.height) == (1088, 1472)
    assert sim.get(path.replace("s=", "s=0")).status_code == 403
    sim.clock.advance(30 * 86400)
    assert sim.get(path).status_code == 403


def test_video_bytes_pads_the_mp4(sim: Sim) -> None:
    sim.configure({"video_bytes": 3_000_000, "latency": {"cogvideox": 0}})
    task = submit(sim).json()["id"]
    (item,) = result(sim, task).json()["video_result"]
    video = sim.get(item["url"].removeprefix(sim.url))
    assert len(video.content) == int(video.headers["Content-Length"]) == 3_000_000


def test_jwt_auth_and_its_failures(sim: Sim) -> None:
    now = sim.clock.now()
    assert submit(sim, token=jwt(now)).status_code == 200
    cases = {
        "1001": {},
        "1002": auth("not-a-key"),
        "1003": auth(jwt(now - 300)),
        "1004": auth(jwt(now)[:-4] + "AAAA"),
        "1000": auth(jwt(now, key="other-id." + KEY.split(".", 1)[1])),
    }
    for code, headers in cases.items():
        answer = sim.post(VIDEO, json={"model": "cogvideox-3", "prompt": "p"}, headers=headers)
        assert answer.status_code == 401, code
        assert answer.json()["error"]["code"] == code
    assert sim.stats("bigmodel")["submissions"]["count"] == 1


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        (VIDEO, {"model": "viduq1-text"}, "1211"),
        (VIDEO, {"prompt": "x" * 513}, "1261"),
        (VIDEO, {"fps": 24}, "1214"),
        (VIDEO, {"duration": 6}, "1214"),
        (VIDEO, {"size": "1920*1080"}, "1214"),
        (VIDEO, {"request_id": "short"}, "1214"),
        (
            VIDEO,
            {"image_url": "data:image/png;base64," + base64.b64encode(bytes(5 * 1024 * 1024 + 1)).decode()},
            "1214",
        ),
        (IMAGE, {"size": "1000x1000"}, "1214"),
        (IMAGE, {"quality": "standard"}, "1214"),
        (IMAGE, {"prompt": None}, "1213"),
        (VIDEO, {"prompt": "违禁 content"}, "1301"),
    ],
)
def test_documented_refusals(sim: Sim, path: str, body: dict[str, Any], code: str) -> None:
    answer = submit(sim, path, **body)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == code
    assert sim.stats("bigmodel")["submissions"]["count"] == 0


def test_a_repeated_request_id_is_refused_with_1231(sim: Sim) -> None:
    assert submit(sim, request_id="airflow-000001").status_code == 200
    again = submit(sim, request_id="airflow-000001")
    assert (again.status_code, again.json()["error"]["code"]) == (400, "1231")
    assert "airflow-000001" in again.json()["error"]["message"]
    assert sim.stats("bigmodel")["submissions"]["count"] == 1


def test_concurrency_limit_answers_1302(sim: Sim) -> None:
    sim.configure({"concurrency": {"bigmodel": 1}})
    assert submit(sim).status_code == 200
    busy = submit(sim)
    assert (busy.status_code, busy.json()["error"]["code"]) == (429, "1302")
    sim.clock.advance(120)
    assert submit(sim).status_code == 200


def test_faults_rate_limit_quota_server_error_and_failed_jobs(sim: Sim) -> None:
    sim.configure(
        {
            "faults": {
                "bigmodel": {
                    "submit": {
                        "quota": {"next": 1, "code": 1113},
                        "error": {"next": 1, "code": 1234},
                        "job_failure": {"next": 1},
                    },
                    "status": {"rate_limit": {"next": 1, "code": 1305}},
                }
            }
        }
    )
    quota = submit(sim)
    assert (quota.status_code, quota.json()) == (
        429,
        {"error": {"code": "1113", "message": quota.json()["error"]["message"]}},
    )
    server = submit(sim)
    assert (server.status_code, server.json()["code"]) == (500, 1234)  # the flat, integer-code shape
    task = submit(sim).json()["id"]
    assert result(sim, task).json()["error"]["code"] == "1305"
    sim.clock.advance(120)
    assert result(sim, task).json()["task_status"] == "FAIL"


def test_a_gateway_error_after_the_job_was_taken(sim: Sim) -> None:
    sim.configure({"faults": {"bigmodel": {"submit": {"accepted_5xx": {"next": 1, "status": 504}}}}})
    lost = submit(sim, request_id="airflow-lost-01")
    assert lost.status_code == 504
    assert sim.stats("bigmodel")["submissions"]["count"] == 1  # bought, though the answer was lost
    assert submit(sim, request_id="airflow-lost-01").json()["error"]["code"] == "1231"


def test_unknown_task_id(sim: Sim) -> None:
    answer = result(sim, "no-such-task")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "404"
