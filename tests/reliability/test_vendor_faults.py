"""Vendor faults through the hooks, for every vendor, against the simulator's fault knobs.

The rule under test everywhere: a submit is repeated only when the vendor proved it did not take
the job, so whatever the fault, the simulator never holds two jobs for one submit call; status
reads are repeated freely. Every failure is a classified ``AigcError`` whose message says what to do.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING

import pytest

from airflow_provider_aigc.exceptions import (
    AigcAuthError,
    AigcConcurrencyLimitError,
    AigcContentRejectedError,
    AigcError,
    AigcInvalidRequestError,
    AigcJobFailedError,
    AigcQuotaExceededError,
    AigcServerError,
    AigcSubmitUnconfirmedError,
    AigcUnknownJobError,
)
from airflow_provider_aigc.models import JobState
from tests.reliability.conftest import connection_env
from tests.reliability.helpers import (
    BAIDU,
    JUMDATA,
    VENDORS,
    ZHIPU,
    LeakScanner,
    SleepRecorder,
    VendorCase,
    fault,
    injected,
    make_hook,
    stats,
    submissions,
    wait_for_terminal,
    wait_until,
)

if TYPE_CHECKING:
    from tests.conftest import SimulatorServer

by_vendor = pytest.mark.parametrize("case", VENDORS, ids=str)
SCANNER = LeakScanner()


def prompt() -> str:
    return f"山水画 {uuid.uuid4().hex[:8]}"


def assert_clean(error: AigcError) -> None:
    """A classified error that leaks nothing and says what happened."""
    assert not SCANNER.leaks(str(error)), SCANNER.leaks(str(error))
    assert error.message.strip()


def jobs_with(simulator: SimulatorServer, case: VendorCase, text: str) -> int:
    return sum(1 for job in submissions(simulator, case.vendor) if job.get("prompt") == text)


# --- 5xx -----------------------------------------------------------------------------------------


@pytest.mark.scenario("vendor.5xx-burst")
@by_vendor
def test_5xx_on_submit_is_never_resent(sim: SimulatorServer, case: VendorCase) -> None:
    """A 5xx page proves nothing about the job (a gateway may send it after the vendor took it),
    so even when, as here, the simulator refused before any work, the submit is not repeated."""
    sim.config(fault(case.vendor, "submit", "http_5xx", next=2, status=503))
    sleeps = SleepRecorder()
    text = prompt()
    with pytest.raises(AigcSubmitUnconfirmedError, match="HTTP 503") as caught:
        make_hook(case.vendor, sleeps).submit(case.app, case.params(text))
    assert_clean(caught.value)
    assert caught.value.fail_fast
    assert injected(sim, case.vendor, "submit.http_5xx") == 1
    assert jobs_with(sim, case, text) == 0
    assert sleeps.delays == []


@pytest.mark.scenario("vendor.5xx-burst")
@by_vendor
async def test_5xx_burst_on_status_is_ridden_out_async(sim: SimulatorServer, case: VendorCase) -> None:
    hook = make_hook(case.vendor)
    job = hook.submit(case.app, case.params(prompt()))
    sim.config(fault(case.vendor, "status", "http_5xx", next=3, status=502))
    status = await hook.aget_status(job.job_id, case.app)
    assert status.job_id == job.job_id
    assert status.state in JobState
    assert injected(sim, case.vendor, "status.http_5xx") == 3


@pytest.mark.scenario("vendor.5xx-persistent")
@by_vendor
def test_5xx_outlasting_the_retries_is_a_server_error(sim: SimulatorServer, case: VendorCase) -> None:
    sleeps = SleepRecorder()
    text = prompt()
    hook = make_hook(case.vendor, sleeps)
    job = hook.submit(case.app, case.params(text))
    sim.config(fault(case.vendor, "status", "http_5xx", probability=1.0, status=500))
    with pytest.raises(AigcServerError, match="HTTP 500") as caught:
        hook.get_status(job.job_id, case.app)
    assert type(caught.value) is AigcServerError
    assert_clean(caught.value)
    assert jobs_with(sim, case, text) == 1
    # one attempt plus the connection's max_retries (3), then it gives up
    assert injected(sim, case.vendor, "status.http_5xx") == 4
    assert len(sleeps.delays) == 3


# --- slow answers --------------------------------------------------------------------------------


@pytest.mark.scenario("vendor.slow-response")
@by_vendor
def test_slow_submit_past_the_timeout_is_never_resent(
    sim: SimulatorServer, case: VendorCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in connection_env(sim.url, timeout=0.5).items():
        monkeypatch.setenv(name, value)
    sim.config(fault(case.vendor, "submit", "slow", next=1, delay=2.0))
    sleeps = SleepRecorder()
    text = prompt()
    with pytest.raises(AigcSubmitUnconfirmedError, match="not repeated") as caught:
        make_hook(case.vendor, sleeps).submit(case.app, case.params(text))
    assert_clean(caught.value)
    assert caught.value.fail_fast, "an Airflow task retry must not buy the job again either"
    assert sleeps.delays == []
    # The vendor may still take the job once the slow answer completes; never twice.
    wait_until(lambda: jobs_with(sim, case, text) >= 1, attempts=60)
    assert jobs_with(sim, case, text) <= 1


@pytest.mark.scenario("vendor.slow-response")
@by_vendor
async def test_slow_status_past_the_timeout_is_retried(
    sim: SimulatorServer, case: VendorCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in connection_env(sim.url, timeout=0.5).items():
        monkeypatch.setenv(name, value)
    hook = make_hook(case.vendor)
    job = hook.submit(case.app, case.params(prompt()))
    sim.config(fault(case.vendor, "status", "slow", next=1, delay=2.0))
    status = await hook.aget_status(job.job_id, case.app)
    assert status.job_id == job.job_id
    assert injected(sim, case.vendor, "status.slow") == 1


# --- malformed JSON ------------------------------------------------------------------------------


@pytest.mark.scenario("vendor.malformed-json")
@by_vendor
def test_malformed_submit_answer_is_not_resent(sim: SimulatorServer, case: VendorCase) -> None:
    sim.config(fault(case.vendor, "submit", "malformed", next=1))
    sleeps = SleepRecorder()
    text = prompt()
    with pytest.raises(AigcSubmitUnconfirmedError) as caught:
        make_hook(case.vendor, sleeps).submit(case.app, case.params(text))
    assert_clean(caught.value)
    assert "vendor" in caught.value.message
    assert "again" in caught.value.message
    # The simulator took the job before cutting its answer: exactly one, never a second.
    assert jobs_with(sim, case, text) == 1
    assert sleeps.delays == []


@pytest.mark.scenario("vendor.malformed-json")
@by_vendor
async def test_malformed_status_answers_are_retried(sim: SimulatorServer, case: VendorCase) -> None:
    hook = make_hook(case.vendor)
    job = hook.submit(case.app, case.params(prompt()))
    sim.config(fault(case.vendor, "status", "malformed", next=2))
    status = await hook.aget_status(job.job_id, case.app)
    assert status.job_id == job.job_id
    assert injected(sim, case.vendor, "status.malformed") == 2


@pytest.mark.scenario("vendor.malformed-json")
@by_vendor
def test_status_malformed_beyond_the_retries_is_a_server_error(
    sim: SimulatorServer, case: VendorCase
) -> None:
    hook = make_hook(case.vendor)
    job = hook.submit(case.app, case.params(prompt()))
    sim.config(fault(case.vendor, "status", "malformed", probability=1.0))
    with pytest.raises(AigcServerError) as caught:
        hook.get_status(job.job_id, case.app)
    assert caught.value.retryable
    assert_clean(caught.value)


# --- rate limits and quotas ----------------------------------------------------------------------

RATE_LIMITS = [(case, code) for case in VENDORS for code in case.rate_limit_codes]
QUOTAS = [(case, code) for case in VENDORS for code in case.quota_codes]


@pytest.mark.scenario("vendor.rate-limit")
@pytest.mark.parametrize(("case", "code"), RATE_LIMITS, ids=lambda v: str(v))
def test_rate_limited_submit_is_retried_and_buys_one_job(
    sim: SimulatorServer, case: VendorCase, code: int
) -> None:
    sim.config(fault(case.vendor, "submit", "rate_limit", next=2, code=code))
    sleeps = SleepRecorder()
    text = prompt()
    job = make_hook(case.vendor, sleeps).submit(case.app, case.params(text))
    assert job.job_id
    assert jobs_with(sim, case, text) == 1
    assert len(sleeps.delays) == 2
    # The limits are counted per second: no retry lands in the window that refused it.
    assert min(sleeps.delays) >= 1.0, sleeps.delays


@pytest.mark.scenario("vendor.rate-limit")
@by_vendor
async def test_rate_limited_status_is_retried_async(sim: SimulatorServer, case: VendorCase) -> None:
    hook = make_hook(case.vendor)
    job = hook.submit(case.app, case.params(prompt()))
    sim.config(fault(case.vendor, "status", "rate_limit", next=2, code=case.rate_limit_codes[-1]))
    status = await hook.aget_status(job.job_id, case.app)
    assert status.job_id == job.job_id
    assert injected(sim, case.vendor, "status.rate_limit") == 2


@pytest.mark.scenario("vendor.concurrency")
def test_concurrency_refusal_is_not_retried_in_the_call(sim: SimulatorServer) -> None:
    """Baidu's documented concurrency limit (2 unfinished jobs, code 15): the third submit is
    refused at once, proven not bought; the task waits for capacity deferred, not in the hook."""
    sim.config({"latency": {"txt2imgv2": 60.0}})
    sleeps = SleepRecorder()
    hook = make_hook("baidu", sleeps)
    jobs = [hook.submit(BAIDU.app, BAIDU.params(prompt())) for _ in range(2)]
    with pytest.raises(AigcConcurrencyLimitError, match="15") as caught:
        hook.submit(BAIDU.app, BAIDU.params(prompt()))
    assert_clean(caught.value)
    assert (caught.value.refused, sleeps.delays) == (True, [])
    assert len({job.job_id for job in jobs}) == len(submissions(sim, "baidu")) == 2
    assert stats(sim, "baidu")["rejections"] == {"15": 1}


@pytest.mark.scenario("vendor.quota")
@pytest.mark.parametrize(("case", "code"), QUOTAS, ids=lambda v: str(v))
def test_period_quota_is_not_retried(sim: SimulatorServer, case: VendorCase, code: int) -> None:
    sim.config(fault(case.vendor, "submit", "quota", next=1, code=code))
    sleeps = SleepRecorder()
    text = prompt()
    # DashScope's codes are strings, picked by number in the simulator: its quota codes' names.
    named = {4001: "Arrearage", 4031: "AllocationQuota.FreeTierOnly"} if case.vendor == "dashscope" else {}
    with pytest.raises(AigcQuotaExceededError, match=re.escape(named.get(code, str(code)))) as caught:
        make_hook(case.vendor, sleeps).submit(case.app, case.params(text))
    assert_clean(caught.value)
    assert sleeps.delays == []
    assert jobs_with(sim, case, text) == 0


@pytest.mark.scenario("vendor.quota")
@pytest.mark.parametrize(("case", "code"), QUOTAS, ids=lambda v: str(v))
async def test_period_quota_on_status_is_not_retried(
    sim: SimulatorServer, case: VendorCase, code: int
) -> None:
    sleeps = SleepRecorder()
    hook = make_hook(case.vendor, sleeps)
    job = hook.submit(case.app, case.params(prompt()))
    sim.config(fault(case.vendor, "status", "quota", next=1, code=code))
    with pytest.raises(AigcQuotaExceededError):
        await hook.aget_status(job.job_id, case.app)
    assert sleeps.delays == []


# --- Baidu token expiry --------------------------------------------------------------------------


@pytest.mark.scenario("vendor.token-expiry")
def test_expired_token_is_refreshed_once_sync(sim: SimulatorServer) -> None:
    sim.config({"token_max_calls": 1})
    hook = make_hook("baidu")
    text = prompt()
    job = hook.submit(BAIDU.app, BAIDU.params(text))  # call 1 with token 1
    status = hook.get_status(job.job_id, BAIDU.app)  # token 1 expired: 111, new token, call again
    assert status.job_id == job.job_id
    assert stats(sim, "baidu")["tokens_issued"] == 2
    assert stats(sim, "baidu")["rejections"].get("111") == 1
    assert jobs_with(sim, BAIDU, text) == 1


@pytest.mark.scenario("vendor.token-expiry")
async def test_expired_token_is_refreshed_once_async(sim: SimulatorServer) -> None:
    sim.config({"token_max_calls": 1})
    hook = make_hook("baidu")
    job = hook.submit(BAIDU.app, BAIDU.params(prompt()))
    first = await hook.aget_status(job.job_id, BAIDU.app)
    second = await hook.aget_status(job.job_id, BAIDU.app)
    assert first.job_id == second.job_id == job.job_id
    assert stats(sim, "baidu")["tokens_issued"] == 3
    assert stats(sim, "baidu")["rejections"].get("111") == 2


@pytest.mark.scenario("vendor.token-expiry")
def test_expired_token_on_submit_is_refreshed_without_buying_twice(sim: SimulatorServer) -> None:
    sim.config({"token_max_calls": 1})
    hook = make_hook("baidu")
    first, second = prompt(), prompt()
    hook.submit(BAIDU.app, BAIDU.params(first))
    hook.submit(BAIDU.app, BAIDU.params(second))  # token expired: 111 -> refresh -> resubmit (safe: 111)
    assert jobs_with(sim, BAIDU, first) == jobs_with(sim, BAIDU, second) == 1


@pytest.mark.scenario("vendor.token-expiry")
def test_token_endpoint_trouble_is_retried(sim: SimulatorServer) -> None:
    sim.config(fault("baidu", "token", "http_5xx", next=2))
    sleeps = SleepRecorder()
    job = make_hook("baidu", sleeps).submit(BAIDU.app, BAIDU.params(prompt()))
    assert job.job_id
    assert len(sleeps.delays) == 2
    assert injected(sim, "baidu", "token.http_5xx") == 2


# --- moderation, job failure, unknown jobs, credentials ------------------------------------------


@pytest.mark.scenario("vendor.moderation-prompt")
def test_baidu_moderated_prompt_fails_the_job_as_content_rejected(sim: SimulatorServer) -> None:
    hook = make_hook("baidu")
    job = hook.submit(BAIDU.app, BAIDU.params("一幅违禁的画"))
    status = wait_for_terminal(hook, job.job_id, BAIDU.app)
    assert status.state is JobState.FAILED
    assert status.error is not None
    assert (status.error.type, status.error.code) == ("AigcContentRejectedError", "501")


@pytest.mark.scenario("vendor.moderation-prompt")
def test_jumdata_moderated_prompt_is_rejected_at_submit(sim: SimulatorServer) -> None:
    sleeps = SleepRecorder()
    with pytest.raises(AigcContentRejectedError, match="202") as caught:
        make_hook("jumdata", sleeps).submit(JUMDATA.app, JUMDATA.params("一幅违禁的画"))
    assert caught.value.fail_fast
    assert_clean(caught.value)
    assert sleeps.delays == []
    assert submissions(sim, "jumdata") == []


@pytest.mark.scenario("vendor.job-failure")
@pytest.mark.parametrize("case", [ZHIPU, BAIDU], ids=str)
def test_job_failed_at_the_vendor_is_a_classified_failed_status(
    sim: SimulatorServer, case: VendorCase
) -> None:
    sim.config(fault(case.vendor, "submit", "job_failure", next=1))
    hook = make_hook(case.vendor)
    job = hook.submit(case.app, case.params(prompt()))
    status = wait_for_terminal(hook, job.job_id, case.app)
    assert status.state is JobState.FAILED
    assert status.error is not None
    assert status.error.type == AigcJobFailedError.__name__
    assert status.outputs == ()


@pytest.mark.scenario("vendor.job-failure")
def test_baidu_partial_failure_keeps_the_images_that_exist(sim: SimulatorServer) -> None:
    sim.config(fault("baidu", "submit", "partial_failure", next=1))
    hook = make_hook("baidu")
    job = hook.submit(BAIDU.app, {**BAIDU.params(prompt()), "image_num": 3})
    status = wait_for_terminal(hook, job.job_id, BAIDU.app)
    assert status.state is JobState.SUCCEEDED
    assert [output.index for output in status.outputs] == [0, 1]


UNKNOWN_JOB = {
    "zhipu": AigcUnknownJobError,
    "baidu": AigcInvalidRequestError,
    "jumdata": AigcUnknownJobError,
    "bigmodel": AigcUnknownJobError,
    "dashscope": AigcUnknownJobError,
}


@pytest.mark.scenario("vendor.unknown-job")
@by_vendor
async def test_unknown_job_id_is_classified_and_not_retried(sim: SimulatorServer, case: VendorCase) -> None:
    sleeps = SleepRecorder()
    unknown = "1234567890123456789" if case.vendor == "baidu" else "0123456789abcdef0123456789abcdef"
    with pytest.raises(UNKNOWN_JOB[case.vendor]) as caught:
        await make_hook(case.vendor, sleeps).aget_status(unknown, case.app)
    assert caught.value.fail_fast
    assert sleeps.delays == []
    assert_clean(caught.value)


BAD_CREDENTIALS = {
    "zhipu": {"login": "wrong-apikey-123", "password": "wrong-apisecret-456"},
    "baidu": {"login": "demo-baidu-api-key", "password": "wrong-secret-key-789"},
    "jumdata": {"login": "wrong-app-id-000", "password": "demo-jumdata-app-secret"},
    "bigmodel": {"password": "demo-bigmodel-key-id.wrong-secret-000"},
    "dashscope": {"password": "sk-wrong-dashscope-key-000"},
}


@pytest.mark.scenario("vendor.auth")
@by_vendor
def test_wrong_credentials_fail_fast_saying_what_to_fix(
    sim: SimulatorServer, case: VendorCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    name = f"AIRFLOW_CONN_AIGC_{case.vendor.upper()}_DEFAULT"
    connection = json.loads(connection_env(sim.url)[name])
    connection.update(BAD_CREDENTIALS[case.vendor])
    monkeypatch.setenv(name, json.dumps(connection))
    sleeps = SleepRecorder()
    with pytest.raises(AigcAuthError) as caught:
        make_hook(case.vendor, sleeps).submit(case.app, case.params(prompt()))
    assert caught.value.fail_fast
    assert sleeps.delays == []
    scanner = LeakScanner()
    scanner.add("the wrong secret", BAD_CREDENTIALS[case.vendor]["password"])
    assert not scanner.leaks(str(caught.value)), scanner.leaks(str(caught.value))
    assert submissions(sim, case.vendor) == []


@pytest.mark.scenario("security.secrets")
@by_vendor
async def test_malformed_answers_quoted_in_errors_carry_no_url_signature(
    sim: SimulatorServer, case: VendorCase
) -> None:
    """A cut status body is quoted (trimmed) in the error and the retry warning: the output URLs
    inside it must not bring their signatures into the log."""
    hook = make_hook(case.vendor)
    job = hook.submit(case.app, case.params(prompt()))
    done = wait_for_terminal(hook, job.job_id, case.app)
    scanner = LeakScanner()
    scanner.add_url_signatures(output.url or "" for output in done.outputs)
    assert scanner.url_signatures
    sim.config(fault(case.vendor, "status", "malformed", probability=1.0))
    with pytest.raises(AigcServerError) as caught:
        await hook.aget_status(job.job_id, case.app)
    assert not scanner.leaks(str(caught.value)), (scanner.leaks(str(caught.value)), str(caught.value))
