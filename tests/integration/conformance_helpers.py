"""Helpers for the simulator conformance tests: the simulator's clock, the fixtures every
conformance module shares, PNG checks, expiry arithmetic done independently of the provider's
parsers, the connections under test, and the field sets the vendor documents
(/work/shared/seeds/) show in their examples.

A module takes the shared fixtures by assigning them (``simulator = h.simulator``): pytest finds
fixtures among a module's names, and an assignment, unlike an import, is not shadowed by the
test functions' parameters of the same name.
"""

from __future__ import annotations

import asyncio
import base64
import calendar
import json
import math
import struct
import time
import urllib.request
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
import requests

from airflow_provider_aigc.hooks.session import close_sessions
from airflow_provider_aigc.simulator import DEMO_CREDENTIALS
from tests.conftest import running_simulator

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator, Mapping

    from airflow_provider_aigc.hooks.base import AigcHook
    from airflow_provider_aigc.models import JobStatus
    from tests.conftest import SimulatorServer

HookT = TypeVar("HookT", bound="AigcHook[Any]")

# --- the simulator's clock ----------------------------------------------------------------------


class SimClock:
    """The simulator's clock over ``/_sim/clock``; calling it gives epoch seconds as the simulator
    sees them, so hooks given it as ``clock`` sign (Jumdata) and expire (Baidu tokens, outputs)
    by the vendor's time even after the clock was moved forward."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._offset = 0.0
        self.now()

    def _clock(self, body: dict[str, Any] | None) -> float:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + "/_sim/clock",
            data=data,
            method="GET" if body is None else "POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            now = float(json.loads(response.read())["now"])
        self._offset = now - time.time()
        return now

    def now(self) -> float:
        """The simulator's time now (and re-anchors ``__call__`` on it)."""
        return self._clock(None)

    def advance(self, seconds: float) -> float:
        """Move the simulator's clock forward; returns its new time."""
        return self._clock({"advance": seconds})

    def advance_to(self, moment: float) -> float:
        """Move the clock forward to ``moment`` (epoch s) unless it is already past it."""
        now = self.now()
        return self.advance(moment - now) if moment > now else now

    def __call__(self) -> float:
        return time.time() + self._offset


@dataclass
class Sleeps:
    """Records the hooks' backoff pauses instead of sleeping; ``then`` runs after each pause."""

    delays: list[float] = field(default_factory=list)
    then: Callable[[], object] | None = None

    def sleep(self, delay: float) -> None:
        self.delays.append(delay)
        if self.then is not None:
            self.then()

    async def async_sleep(self, delay: float) -> None:
        self.delays.append(delay)
        if self.then is not None:
            await asyncio.to_thread(self.then)


def hook_on(hook_class: type[HookT], conn_id: str, clock: SimClock, sleeps: Sleeps | None = None) -> HookT:
    """A hook on the simulator's clock whose backoff pauses go to ``sleeps`` (recorded, not slept)."""
    sleeps = sleeps or Sleeps()
    return hook_class(conn_id, clock=clock, sleep=sleeps.sleep, async_sleep=sleeps.async_sleep)


# --- fixtures shared by the conformance modules -------------------------------------------------


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorServer]:
    """The module's own simulator (overrides the session one): moving its clock cannot disturb
    other tests."""
    with running_simulator() as server:
        yield server


@pytest.fixture(autouse=True)
async def close_http_sessions() -> AsyncIterator[None]:
    """The async hooks share one aiohttp session per loop: close this test's."""
    yield
    await close_sessions()


@pytest.fixture
def clock(simulator: SimulatorServer) -> SimClock:
    return SimClock(simulator.url)


def start_fresh(
    simulator: SimulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    latency: Mapping[str, float],
    env: Mapping[str, str],
) -> None:
    """Start-up configuration with no jobs or counters; each app's jobs last ``latency[app]``
    simulated seconds; ``env`` (the connections) set for this test."""
    simulator.reset(config=True)
    speed = float(simulator.config({})["speed"])
    simulator.config({"latency": {app: seconds * speed for app, seconds in latency.items()}})
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def connection_vars(connections: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """``AIRFLOW_CONN_*`` variables (JSON form) for connections given by id."""
    return {
        f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(fields, ensure_ascii=False)
        for conn_id, fields in connections.items()
    }


# --- both modes: sync as on a worker, async as in the trigger ---------------------------------


async def get_status(hook: AigcHook[Any], job_id: str, app: str, mode: str) -> JobStatus:
    return await hook.aget_status(job_id, app) if mode == "async" else hook.get_status(job_id, app)


def fetch_blocking(url: str) -> tuple[int, bytes]:
    response = requests.get(url, timeout=10)
    return response.status_code, response.content


async def fetch(url: str, mode: str) -> tuple[int, bytes]:
    """GET an output URL the way the mode's code would: requests (blocking, as on a worker) or aiohttp."""
    if mode == "sync":
        return fetch_blocking(url)
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.read()


# --- simulator bookkeeping ----------------------------------------------------------------------


def vendor_stats(simulator: SimulatorServer, vendor: str) -> dict[str, Any]:
    stats: dict[str, Any] = simulator.stats()["vendors"][vendor]
    return stats


def submission(simulator: SimulatorServer, vendor: str, job_id: str) -> dict[str, Any]:
    """The simulator's record of an accepted job: ``job_id``, ``app``, ``prompt``, ``submitted_at``."""
    jobs = vendor_stats(simulator, vendor)["submissions"]["jobs"]
    matches = [job for job in jobs if job["job_id"] == job_id]
    assert len(matches) == 1, f"{vendor} job {job_id} not billed exactly once: {jobs}"
    return dict(matches[0])


# --- PNG ----------------------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


@dataclass(frozen=True)
class PngInfo:
    width: int
    height: int
    bit_depth: int
    color_type: int


def read_png(data: bytes) -> PngInfo:
    """Check a whole PNG file (signature, every chunk's CRC, IHDR first, IEND last, the pixel data
    inflating to exactly the rows IHDR promises) and return its header; ValueError otherwise."""
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError(f"no PNG signature: {data[:16]!r}")
    chunks: list[tuple[bytes, bytes]] = []
    position = len(PNG_SIGNATURE)
    while position < len(data):
        if position + 12 > len(data):
            raise ValueError(f"truncated chunk at byte {position}")
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        end = position + 8 + length
        body, crc = data[position + 8 : end], data[end : end + 4]
        if len(crc) != 4 or zlib.crc32(kind + body) != int.from_bytes(crc, "big"):
            raise ValueError(f"chunk {kind!r} at byte {position} is truncated or fails its CRC")
        chunks.append((kind, body))
        position = end + 4
    kinds = [kind for kind, _ in chunks]
    if not kinds or kinds[0] != b"IHDR" or kinds[-1] != b"IEND" or kinds.count(b"IEND") != 1:
        raise ValueError(f"chunks out of order: {kinds}")
    ihdr = chunks[0][1]
    if len(ihdr) != 13:
        raise ValueError(f"IHDR is {len(ihdr)} bytes")
    width, height, depth, color, _compression, _filter, interlace = struct.unpack(">IIBBBBB", ihdr)
    if color not in _CHANNELS or interlace != 0:
        raise ValueError(f"unexpected colour type {color} / interlace {interlace}")
    if color == 3 and b"PLTE" not in kinds:
        raise ValueError("palette image without PLTE")
    pixels = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    row = 1 + (width * depth * _CHANNELS[color] + 7) // 8
    if len(pixels) != row * height:
        raise ValueError(f"pixel data is {len(pixels)} bytes, {width}x{height} needs {row * height}")
    return PngInfo(width, height, depth, color)


# --- expiry, computed without the provider's parsers -------------------------------------------

SHANGHAI = timezone(timedelta(hours=8))


def utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)


def parse_time(value: str | None) -> datetime:
    """An ISO 8601 time from a model (must be timezone-aware)."""
    assert value is not None, "expected a time, got None"
    moment = datetime.fromisoformat(value)
    assert moment.tzinfo is not None, f"{value} has no timezone"
    return moment


def bce_authorization(url: str) -> tuple[datetime, int]:
    """(signing time, validity seconds) from a BOS URL's ``authorization=bce-auth-v1/<ak>/<ts>/<s>/...``."""
    values = parse_qs(urlsplit(url).query)["authorization"]
    parts = values[0].split("/")
    assert (len(parts), parts[0], parts[4]) == (6, "bce-auth-v1", "host"), parts
    signed_at = datetime.strptime(parts[2], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return signed_at, int(parts[3])


def jumdata_expiry(submitted_at: float) -> datetime:
    """``createTime`` (the job's submission second, Asia/Shanghai) plus three calendar months."""
    created = datetime.fromtimestamp(math.floor(submitted_at), SHANGHAI)
    month_index = created.month - 1 + 3
    year, month = created.year + month_index // 12, month_index % 12 + 1
    day = min(created.day, calendar.monthrange(year, month)[1])
    return created.replace(year=year, month=month, day=day).astimezone(timezone.utc)


# --- connections --------------------------------------------------------------------------------

ZHIPU = DEMO_CREDENTIALS["zhipu"]
BAIDU = DEMO_CREDENTIALS["baidu"]
JUMDATA = DEMO_CREDENTIALS["jumdata"]
ZHIPU_URL_TTL = 86400.0  # the simulator's default zhipu URL lifetime; the documents name none

ZHIPU_DES3 = "conformance_zhipu_des3"  # derived keys, base {url}, des3_key as text
ZHIPU_DES3_API = "conformance_zhipu_des3_api"  # derived keys, base {url}/api, des3_key as base64
ZHIPU_CONSOLE = "conformance_zhipu_console"  # console apikey/apisecret, base {url}
ZHIPU_CONSOLE_API = "conformance_zhipu_console_api"  # console apikey/apisecret, base {url}/api
ZHIPU_WRONG_DES3 = "conformance_zhipu_wrong_des3"  # well-formed 24-byte key, not the account's
ZHIPU_WRONG_CONSOLE = "conformance_zhipu_wrong_console"
ZHIPU_UNDERIVABLE = "conformance_zhipu_underivable"  # des3_key of 9 bytes: no keys can be derived
ZHIPU_NO_CREDENTIALS = "conformance_zhipu_no_credentials"
BAIDU_GOOD = "conformance_baidu"
BAIDU_WRONG_SECRET = "conformance_baidu_wrong_secret"
BAIDU_UNKNOWN_KEY = "conformance_baidu_unknown_key"
JUMDATA_GOOD = "conformance_jumdata"
JUMDATA_WRONG_SECRET = "conformance_jumdata_wrong_secret"
JUMDATA_UNKNOWN_APP = "conformance_jumdata_unknown_app"

ZHIPU_CONNECTIONS = (ZHIPU_DES3, ZHIPU_DES3_API, ZHIPU_CONSOLE, ZHIPU_CONSOLE_API)


def connection_env(base_url: str) -> dict[str, str]:
    """``AIRFLOW_CONN_*`` variables (JSON form) of every connection the conformance test uses."""
    private = {"allow_private_output_hosts": True, "timeout": 10}
    zhipu_extra = {**private, "output_ttl_seconds": ZHIPU_URL_TTL}
    des3 = {"app_key": ZHIPU["app_key"], "app_secret": ZHIPU["app_secret"]}
    des3_b64 = base64.b64encode(ZHIPU["des3_key"].encode()).decode()
    connections: dict[str, dict[str, Any]] = {
        ZHIPU_DES3: {
            "conn_type": "aigc_zhipu",
            "host": base_url,
            "extra": {**zhipu_extra, **des3, "des3_key": ZHIPU["des3_key"]},
        },
        ZHIPU_DES3_API: {
            "conn_type": "aigc_zhipu",
            "host": f"{base_url}/api",
            "extra": {**zhipu_extra, **des3, "des3_key": des3_b64},
        },
        ZHIPU_CONSOLE: {
            "conn_type": "aigc_zhipu",
            "host": base_url,
            "login": ZHIPU["apikey"],
            "password": ZHIPU["apisecret"],
            "extra": zhipu_extra,
        },
        ZHIPU_CONSOLE_API: {
            "conn_type": "aigc_zhipu",
            "host": f"{base_url}/api",
            "login": ZHIPU["apikey"],
            "password": ZHIPU["apisecret"],
            "extra": zhipu_extra,
        },
        ZHIPU_WRONG_DES3: {
            "conn_type": "aigc_zhipu",
            "host": base_url,
            "extra": {**zhipu_extra, **des3, "des3_key": "not-the-accounts-key-24!"},
        },
        ZHIPU_WRONG_CONSOLE: {
            "conn_type": "aigc_zhipu",
            "host": f"{base_url}/api",
            "login": ZHIPU["apikey"],
            "password": "not-the-console-apisecret",
            "extra": zhipu_extra,
        },
        ZHIPU_UNDERIVABLE: {
            "conn_type": "aigc_zhipu",
            "host": base_url,
            "extra": {**zhipu_extra, **des3, "des3_key": "too-short"},
        },
        ZHIPU_NO_CREDENTIALS: {"conn_type": "aigc_zhipu", "host": base_url, "extra": zhipu_extra},
        BAIDU_GOOD: {
            "conn_type": "aigc_baidu",
            "host": base_url,
            "login": BAIDU["api_key"],
            "password": BAIDU["secret_key"],
            "extra": private,
        },
        BAIDU_WRONG_SECRET: {
            "conn_type": "aigc_baidu",
            "host": base_url,
            "login": BAIDU["api_key"],
            "password": "not-the-secret-key",
            "extra": private,
        },
        BAIDU_UNKNOWN_KEY: {
            "conn_type": "aigc_baidu",
            "host": base_url,
            "login": "not-an-api-key",
            "password": BAIDU["secret_key"],
            "extra": private,
        },
        JUMDATA_GOOD: {
            "conn_type": "aigc_jumdata",
            "host": base_url,
            "login": JUMDATA["app_id"],
            "password": JUMDATA["app_secret"],
            "extra": private,
        },
        JUMDATA_WRONG_SECRET: {
            "conn_type": "aigc_jumdata",
            "host": base_url,
            "login": JUMDATA["app_id"],
            "password": "not-the-app-secret",
            "extra": private,
        },
        JUMDATA_UNKNOWN_APP: {
            "conn_type": "aigc_jumdata",
            "host": base_url,
            "login": "not-an-app-id",
            "password": JUMDATA["app_secret"],
            "extra": private,
        },
    }
    return connection_vars(connections)


def credential_values() -> list[str]:
    """Every demo credential value: none may appear in a JobRef or JobStatus."""
    return [value for vendor in DEMO_CREDENTIALS.values() for value in vendor.values()]


# --- the fields the documents' examples show ----------------------------------------------------
# zhipu_cogview_api.md ("返回参数样例", "情况1/情况2"), zhipu_cogview_api_pdf_extract.txt (waiting
# body), zhipu_news_generate_api.md; baidu_ernievilg_txt2imgv2_api.txt (txt2imgv2 and getImgv2
# examples); jumdata_ai_draw_api.html.txt (submit/query success and failure examples).

ZHIPU_ENVELOPE = {"message", "result", "status"}
ZHIPU_COGVIEW_SUBMIT = {
    "app",
    "created_at",
    "input",
    "output",
    "process_time",
    "task_id",
    "updated_at",
    "user",
}
ZHIPU_WAITING = {"app", "input", "key", "progress", "status", "task_id"}
ZHIPU_COGVIEW_DONE = {"app", "created_at", "id", "input", "output", "process_time", "updated_at", "user"}
ZHIPU_USER = {"appId", "id", "name"}
BAIDU_ENVELOPE = {"data", "log_id"}
BAIDU_SUBMIT_DATA = {"primary_task_id", "task_id"}
BAIDU_TASK = {"sub_task_result_list", "task_id", "task_progress", "task_status"}
BAIDU_SUB_TASK_DONE = {"final_image_list", "sub_task_error_code", "sub_task_progress", "sub_task_status"}
BAIDU_SUB_TASK_FAILED = {"sub_task_error_code", "sub_task_progress", "sub_task_status"}
BAIDU_IMAGE = {"height", "img_approve_conclusion", "img_url", "width"}
JUMDATA_ENVELOPE = {"charge", "code", "data", "msg", "taskNo"}
JUMDATA_ERROR = {"charge", "code", "msg", "taskNo"}
JUMDATA_QUERY_DATA = {"createTime", "img", "imgUrls", "status"}
