"""Conformance: the simulator, driven through the provider's own ``vendors/`` code and hooks, is
indistinguishable from the documented vendors except by its host.

Every API (CogView, news, ERNIE-ViLG txt2imgv2, Jumdata AI drawing) goes submit -> running polls ->
done -> outputs downloaded and checked as whole PNGs -> URLs refused once their documented expiry
has passed, once with the sync hook methods (requests; called as a worker calls them, blocking)
and once with the async ones (aiohttp, as the trigger). Around that: Baidu's token reuse and
renewal, test_connection, authentication, moderation, the concurrency limit, unknown job ids and
the raw answers' fields against the vendor documents' examples (``../shared/seeds/`` of the
development workspace; DESIGN.md and docs/INTERFACES.md fix what they leave open).

Time is the simulator's: jobs last ``LATENCY`` simulated seconds and the test moves the
simulator's clock (``POST /_sim/clock``) instead of waiting; the hooks read the same clock, as a
real client's clock agrees with its vendor's. The module therefore runs its own simulator,
started like the session one (``--speed`` as in ``tests/conftest.py``): moving the shared one's
clock months ahead would put every later real-time Jumdata call outside the vendor's 300 s
timestamp window (``400 timestamp已过期``) for the rest of the session.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_aigc.exceptions import (
    EXCEPTION_CLASSES,
    AigcAuthError,
    AigcConcurrencyLimitError,
    AigcContentRejectedError,
    AigcError,
    AigcInvalidRequestError,
    AigcUnknownJobError,
)
from airflow_provider_aigc.hooks.baidu import BaiduHook
from airflow_provider_aigc.hooks.jumdata import JumdataHook
from airflow_provider_aigc.hooks.tokens import TOKENS
from airflow_provider_aigc.hooks.transport import new_session, send
from airflow_provider_aigc.hooks.zhipu import ZhipuHook
from airflow_provider_aigc.models import JobRef, JobState, JobStatus
from airflow_provider_aigc.vendors import baidu, jumdata, zhipu
from tests.integration import conformance_helpers as h
from tests.integration.conformance_helpers import SimClock, Sleeps

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import requests

    from airflow_provider_aigc.hooks.base import AigcHook
    from airflow_provider_aigc.vendors.base import HttpRequest, HttpResponse
    from tests.conftest import SimulatorServer

    HookFactory = Callable[..., AigcHook[Any]]

pytestmark = pytest.mark.integration

LATENCY = 600.0  # simulated seconds per job: the test's own run time never finishes one by itself
RUNNING_FRACTIONS = (0.0, 0.07, 0.3, 0.7)  # INIT, WAIT (queued: first 10 %), then running
MARGIN = 60.0  # seconds either side of an expiry
MODES = ("sync", "async")
BAIDU_CONCURRENCY = 2  # "付费使用后默认并发数为 2"
DEFAULT_MAX_RETRIES = 3  # docs/connections.md
BAIDU_URL_SECONDS = 3600  # "img_url ... 默认 1 小时失效"

COGVIEW: dict[str, Any] = {"query": "美国男篮大战中国男篮"}
NEWS: dict[str, Any] = {"content": "神州十三号飞船发射成功", "max_length": 40}
ERNIE: dict[str, Any] = {"prompt": "睡莲", "width": 1280, "height": 720, "image_num": 3}
DRAW: dict[str, Any] = {"text": "荷塘月色", "resolution": "1024*1536", "style": "水彩画", "num": 2}
MODERATED = "违禁的画面"  # the simulator's default moderation word is in it


# --- fixtures -----------------------------------------------------------------------------------


# This module's own simulator (see the module docstring), its clock, and session cleanup.
simulator = h.simulator
clock = h.clock
close_http_sessions = h.close_http_sessions


@pytest.fixture(autouse=True)
def conformance(simulator: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Start-up configuration, no jobs, tokens or counters; jobs that last ``LATENCY``; this
    module's connections; no Baidu token cached in the process."""
    apps = ("cogview", "news_generate", "txt2imgv2", "ai_draw")
    h.start_fresh(simulator, monkeypatch, dict.fromkeys(apps, LATENCY), h.connection_env(simulator.url))
    TOKENS.clear()
    yield
    TOKENS.clear()


@pytest.fixture
def make_hook(clock: SimClock) -> Iterator[HookFactory]:
    """Hooks on the simulator's clock whose backoff pauses go to ``sleeps`` (recorded, not slept)."""
    made: list[AigcHook[Any]] = []

    def factory(hook_class: type[AigcHook[Any]], conn_id: str, sleeps: Sleeps | None = None) -> AigcHook[Any]:
        hook = h.hook_on(hook_class, conn_id, clock, sleeps)
        made.append(hook)
        return hook

    yield factory
    for hook in made:
        hook.close()


# --- one call, sync or async --------------------------------------------------------------------


async def submit(hook: AigcHook[Any], app: str, params: dict[str, Any], mode: str) -> JobRef:
    """A submit is a worker's call, sync in either mode (the hook has no async submit)."""
    return hook.submit(app, params)


def assert_no_credentials(*values: object) -> None:
    text = json.dumps([value.to_dict() if hasattr(value, "to_dict") else str(value) for value in values])
    leaked = [secret for secret in h.credential_values() if secret in text]
    assert not leaked, f"credentials leaked: {leaked}"


# --- the job lifecycle, per API -----------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    hook_class: type[AigcHook[Any]]
    conn_id: str
    app: str
    params: dict[str, Any]
    prompt: str
    queued_first: bool  # zhipu "0%" and baidu INIT/WAIT read as QUEUED; jumdata status 0 does not say
    progress: str  # "percent" (zhipu "37%"), "zero" (baidu task_progress 0 until done), "none" (jumdata)


def zhipu_cases() -> dict[str, Case]:
    cases = {}
    for conn_id in h.ZHIPU_CONNECTIONS:
        label = conn_id.removeprefix("conformance_zhipu_")
        cases[f"cogview-{label}"] = Case(
            ZhipuHook, conn_id, "cogview", COGVIEW, COGVIEW["query"], True, "percent"
        )
        cases[f"news-{label}"] = Case(
            ZhipuHook, conn_id, "news_generate", NEWS, str(NEWS["content"]), True, "percent"
        )
    return cases


CASES = {
    **zhipu_cases(),
    "txt2imgv2": Case(BaiduHook, h.BAIDU_GOOD, "txt2imgv2", ERNIE, str(ERNIE["prompt"]), True, "zero"),
    "ai_draw": Case(JumdataHook, h.JUMDATA_GOOD, "ai_draw", DRAW, str(DRAW["text"]), False, "none"),
}


def check_running(case: Case, polls: list[JobStatus]) -> None:
    """Polls before completion: QUEUED/RUNNING in order, progress in [0, 1] and never falling."""
    expected = [JobState.QUEUED, JobState.QUEUED] if case.queued_first else [JobState.RUNNING] * 2
    assert [poll.state for poll in polls] == [*expected, JobState.RUNNING, JobState.RUNNING]
    assert [(poll.outputs, poll.error) for poll in polls] == [((), None)] * len(polls)
    progress = [poll.progress for poll in polls]
    if case.progress == "none":
        assert progress == [None] * len(polls)
        return
    values = [value for value in progress if value is not None]
    assert len(values) == len(polls), progress
    assert all(0.0 <= value <= 1.0 for value in values), progress
    assert values == sorted(values), f"progress fell: {values}"
    if case.progress == "zero":
        assert values == [0.0] * len(polls)
    else:  # the simulator's percentage is the elapsed share of the latency, whole percent
        assert values[:2] == [0.0, 0.0]
        for fraction, value in zip(RUNNING_FRACTIONS[2:], values[2:], strict=True):
            assert fraction - 0.01 <= value <= fraction + 0.05, (fraction, value)


def check_outputs(
    case: Case, done: JobStatus, submitted_at: float, simulator: SimulatorServer
) -> tuple[list[tuple[str, tuple[int, int]]], datetime | None]:
    """The finished job's outputs against the documents; returns (url, size) per image and the expiry."""
    outputs = done.outputs
    assert [output.index for output in outputs] == list(range(len(outputs)))
    completed = math.floor(submitted_at + LATENCY)  # the second the job finished
    if case.app == "news_generate":
        (text,) = outputs
        assert (text.kind, text.url, text.width, text.moderation) == ("text", None, None, None)
        assert text.text is not None
        assert 0 < len(text.text.strip()) <= len(text.text) <= NEWS["max_length"]
        # Zhipu: updated_at (completion) + the connection's output_ttl_seconds (INTERFACES.md).
        assert h.parse_time(text.expires_at) == h.utc(completed + h.ZHIPU_URL_TTL)
        return [], None
    assert [(output.kind, output.text) for output in outputs] == [("image", None)] * len(outputs)
    urls = [str(output.url) for output in outputs]
    assert all(url.startswith(simulator.url + "/") for url in urls), urls  # only the host differs
    assert len(set(urls)) == len(urls)
    expiries = {h.parse_time(output.expires_at) for output in outputs}
    assert len(expiries) == 1, expiries
    (expires_at,) = expiries
    if case.app == "cogview":
        images = simulator.config({})["cogview_images"]
        size = (images["width"], images["height"])
        assert len(outputs) == images["count"]
        assert {(o.width, o.height, o.moderation) for o in outputs} == {(None, None, None)}
        assert expires_at == h.utc(completed + h.ZHIPU_URL_TTL)
    elif case.app == "txt2imgv2":
        size = (ERNIE["width"], ERNIE["height"])
        assert len(outputs) == ERNIE["image_num"]
        assert all((o.width, o.height, o.moderation) == (*size, "pass") for o in outputs)
        for output in outputs:
            signed_at, seconds = h.bce_authorization(str(output.url))
            assert (signed_at, seconds) == (h.utc(completed), BAIDU_URL_SECONDS)
            assert h.parse_time(output.expires_at) == signed_at + timedelta(seconds=seconds)
    else:
        width, height = (int(part) for part in str(DRAW["resolution"]).split("*"))
        size = (width, height)
        assert len(outputs) == DRAW["num"]
        assert {(o.width, o.height, o.moderation) for o in outputs} == {(None, None, None)}
        assert expires_at == h.jumdata_expiry(submitted_at)  # createTime + 3 months ("有效期三个月")
    return [(url, size) for url in urls], expires_at


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
async def test_a_job_runs_finishes_and_its_outputs_expire_as_documented(
    case: Case, mode: str, simulator: SimulatorServer, clock: SimClock, make_hook: HookFactory
) -> None:
    sleeps = Sleeps()
    hook = make_hook(case.hook_class, case.conn_id, sleeps)
    ref = await submit(hook, case.app, case.params, mode)
    assert (ref.vendor, ref.app, ref.conn_id) == (hook.vendor, case.app, case.conn_id)
    job = h.submission(simulator, hook.vendor, ref.job_id)
    assert (job["app"], job["prompt"]) == (case.app, case.prompt)
    submitted_at = float(job["submitted_at"])

    running = []
    for fraction in RUNNING_FRACTIONS:
        clock.advance_to(submitted_at + fraction * LATENCY)
        running.append(await h.get_status(hook, ref.job_id, case.app, mode))
    check_running(case, running)

    clock.advance_to(submitted_at + LATENCY + 1)
    done = await h.get_status(hook, ref.job_id, case.app, mode)
    assert (done.state, done.progress, done.error) == (JobState.SUCCEEDED, 1.0, None)
    assert (done.job_id, done.conn_id) == (ref.job_id, case.conn_id)
    assert await h.get_status(hook, ref.job_id, case.app, mode) == done  # stays done, same outputs
    images, expires_at = check_outputs(case, done, submitted_at, simulator)

    for url, size in images:
        status, body = await h.fetch(url, mode)
        assert status == 200, url
        png = h.read_png(body)
        assert (png.width, png.height) == size
    if expires_at is not None:
        clock.advance_to(expires_at.timestamp() - MARGIN)
        assert [(await h.fetch(url, mode))[0] for url, _ in images] == [200] * len(images)
        clock.advance_to(expires_at.timestamp() + MARGIN)
        assert [(await h.fetch(url, mode))[0] for url, _ in images] == [403] * len(images)

    stats = h.vendor_stats(simulator, hook.vendor)
    assert stats["submissions"]["count"] == 1
    assert stats["polls"] == len(RUNNING_FRACTIONS) + 2
    assert stats["downloads"]["count"] == 2 * len(images)
    assert (stats["rejections"], stats["errors_injected"]) == ({}, {"total": 0})
    assert stats["tokens_issued"] == (1 if hook.vendor == "baidu" else 0)
    assert sleeps.delays == []
    assert_no_credentials(ref, *running, done)


# --- Baidu access tokens ------------------------------------------------------------------------


async def test_baidu_token_is_fetched_once_and_reused_by_every_call_and_hook(
    simulator: SimulatorServer, make_hook: HookFactory
) -> None:
    first = make_hook(BaiduHook, h.BAIDU_GOOD)
    ref = first.submit("txt2imgv2", ERNIE)
    first.get_status(ref.job_id, ref.app)
    make_hook(BaiduHook, h.BAIDU_GOOD).get_status(ref.job_id, ref.app)
    other = make_hook(BaiduHook, h.BAIDU_GOOD)
    second = other.submit("txt2imgv2", ERNIE)
    await other.aget_status(second.job_id, second.app)
    stats = h.vendor_stats(simulator, "baidu")
    assert (stats["tokens_issued"], stats["submissions"]["count"], stats["polls"]) == (1, 2, 3)
    assert stats["rejections"] == {}


@pytest.mark.parametrize("mode", MODES)
async def test_baidu_token_the_vendor_rejects_is_renewed_once(
    mode: str, simulator: SimulatorServer, make_hook: HookFactory
) -> None:
    simulator.config({"token_max_calls": 2})  # then the token reads as expired (111)
    sleeps = Sleeps()
    hook = make_hook(BaiduHook, h.BAIDU_GOOD, sleeps)
    ref = await submit(hook, "txt2imgv2", ERNIE, mode)
    await h.get_status(hook, ref.job_id, ref.app, mode)
    assert (await h.get_status(hook, ref.job_id, ref.app, mode)).state is JobState.QUEUED
    stats = h.vendor_stats(simulator, "baidu")
    assert (stats["tokens_issued"], stats["rejections"]) == (2, {"111": 1})

    simulator.reset(config=False)  # the vendor forgets every token it issued (110 from now on)
    await submit(hook, "txt2imgv2", ERNIE, mode)
    stats = h.vendor_stats(simulator, "baidu")
    assert (stats["tokens_issued"], stats["rejections"], stats["submissions"]["count"]) == (1, {"110": 1}, 1)
    assert sleeps.delays == []


# --- test_connection and authentication ---------------------------------------------------------


@pytest.mark.parametrize(
    ("hook_class", "conn_id", "ok", "rejections"),
    [
        # The probe's unknown task id ("404": task not found) proves the host is a Zhipu API.
        (ZhipuHook, h.ZHIPU_DES3, True, {"404": 1}),
        (ZhipuHook, h.ZHIPU_DES3_API, True, {"404": 1}),
        (ZhipuHook, h.ZHIPU_CONSOLE, True, {"404": 1}),
        (ZhipuHook, h.ZHIPU_CONSOLE_API, True, {"404": 1}),
        # Zhipu has no free authenticated call (docs/connections.md): a well-formed but wrong key
        # passes the check; the first submit is refused (test below).
        (ZhipuHook, h.ZHIPU_WRONG_DES3, True, {"404": 1}),
        (ZhipuHook, h.ZHIPU_UNDERIVABLE, False, {}),
        (ZhipuHook, h.ZHIPU_NO_CREDENTIALS, False, {}),
        (BaiduHook, h.BAIDU_GOOD, True, {}),
        (BaiduHook, h.BAIDU_WRONG_SECRET, False, {"invalid_client": 1}),
        (BaiduHook, h.BAIDU_UNKNOWN_KEY, False, {"invalid_client": 1}),
        (JumdataHook, h.JUMDATA_GOOD, True, {"201": 1}),  # the probe's unknown taskId: signature accepted
        (JumdataHook, h.JUMDATA_WRONG_SECRET, False, {"400": 1}),
        (JumdataHook, h.JUMDATA_UNKNOWN_APP, False, {"601": 1}),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_test_connection_tells_good_credentials_from_bad(
    hook_class: type[AigcHook[Any]],
    conn_id: str,
    ok: bool,
    rejections: dict[str, int],
    simulator: SimulatorServer,
    make_hook: HookFactory,
) -> None:
    hook = make_hook(hook_class, conn_id)
    result, message = hook.test_connection()
    assert result is ok, message
    assert message.strip()
    assert_no_credentials(message)
    stats = h.vendor_stats(simulator, hook.vendor)
    assert stats["rejections"] == rejections
    assert stats["tokens_issued"] == (1 if conn_id == h.BAIDU_GOOD else 0)
    assert stats["submissions"]["count"] == 0


AUTH_FAILURES = {
    "zhipu-wrong-des3-key": (ZhipuHook, h.ZHIPU_WRONG_DES3, "cogview", COGVIEW, "10002"),
    "zhipu-wrong-console-keys": (ZhipuHook, h.ZHIPU_WRONG_CONSOLE, "news_generate", NEWS, "10002"),
    "baidu-wrong-secret": (BaiduHook, h.BAIDU_WRONG_SECRET, "txt2imgv2", ERNIE, "invalid_client"),
    "baidu-unknown-api-key": (BaiduHook, h.BAIDU_UNKNOWN_KEY, "txt2imgv2", ERNIE, "invalid_client"),
    "jumdata-unknown-app-id": (JumdataHook, h.JUMDATA_UNKNOWN_APP, "ai_draw", DRAW, "601"),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("hook_class", "conn_id", "app", "params", "code"), list(AUTH_FAILURES.values()), ids=list(AUTH_FAILURES)
)
async def test_rejected_credentials_raise_auth_error_without_retry_or_purchase(
    hook_class: type[AigcHook[Any]],
    conn_id: str,
    app: str,
    params: dict[str, Any],
    code: str,
    mode: str,
    simulator: SimulatorServer,
    make_hook: HookFactory,
) -> None:
    sleeps = Sleeps()
    hook = make_hook(hook_class, conn_id, sleeps)
    with pytest.raises(AigcError) as raised:
        await submit(hook, app, params, mode)
    assert type(raised.value) is AigcAuthError, raised.value
    assert (raised.value.vendor, raised.value.code) == (hook.vendor, code)
    assert_no_credentials(raised.value.message)
    stats = h.vendor_stats(simulator, hook.vendor)
    assert (stats["submissions"]["count"], stats["rejections"]) == (0, {code: 1})  # one request, refused
    assert sleeps.delays == []


@pytest.mark.parametrize("mode", MODES)
async def test_jumdata_wrong_app_secret_is_refused_at_once_as_the_taxonomy_maps_code_400(
    mode: str, simulator: SimulatorServer, make_hook: HookFactory
) -> None:
    """The Jumdata document gives no code for a bad signature; the simulator answers
    ``400 签名错误`` (docs/simulator.md) and DESIGN.md maps Jumdata 400 to AigcInvalidRequestError,
    so a wrong appSecret is a fail-fast invalid request quoting the vendor's message, not an
    AigcAuthError (an open question for DESIGN.md)."""
    sleeps = Sleeps()
    hook = make_hook(JumdataHook, h.JUMDATA_WRONG_SECRET, sleeps)
    with pytest.raises(AigcError) as raised:
        await submit(hook, "ai_draw", DRAW, mode)
    assert (type(raised.value), raised.value.code, raised.value.fail_fast) == (
        AigcInvalidRequestError,
        "400",
        True,
    )
    assert "签名错误" in raised.value.message
    stats = h.vendor_stats(simulator, "jumdata")
    assert (stats["submissions"]["count"], stats["rejections"]) == (0, {"400": 1})
    assert sleeps.delays == []


# --- moderation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_baidu_moderated_prompt_fails_the_job_as_content_rejected(
    mode: str, simulator: SimulatorServer, make_hook: HookFactory
) -> None:
    hook = make_hook(BaiduHook, h.BAIDU_GOOD)
    ref = await submit(hook, "txt2imgv2", {**ERNIE, "prompt": MODERATED}, mode)
    status = await h.get_status(hook, ref.job_id, ref.app, mode)  # visible on the first poll
    assert (status.state, status.outputs) == (JobState.FAILED, ())
    assert status.error is not None
    assert (status.error.type, status.error.code) == ("AigcContentRejectedError", "501")
    assert EXCEPTION_CLASSES[status.error.type] is AigcContentRejectedError
    stats = h.vendor_stats(simulator, "baidu")
    assert (stats["submissions"]["count"], stats["polls"]) == (1, 1)


@pytest.mark.parametrize("mode", MODES)
async def test_jumdata_moderated_text_is_refused_at_submit(
    mode: str, simulator: SimulatorServer, make_hook: HookFactory
) -> None:
    sleeps = Sleeps()
    hook = make_hook(JumdataHook, h.JUMDATA_GOOD, sleeps)
    with pytest.raises(AigcError) as raised:
        await submit(hook, "ai_draw", {**DRAW, "text": MODERATED}, mode)
    assert (type(raised.value), raised.value.code) == (AigcContentRejectedError, "202")
    stats = h.vendor_stats(simulator, "jumdata")
    assert (stats["submissions"]["count"], stats["rejections"]) == (0, {"202": 1})
    assert sleeps.delays == []


# --- Baidu's concurrency limit ------------------------------------------------------------------


async def fill_baidu_slots(hook: AigcHook[Any], mode: str, simulator: SimulatorServer) -> list[float]:
    """Submit as many jobs as Baidu runs at once; returns their submission times."""
    refs = [await submit(hook, "txt2imgv2", ERNIE, mode) for _ in range(BAIDU_CONCURRENCY)]
    return [float(h.submission(simulator, "baidu", ref.job_id)["submitted_at"]) for ref in refs]


@pytest.mark.parametrize("mode", MODES)
async def test_baidu_job_beyond_the_concurrency_limit_is_refused_at_once_as_nothing_bought(
    mode: str, simulator: SimulatorServer, make_hook: HookFactory
) -> None:
    sleeps = Sleeps()
    hook = make_hook(BaiduHook, h.BAIDU_GOOD, sleeps)
    await fill_baidu_slots(hook, mode, simulator)
    with pytest.raises(AigcError) as raised:
        await submit(hook, "txt2imgv2", ERNIE, mode)
    # Not backed off in the call: the task waits for capacity deferred (operators.capacity).
    assert (type(raised.value), raised.value.code, raised.value.refused) == (
        AigcConcurrencyLimitError,
        "15",
        True,
    )
    assert sleeps.delays == []
    stats = h.vendor_stats(simulator, "baidu")
    assert stats["submissions"]["count"] == BAIDU_CONCURRENCY
    assert stats["rejections"] == {"15": 1}
    assert (stats["active_jobs"], stats["tokens_issued"]) == (BAIDU_CONCURRENCY, 1)


@pytest.mark.parametrize("mode", MODES)
async def test_baidu_job_beyond_the_concurrency_limit_is_accepted_once_a_slot_frees(
    mode: str, simulator: SimulatorServer, clock: SimClock, make_hook: HookFactory
) -> None:
    sleeps = Sleeps()
    hook = make_hook(BaiduHook, h.BAIDU_GOOD, sleeps)
    submitted = await fill_baidu_slots(hook, mode, simulator)
    with pytest.raises(AigcConcurrencyLimitError):
        await submit(hook, "txt2imgv2", ERNIE, mode)
    clock.advance_to(max(submitted) + LATENCY + 1)
    ref = await submit(hook, "txt2imgv2", ERNIE, mode)
    assert sleeps.delays == []
    stats = h.vendor_stats(simulator, "baidu")
    assert stats["submissions"]["count"] == BAIDU_CONCURRENCY + 1
    assert ref.job_id == stats["submissions"]["jobs"][-1]["job_id"]
    assert (stats["rejections"], stats["active_jobs"]) == ({"15": 1}, 1)


# --- unknown job ids ----------------------------------------------------------------------------

UNKNOWN_JOBS = {
    "zhipu": (ZhipuHook, h.ZHIPU_DES3_API, "cogview", "0123456789abcdef", AigcUnknownJobError, None, "404"),
    "baidu": (
        BaiduHook,
        h.BAIDU_GOOD,
        "txt2imgv2",
        "1000000000000000001",
        AigcInvalidRequestError,
        "282004",
        "282004",
    ),
    "jumdata": (JumdataHook, h.JUMDATA_GOOD, "ai_draw", "0" * 32, AigcUnknownJobError, "201", "201"),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("hook_class", "conn_id", "app", "job_id", "error_class", "code", "rejection"),
    list(UNKNOWN_JOBS.values()),
    ids=list(UNKNOWN_JOBS),
)
async def test_unknown_job_id_raises_the_documented_class_without_retry(
    hook_class: type[AigcHook[Any]],
    conn_id: str,
    app: str,
    job_id: str,
    error_class: type[AigcError],
    code: str | None,
    rejection: str,
    mode: str,
    simulator: SimulatorServer,
    make_hook: HookFactory,
) -> None:
    sleeps = Sleeps()
    hook = make_hook(hook_class, conn_id, sleeps)
    with pytest.raises(AigcError) as raised:
        await h.get_status(hook, job_id, app, mode)
    assert (type(raised.value), raised.value.code, raised.value.fail_fast) == (error_class, code, True)
    stats = h.vendor_stats(simulator, hook.vendor)
    assert (stats["polls"], stats["rejections"]) == (1, {rejection: 1})
    assert sleeps.delays == []


# --- the raw answers against the documents' examples --------------------------------------------
# Requests built by ``vendors/`` and sent by the hooks' transport; the answers are compared field
# by field with the documents' examples, then parsed by ``vendors/``.


def exchange(session: requests.Session, base_url: str, request: HttpRequest) -> tuple[HttpResponse, Any]:
    response = send(session, base_url, request, 10)
    assert response.status == 200, response
    return response, json.loads(response.body)


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with new_session() as session:
        yield session


@pytest.mark.parametrize("base", ["", "/api"], ids=["gpt.aminer.cn-style", "pretrain.aminer.cn-style"])
def test_zhipu_raw_answers_carry_the_documented_fields(
    base: str, simulator: SimulatorServer, clock: SimClock, session: requests.Session
) -> None:
    base_url = simulator.url + base
    derived = {
        app: zhipu.derive_keys(app, h.ZHIPU["app_key"], h.ZHIPU["app_secret"], h.ZHIPU["des3_key"])
        for app in ("cogview", "news_generate")
    }
    ids = {}
    for app, params, documented, job_input, id_length in (
        ("cogview", COGVIEW, h.ZHIPU_COGVIEW_SUBMIT, {"text": COGVIEW["query"]}, 16),
        ("news_generate", NEWS, h.ZHIPU_WAITING, NEWS, 24),
    ):
        request = zhipu.build_submit(app, zhipu.validate(app, params), derived[app], 0.0)
        response, body = exchange(session, base_url, request)
        assert set(body) == h.ZHIPU_ENVELOPE
        assert (body["status"], body["message"]) == (0, "success")
        result = body["result"]
        assert set(result) >= documented | h.ZHIPU_WAITING
        assert (result["app"], result["input"], result["key"]) == (app, job_input, "queue1")
        assert (result["status"], result["progress"], result["output"]) == ("wait", {"value": "0%"}, {})
        assert result["process_time"] == 0
        assert set(result["user"]) == h.ZHIPU_USER
        parsedate_to_datetime(result["created_at"])  # RFC 1123: "Fri, 16 Jul 2021 09:11:31 GMT"
        ids[app] = zhipu.parse_submit(response)
        assert re.fullmatch(f"[0-9a-f]{{{id_length}}}", ids[app])

    clock.advance(LATENCY + 1)
    now = datetime.now(timezone.utc)
    response, body = exchange(
        session, base_url, zhipu.build_status(ids["cogview"], "cogview", derived["cogview"], 0.0)
    )
    result = body["result"]
    assert set(result) >= h.ZHIPU_COGVIEW_DONE
    assert result["status"] == "finish"
    assert isinstance(result["process_time"], float)
    assert result["process_time"] > 0
    assert parsedate_to_datetime(result["updated_at"]) > parsedate_to_datetime(result["created_at"])
    assert [type(url) for url in result["output"]] == [str] * 4
    status = zhipu.parse_status(response, job_id=ids["cogview"], app="cogview", now=now)
    assert [output.url for output in status.outputs] == result["output"]

    response, body = exchange(
        session,
        base_url,
        zhipu.build_status(ids["news_generate"], "news_generate", derived["news_generate"], 0.0),
    )
    assert set(body["result"]["output"]) == {"text"}
    status = zhipu.parse_status(response, job_id=ids["news_generate"], app="news_generate", now=now)
    assert status.outputs[0].text == body["result"]["output"]["text"]


def test_zhipu_keys_derived_for_the_other_api_are_refused_with_10001(
    simulator: SimulatorServer, session: requests.Session
) -> None:
    news_keys = zhipu.derive_keys(
        "news_generate", h.ZHIPU["app_key"], h.ZHIPU["app_secret"], h.ZHIPU["des3_key"]
    )
    request = zhipu.build_submit("cogview", zhipu.validate("cogview", COGVIEW), news_keys, 0.0)
    response = send(session, simulator.url, request, 10)
    with pytest.raises(AigcAuthError) as raised:
        zhipu.parse_submit(response)
    assert raised.value.code == "10001"
    assert h.vendor_stats(simulator, "zhipu")["submissions"]["count"] == 0


def test_baidu_raw_answers_carry_the_documented_fields(
    simulator: SimulatorServer, clock: SimClock, session: requests.Session
) -> None:
    url = simulator.url
    token_request = baidu.build_token_request(h.BAIDU["api_key"], h.BAIDU["secret_key"])
    token = baidu.parse_token(send(session, url, token_request, 10), clock())
    assert token.expires_at == pytest.approx(clock() + 30 * 86400, abs=60)  # 30 days

    request = baidu.build_submit("txt2imgv2", baidu.validate("txt2imgv2", ERNIE), token, 0.0)
    response, body = exchange(session, url, request)
    assert set(body) == h.BAIDU_ENVELOPE
    assert set(body["data"]) == h.BAIDU_SUBMIT_DATA
    primary, task_id = body["data"]["primary_task_id"], body["data"]["task_id"]
    assert (type(primary), type(task_id), str(primary)) == (int, str, task_id)
    assert baidu.parse_submit(response) == task_id

    _, body = exchange(session, url, baidu.build_status(task_id, "txt2imgv2", token, 0.0))
    assert set(body) == h.BAIDU_ENVELOPE
    assert set(body["data"]) >= h.BAIDU_TASK
    assert (body["data"]["task_status"], body["data"]["task_progress"]) == ("INIT", 0)

    blocked_params = baidu.validate("txt2imgv2", {"prompt": MODERATED, "image_num": 4})
    _, body = exchange(session, url, baidu.build_submit("txt2imgv2", blocked_params, token, 0.0))
    _, body = exchange(session, url, baidu.build_status(body["data"]["task_id"], "txt2imgv2", token, 0.0))
    blocked = body["data"]  # the document's second getImgv2 example, field for field
    assert (blocked["task_status"], blocked["task_progress"]) == ("FAILED", 1)
    assert [set(sub) for sub in blocked["sub_task_result_list"]] == [h.BAIDU_SUB_TASK_FAILED] * 4
    assert [
        (sub["sub_task_error_code"], sub["sub_task_progress"], sub["sub_task_status"])
        for sub in blocked["sub_task_result_list"]
    ] == [(501, 0, "FAILED")] * 4

    clock.advance(LATENCY + 1)
    response, body = exchange(session, url, baidu.build_status(task_id, "txt2imgv2", token, 0.0))
    data = body["data"]
    assert set(data) >= h.BAIDU_TASK
    assert (data["task_status"], data["task_progress"], data["task_id"]) == ("SUCCESS", 1, primary)
    subs = data["sub_task_result_list"]
    assert [set(sub) >= h.BAIDU_SUB_TASK_DONE for sub in subs] == [True] * ERNIE["image_num"]
    assert [(sub["sub_task_status"], sub["sub_task_progress"]) for sub in subs] == [("SUCCESS", 1)] * 3
    assert [[set(image) for image in sub["final_image_list"]] for sub in subs] == [[h.BAIDU_IMAGE]] * 3
    status = baidu.parse_status(response, job_id=task_id, app="txt2imgv2", now=datetime.now(timezone.utc))
    assert [output.url for output in status.outputs] == [
        sub["final_image_list"][0]["img_url"] for sub in subs
    ]


def test_jumdata_raw_answers_carry_the_documented_fields(
    simulator: SimulatorServer, clock: SimClock, session: requests.Session
) -> None:
    url = simulator.url
    keys = jumdata.JumdataCredentials(h.JUMDATA["app_id"], h.JUMDATA["app_secret"])
    draw = jumdata.validate("ai_draw", DRAW)

    response, body = exchange(session, url, jumdata.build_submit("ai_draw", draw, keys, clock()))
    assert set(body) == h.JUMDATA_ENVELOPE
    assert (body["code"], body["msg"], body["charge"], set(body["data"])) == (200, "成功", True, {"taskId"})
    assert re.fullmatch(r"[0-9]{24}", body["taskNo"])
    task_id = jumdata.parse_submit(response)

    moderated = {**draw, "text": MODERATED}
    _, body = exchange(session, url, jumdata.build_submit("ai_draw", moderated, keys, clock()))
    assert set(body) == h.JUMDATA_ERROR  # the document's failure example: no data
    assert (body["code"], body["charge"]) == (202, False)

    _, body = exchange(session, url, jumdata.build_status(task_id, "ai_draw", keys, clock()))
    assert set(body) == h.JUMDATA_ENVELOPE
    assert set(body["data"]) == h.JUMDATA_QUERY_DATA
    assert (body["data"]["status"], body["data"]["img"], body["data"]["imgUrls"]) == (0, "", [])
    assert body["charge"] is False  # "查询结果接口不计费"

    clock.advance(LATENCY + 1)
    response, body = exchange(session, url, jumdata.build_status(task_id, "ai_draw", keys, clock()))
    data = body["data"]
    assert set(data) == h.JUMDATA_QUERY_DATA
    assert data["status"] == 1
    assert [set(item) for item in data["imgUrls"]] == [{"image"}] * DRAW["num"]
    assert data["img"] == data["imgUrls"][0]["image"]  # "生产多张时,取第一张图"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", data["createTime"])
    status = jumdata.parse_status(response, job_id=task_id, app="ai_draw", now=datetime.now(timezone.utc))
    assert [output.url for output in status.outputs] == [item["image"] for item in data["imgUrls"]]
