"""What the reliability tests share: the vendor cases, simulator readings, and every secret value
that must never leak (credentials, derived keys, tokens, signatures)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_aigc.hooks import hook_class_for
from airflow_provider_aigc.simulator import DEMO_CREDENTIALS
from airflow_provider_aigc.vendors import zhipu

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from airflow_provider_aigc.hooks.base import AigcHook
    from airflow_provider_aigc.models import JobStatus
    from tests.conftest import SimulatorServer


@dataclass(frozen=True)
class VendorCase:
    """One vendor API as the tests drive it."""

    vendor: str
    app: str
    prompt_field: str
    extra_params: dict[str, Any] = field(default_factory=dict)
    rate_limit_codes: tuple[int, ...] = ()
    quota_codes: tuple[int, ...] = ()

    def params(self, prompt: str) -> dict[str, Any]:
        return {self.prompt_field: prompt, **self.extra_params}

    def __str__(self) -> str:
        return f"{self.vendor}-{self.app}"


ZHIPU = VendorCase("zhipu", "cogview", "query", rate_limit_codes=(10003,), quota_codes=(10004,))
ZHIPU_NEWS = VendorCase("zhipu", "news_generate", "content", {"max_length": 60}, (10003,), (10004,))
BAIDU = VendorCase("baidu", "txt2imgv2", "prompt", {"image_num": 2}, (13, 18), (17, 4))
JUMDATA = VendorCase(
    "jumdata", "ai_draw", "text", {"style": "古风", "resolution": "1024*1024", "num": 2}, (606, 609), ()
)
# Rate limits retried with backoff (1302, the concurrency refusal, waits deferred instead).
BIGMODEL = VendorCase("bigmodel", "cogvideox", "prompt", {"duration": 5}, (1305, 1312, 1303), (1304, 1308))
BIGMODEL_IMAGE = VendorCase(
    "bigmodel", "glm_image", "prompt", {"size": "1280x1280"}, (1305, 1312, 1303), (1304, 1308)
)
# DashScope's codes are strings; the simulator's fault knobs pick them by number (docs/simulator.md).
DASHSCOPE = VendorCase(
    "dashscope", "wan_image", "prompt", {"model": "wan2.2-t2i-flash", "n": 2}, (429, 4291), (4001, 4031)
)
VENDORS = [ZHIPU, BAIDU, JUMDATA, BIGMODEL, DASHSCOPE]
ALL_APPS = [ZHIPU, ZHIPU_NEWS, BAIDU, JUMDATA, BIGMODEL, BIGMODEL_IMAGE, DASHSCOPE]


class SleepRecorder:
    """Stands in for the hooks' pauses between retries: records them instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


def make_hook(vendor: str, sleeps: SleepRecorder | None = None, conn_id: str | None = None) -> AigcHook[Any]:
    """A vendor hook on its default connection whose retry pauses are recorded, not slept."""
    recorder = sleeps or SleepRecorder()
    return hook_class_for(vendor)(conn_id=conn_id, sleep=recorder, async_sleep=recorder.asleep)


def stats(simulator: SimulatorServer, vendor: str) -> dict[str, Any]:
    result: dict[str, Any] = simulator.stats()["vendors"][vendor]
    return result


def submissions(simulator: SimulatorServer, vendor: str) -> list[dict[str, Any]]:
    """Jobs the simulator accepted (and a real vendor would bill)."""
    jobs: list[dict[str, Any]] = stats(simulator, vendor)["submissions"]["jobs"]
    return jobs


def injected(simulator: SimulatorServer, vendor: str, key: str) -> int:
    """How often the fault ``<kind>.<fault>`` fired for ``vendor``."""
    return int(stats(simulator, vendor)["errors_injected"].get(key, 0))


def fault(vendor: str, kind: str, name: str, **rule: Any) -> dict[str, Any]:
    """A ``/_sim/config`` patch setting one fault rule."""
    return {"faults": {vendor: {kind: {name: rule}}}}


def wait_for_terminal(hook: AigcHook[Any], job_id: str, app: str, polls: int = 200) -> JobStatus:
    """Poll (sync) until the job finishes; bounded."""
    for _ in range(polls):
        status = hook.get_status(job_id, app)
        if status.is_terminal:
            return status
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish within {polls} polls")


def wait_until(condition: Callable[[], bool], attempts: int = 100, pause: float = 0.05) -> bool:
    """Whether ``condition`` became true within ``attempts`` checks (bounded)."""
    for _ in range(attempts):
        if condition():
            return True
        time.sleep(pause)
    return condition()


def baidu_token(simulator: SimulatorServer) -> str:
    """A fresh token from the simulator's token endpoint (tokens are random: each call a new one)."""
    creds = DEMO_CREDENTIALS["baidu"]
    url = (
        f"{simulator.url}/oauth/2.0/token?grant_type=client_credentials"
        f"&client_id={creds['api_key']}&client_secret={creds['secret_key']}"
    )
    with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=10) as response:
        token: str = json.loads(response.read())["access_token"]
    return token


# --- secrets -------------------------------------------------------------------------------------


def static_secrets() -> dict[str, str]:
    """Every credential and derived key of the demo accounts, by name (values >= 8 chars)."""
    z, b, j = DEMO_CREDENTIALS["zhipu"], DEMO_CREDENTIALS["baidu"], DEMO_CREDENTIALS["jumdata"]
    found = {
        "zhipu app_key": z["app_key"],
        "zhipu app_secret": z["app_secret"],
        "zhipu des3_key": z["des3_key"],
        "zhipu console apikey": z["apikey"],
        "zhipu console apisecret": z["apisecret"],
        "baidu secret_key": b["secret_key"],
        "jumdata app_secret": j["app_secret"],
        "bigmodel api_key": DEMO_CREDENTIALS["bigmodel"]["api_key"],
        "bigmodel key secret": DEMO_CREDENTIALS["bigmodel"]["api_key"].split(".", 1)[1],
    }
    for app in sorted(zhipu.APPS):
        keys = zhipu.derive_keys(app, z["app_key"], z["app_secret"], z["des3_key"])
        found[f"zhipu {app} derived apikey"] = keys.apikey
        found[f"zhipu {app} derived apisecret"] = keys.apisecret
    return found


# The identifiers below are not secrets: the Baidu API Key and Jumdata appId are client ids that
# appear in signed URLs (bce-auth-v1/<ak>/...) and request forms by design.
_HEX64 = re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")
_BAIDU_TOKEN = re.compile(r"24\.[0-9a-f]{32}\.[0-9]+\.[0-9]+\.[0-9]+-[0-9]+")
_URL_SIGNATURE = re.compile(r"[?&](?:s|sig|signature|authorization)=([^&\s\"'<>]{8,})", re.IGNORECASE)


def jumdata_signs(since_ms: int, until_ms: int) -> set[str]:
    """Every Jumdata ``sign`` the demo account could have sent in a time window (ms)."""
    j = DEMO_CREDENTIALS["jumdata"]
    prefix = f"{j['app_id']}{j['app_secret']}".encode()
    return {hashlib.sha256(prefix + str(ms).encode()).hexdigest() for ms in range(since_ms, until_ms + 1)}


@dataclass
class LeakScanner:
    """Finds secrets in text: known values, Baidu-shaped tokens, Jumdata signs, URL signatures."""

    known: dict[str, str] = field(default_factory=static_secrets)
    signs: set[str] = field(default_factory=set)
    url_signatures: set[str] = field(default_factory=set)

    def add(self, name: str, value: str) -> None:
        if value and len(value) >= 8:
            self.known[name] = value

    def add_url_signatures(self, urls: Iterable[str]) -> None:
        """Remember the signatures inside output URLs (so they can be looked for elsewhere)."""
        for url in urls:
            for match in _URL_SIGNATURE.finditer(url):
                self.url_signatures.add(match.group(1))
                for part in match.group(1).replace("%2F", "/").split("/"):
                    if _HEX64.fullmatch(part):
                        self.url_signatures.add(part)

    def leaks(self, text: str) -> list[str]:
        """What ``text`` gives away, described without the secret itself."""
        found = [f"{name} ({len(value)} chars)" for name, value in self.known.items() if value in text]
        found += ["a Baidu access token" for _ in _BAIDU_TOKEN.finditer(text)]
        hexes = set(_HEX64.findall(text))
        found += ["a Jumdata sign" for value in hexes & self.signs]
        found += [
            f"an output URL signature ({value[:6]}...)" for value in self.url_signatures if value in text
        ]
        return found
