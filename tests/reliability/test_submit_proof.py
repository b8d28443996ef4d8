"""A submit is resent only on proof the vendor did not take it, for every vendor, with real purchases
counted at the simulator (``/_sim/stats``) behind a gateway that breaks the answer after acceptance."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING

import pytest

from airflow_provider_aigc.exceptions import AigcSubmitUnconfirmedError
from airflow_provider_aigc.models import JobState
from tests.reliability.conftest import connection_env
from tests.reliability.gateway import Answer, Gateway, gateway_for
from tests.reliability.helpers import (
    VENDORS,
    LeakScanner,
    SleepRecorder,
    VendorCase,
    fault,
    make_hook,
    submissions,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.conftest import SimulatorServer

SUBMIT_PATHS = {
    "zhipu": "/v1/cogview",
    "baidu": "/rpc/2.0/ernievilg/v1/txt2imgv2",
    "jumdata": "/ai/draw/submit",
    "bigmodel": "/paas/v4/videos/generations",
    "dashscope": "/api/v1/services/aigc/text2image/image-synthesis",
}
# A path ending in "/" stands for every path under it: the job id is part of the status path.
STATUS_PATHS = {
    "zhipu": "/v1/status",
    "baidu": "/rpc/2.0/ernievilg/v1/getImgv2",
    "jumdata": "/ai/draw/query",
    "bigmodel": "/paas/v4/async-result/",
    "dashscope": "/api/v1/tasks/",
}
AFTER_ACCEPT = {
    "gateway-502-html": Answer(502, b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>"),
    "gateway-504-html": Answer(504, b"<html><body><h1>504 Gateway Time-out</h1></body></html>"),
    "5xx-json-without-vendor-code": Answer(
        500, json.dumps({"error": "internal", "message": "upstream closed"}).encode(), "application/json"
    ),
}
by_vendor = pytest.mark.parametrize("case", VENDORS, ids=str)


@pytest.fixture
def gateway(sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    """The default connections point at a gateway in front of the simulator."""
    for item in gateway_for(sim.url):
        for name, value in connection_env(item.url).items():
            monkeypatch.setenv(name, value)
        yield item


def bought(sim: SimulatorServer, case: VendorCase, text: str) -> int:
    """Purchases of this prompt at the simulator."""
    return sum(1 for job in submissions(sim, case.vendor) if job.get("prompt") == text)


def status_calls(gateway: Gateway, case: VendorCase) -> int:
    prefix = STATUS_PATHS[case.vendor]
    return sum(
        path == prefix or (prefix.endswith("/") and path.startswith(prefix)) for path in gateway.forwarded
    )


def prompt() -> str:
    return f"江南水乡 {uuid.uuid4().hex[:8]}"


@pytest.mark.scenario("vendor.5xx-after-accept")
@by_vendor
@pytest.mark.parametrize("answer", list(AFTER_ACCEPT), ids=str)
def test_a_gateway_5xx_after_acceptance_is_unconfirmed_and_bought_once(
    sim: SimulatorServer, gateway: Gateway, case: VendorCase, answer: str
) -> None:
    """Regression: any 5xx on a submit was resent by the hook (and again by task retries)."""
    gateway.replace[SUBMIT_PATHS[case.vendor]] = AFTER_ACCEPT[answer]
    sleeps = SleepRecorder()
    text = prompt()
    with pytest.raises(AigcSubmitUnconfirmedError) as caught:
        make_hook(case.vendor, sleeps).submit(case.app, case.params(text))
    assert caught.value.fail_fast, "an Airflow task retry must not buy it again either"
    assert not caught.value.retryable
    assert "not repeated" in caught.value.message
    assert not LeakScanner().leaks(str(caught.value))
    assert sleeps.delays == []
    assert gateway.forwarded.count(SUBMIT_PATHS[case.vendor]) == 1
    assert bought(sim, case, text) == 1  # purchases: 1


@pytest.mark.scenario("vendor.rate-limit")
@by_vendor
def test_a_rate_limit_envelope_on_submit_is_resent_and_buys_one_job(
    sim: SimulatorServer, gateway: Gateway, case: VendorCase
) -> None:
    sim.config(fault(case.vendor, "submit", "rate_limit", next=1, code=case.rate_limit_codes[0]))
    sleeps = SleepRecorder()
    text = prompt()
    job = make_hook(case.vendor, sleeps).submit(case.app, case.params(text))
    assert job.job_id
    assert gateway.forwarded.count(SUBMIT_PATHS[case.vendor]) == 2
    assert bought(sim, case, text) == 1
    assert len(sleeps.delays) == 1
    assert sleeps.delays[0] >= 1.0  # the rate-limit floor: never back inside the refusing second


@pytest.mark.scenario("vendor.5xx-burst")
@by_vendor
async def test_status_polls_still_retry_a_gateway_5xx(
    sim: SimulatorServer, gateway: Gateway, case: VendorCase
) -> None:
    hook = make_hook(case.vendor)
    job = hook.submit(case.app, case.params(prompt()))
    gateway.replace[STATUS_PATHS[case.vendor]] = AFTER_ACCEPT["gateway-502-html"]
    polls_before = status_calls(gateway, case)

    sleeps = SleepRecorder()

    def heal(seconds: float) -> None:
        sleeps.delays.append(seconds)
        gateway.replace.clear()

    async def aheal(seconds: float) -> None:
        heal(seconds)

    hook._async_sleep = aheal
    status = await hook.aget_status(job.job_id, case.app)
    assert status.job_id == job.job_id
    assert status.state in JobState
    assert status_calls(gateway, case) - polls_before == 2
    assert len(sleeps.delays) == 1
