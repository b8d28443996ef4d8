"""The soak driver: many jobs across the vendors, faults of every kind injected, driven through the
hooks (submit), the trigger (wait) and the archive copier with bounded concurrency, the way the
operators, the triggerer and Airflow's task retries would drive them.

Each job carries a unique prompt, so the simulator's submission list tells exactly how often each
job was bought. Airflow task retries are modelled: an error whose class is not ``fail_fast`` (and
any S3/botocore error) gets the task tried again, up to ``TASK_TRIES`` times; a submit retry after
the vendor accepted the job reuses it (the operator's task_state_store), so it never resubmits.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import BotoCoreError, ClientError

from airflow_provider_aigc.archive.copier import ArchiveCopier
from airflow_provider_aigc.archive.url_policy import UrlPolicy
from airflow_provider_aigc.exceptions import AigcError
from airflow_provider_aigc.hooks.session import close_sessions
from airflow_provider_aigc.triggers.events import JobEvent
from airflow_provider_aigc.triggers.job import AigcJobTrigger
from tests.reliability.helpers import ALL_APPS, SleepRecorder, VendorCase, make_hook

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_aigc.models import JobStatus
    from tests.conftest import SimulatorServer

# retries=4: a job meets several independent 5 % faults per try (CogView downloads four images).
TASK_TRIES = 5
MAX_OBJECT_BYTES = 1024 * 1024
SHORT_TTL_CONN = "aigc_zhipu_short_ttl"
MODERATION_WORD = "违禁"
# Outcomes a job may end with when a fault makes success impossible (or unknowable) for it.
CANNOT_SUCCEED = frozenset(
    {
        "AigcSubmitUnconfirmedError",  # the submit's answer was lost: buying again could pay twice
        "AigcContentRejectedError",  # moderated prompt
        "AigcJobFailedError",  # the vendor failed the job
        "AigcOutputExpiredError",  # archived after the URL's expiry
        "AigcInvalidRequestError",  # an endless body cut at the size cap
        "AigcQuotaExceededError",  # a period quota, every task try
    }
)


def fault_config(rate: float) -> dict[str, Any]:
    """Every fault kind the simulator offers, each firing once for sure and then with ``rate``
    split among the faults of that request kind."""

    def rules(names: dict[str, dict[str, Any]]) -> dict[str, Any]:
        share = rate / len(names)
        return {name: {"probability": share, "next": 1, **extra} for name, extra in names.items()}

    calls: dict[str, dict[str, Any]] = {
        "http_5xx": {"status": 503},
        "slow": {"delay": 3.0},  # past the soak connections' 2 s client timeout
        "malformed": {},
        "rate_limit": {},
    }
    downloads: dict[str, dict[str, Any]] = {
        "http_5xx": {"status": 502},
        "slow": {"delay": 0.3},
        "truncate": {},
        "endless": {},
    }
    faults: dict[str, Any] = {}
    for vendor, quota_code in (("zhipu", 10004), ("baidu", 17), ("jumdata", None), ("bigmodel", 1304)):
        submit = dict(calls)
        status = dict(calls)
        if quota_code is not None:
            submit["quota"] = {"code": quota_code}
            status["quota"] = {"code": quota_code}
        if vendor in ("zhipu", "baidu", "bigmodel"):
            submit["job_failure"] = {}
        faults[vendor] = {"submit": rules(submit), "status": rules(status), "download": rules(downloads)}
    faults["baidu"]["token"] = rules({"http_5xx": {"status": 500}, "malformed": {}})
    faults["baidu"]["submit"]["partial_failure"] = {"probability": rate / 7, "next": 1}
    return faults


class FinalFailure(Exception):
    """A failure Airflow would not retry although its class allows it (the sensor fails a job
    the vendor failed without using its retries)."""

    def __init__(self, error: AigcError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass
class JobRecord:
    index: int
    case: VendorCase
    prompt: str
    conn_id: str
    late_archive: bool = False
    job_id: str | None = None
    outcome: str = "pending"
    error: str | None = None
    message: str | None = None
    stage: str | None = None
    tries: Counter[str] = field(default_factory=Counter)
    manifest_key: str | None = None


class S3Faults:
    """A botocore hook failing a share of S3 writes with 500 (botocore's own retries see them)."""

    def __init__(self, rate: float, seed: int) -> None:
        self.rate = rate
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.injected = 0

    def __call__(self, request: Any, **kwargs: Any) -> AWSResponse | None:
        with self.lock:
            fire = self.random.random() < self.rate
            self.injected += fire
        if not fire:
            return None
        return AWSResponse(request.url, 500, {}, _Body(b"<Error><Code>InternalError</Code></Error>"))


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **kwargs: Any) -> Any:
        yield self._body

    def read(self, *args: Any) -> bytes:
        body, self._body = self._body, b""
        return body


class TriggerLoop:
    """One event loop in a thread running triggers, as a triggerer does."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="soak-triggerer", daemon=True)
        self.thread.start()

    def run(self, trigger: AigcJobTrigger, timeout: float) -> list[Any]:
        async def collect() -> list[Any]:
            return [event async for event in trigger.run()]

        return asyncio.run_coroutine_threadsafe(collect(), self.loop).result(timeout)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(close_sessions(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)
        self.loop.close()


async def _short_sleep(seconds: float) -> None:
    await asyncio.sleep(min(seconds, 0.1))


class SoakRun:
    """Drives ``jobs`` jobs to archive or classified failure; ``figures()`` summarises the run."""

    def __init__(
        self,
        simulator: SimulatorServer,
        s3_client: Callable[[], Any],
        bucket: str,
        *,
        jobs: int,
        concurrency: int,
        fault_rate: float,
        seed: int,
    ) -> None:
        self.simulator = simulator
        self.make_client = s3_client
        self.bucket = bucket
        self.prefix = f"soak/{uuid.uuid4().hex[:10]}"
        self.concurrency = concurrency
        self.fault_rate = fault_rate
        self.random = random.Random(seed)
        self.s3_faults = S3Faults(fault_rate / 2, seed)
        self.backoffs = SleepRecorder()
        self.records = [self._record(index) for index in range(jobs)]
        self.triggers = TriggerLoop()
        self._local = threading.local()
        self.elapsed = 0.0

    def _record(self, index: int) -> JobRecord:
        case = ALL_APPS[index % len(ALL_APPS)]
        round_ = index // len(ALL_APPS)
        prompt = f"soak {index} {uuid.uuid4().hex[:8]}"
        if case.vendor in ("baidu", "jumdata", "bigmodel") and round_ % 30 == 7:  # about 3 % of their prompts
            prompt = f"{MODERATION_WORD} {prompt}"
        late = case.app == "cogview" and round_ % 20 == 3  # 5 % of CogView jobs archived too late
        conn_id = SHORT_TTL_CONN if late else f"aigc_{case.vendor}_default"
        return JobRecord(index, case, prompt, conn_id, late_archive=late)

    # --- stages ------------------------------------------------------------------------------

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self.make_client()
            for operation in ("PutObject", "UploadPart", "CompleteMultipartUpload"):
                client.meta.events.register(f"before-send.s3.{operation}", self.s3_faults)
            self._local.client = client
        return client

    def _retrying(self, record: JobRecord, stage: str, call: Callable[[], Any]) -> Any:
        """``call`` as an Airflow task with retries: fail_fast errors end it at once."""
        for attempt in range(1, TASK_TRIES + 1):
            record.tries[stage] += 1
            try:
                return call()
            except AigcError as error:
                if error.fail_fast or attempt == TASK_TRIES:
                    raise
            except (BotoCoreError, ClientError):
                if attempt == TASK_TRIES:
                    raise
        raise AssertionError("unreachable")

    def _submit(self, record: JobRecord) -> str:
        hook = make_hook(record.case.vendor, self.backoffs, conn_id=record.conn_id)
        return hook.submit(record.case.app, record.case.params(record.prompt)).job_id

    def _wait(self, record: JobRecord) -> JobStatus:
        assert record.job_id is not None
        trigger = AigcJobTrigger(
            conn_id=record.conn_id,
            vendor=record.case.vendor,
            app=record.case.app,
            job_id=record.job_id,
            poll_interval=0.1,
            end_time=time.time() + 90,
            sleep=_short_sleep,
        )
        (event,) = self.triggers.run(trigger, timeout=120)
        result = JobEvent.from_payload(json.loads(json.dumps(event.payload)))
        if result.status == "success" and result.job is not None:
            return result.job
        if result.status == "timeout":
            raise AssertionError(f"job {record.job_id} timed out: {result.message}")
        if result.job is not None:  # the vendor failed the job: the sensor skips its retries
            raise FinalFailure(result.to_error())
        raise result.to_error()

    def _archive(self, record: JobRecord, job: JobStatus) -> str:
        ttl = 1.0 if record.late_archive else None
        copier = ArchiveCopier(
            self._client(),
            bucket=self.bucket,
            prefix=self.prefix,
            policy=UrlPolicy(allow_private=True),
            max_object_bytes=MAX_OBJECT_BYTES,
            timeout=5.0,
            output_ttl_seconds=ttl,
        )
        return copier.archive(job).manifest_key

    def _drive(self, record: JobRecord) -> None:
        try:
            record.stage = "submit"
            record.job_id = self._retrying(record, "submit", lambda: self._submit(record))
            record.stage = "wait"
            job = self._retrying(record, "wait", lambda: self._wait(record))
            if record.late_archive:
                time.sleep(1.2)  # the archive task starts after the outputs expired
            record.stage = "archive"
            record.manifest_key = self._retrying(record, "archive", lambda: self._archive(record, job))
            record.outcome = "archived"
        except FinalFailure as final:
            record.outcome, record.error, record.message = (
                "failed",
                type(final.error).__name__,
                final.error.message,
            )
        except AigcError as error:
            record.outcome, record.error, record.message = "failed", type(error).__name__, error.message
        except (BotoCoreError, ClientError) as error:
            record.outcome, record.error, record.message = "failed", type(error).__name__, str(error)

    def run(self) -> None:
        started = time.monotonic()
        try:
            with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="soak") as pool:
                list(pool.map(self._drive, self.records))
        finally:
            self.triggers.close()
            self.elapsed = time.monotonic() - started

    # --- verification ------------------------------------------------------------------------

    def stored(self) -> dict[str, int]:
        client = self.make_client()
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix + "/")
        return {item["Key"]: int(item["Size"]) for page in pages for item in page.get("Contents", [])}

    def verify_manifests(self, stored: dict[str, int]) -> tuple[list[str], list[str]]:
        """(problems with archived jobs' manifests, objects no manifest lists)."""
        client = self.make_client()
        problems: list[str] = []
        listed: set[str] = set()
        manifests = {key for key in stored if key.endswith("/manifest.json")}
        for record in self.records:
            if record.outcome != "archived":
                continue
            if record.manifest_key not in manifests:
                problems.append(f"job {record.index}: no manifest at {record.manifest_key}")
                continue
            manifest = json.loads(
                client.get_object(Bucket=self.bucket, Key=record.manifest_key)["Body"].read()
            )
            if (manifest["vendor"], manifest["job_id"]) != (record.case.vendor, record.job_id):
                problems.append(f"job {record.index}: manifest of another job")
            if not manifest["objects"]:
                problems.append(f"job {record.index}: manifest lists no objects")
            for item in manifest["objects"]:
                listed.add(item["key"])
                body = client.get_object(Bucket=self.bucket, Key=item["key"])["Body"].read()
                if (len(body), hashlib.sha256(body).hexdigest()) != (item["size"], item["sha256"]):
                    problems.append(f"job {record.index}: {item['key']} differs from its manifest")
        orphans = sorted(key for key in stored if key not in manifests and key not in listed)
        return problems, orphans

    def _failure_of(self, key: str) -> str:
        """The outcome of the job an object belongs to (by the job id in its key)."""
        for record in self.records:
            if record.job_id and f"/{record.job_id}/" in key:
                return f"{record.stage}:{record.error or record.outcome}"
        return "unknown job"

    def submissions_by_prompt(self) -> Counter[str]:
        mine = {record.prompt for record in self.records}
        counts: Counter[str] = Counter()
        for data in self.simulator.stats()["vendors"].values():
            for job in data["submissions"]["jobs"]:
                if job.get("prompt") in mine:
                    counts[job["prompt"]] += 1
        return counts

    def figures(self) -> dict[str, Any]:
        stored = self.stored()
        problems, orphans = self.verify_manifests(stored)
        bought = self.submissions_by_prompt()
        vendors = self.simulator.stats()["vendors"]
        failures = Counter(record.error for record in self.records if record.outcome == "failed")
        kinds: Counter[str] = Counter()
        for data in vendors.values():
            kinds.update({key: int(n) for key, n in data["errors_injected"].items() if key != "total"})
        return {
            "jobs": len(self.records),
            "archived": sum(record.outcome == "archived" for record in self.records),
            "failed": dict(sorted(failures.items())),
            "failed_unexpectedly": sorted(
                f"{record.index}:{record.case}:{record.stage}:{record.error}: {record.message}"
                for record in self.records
                if record.outcome == "failed" and record.error not in CANNOT_SUCCEED
            ),
            "moderated_prompts": sum(MODERATION_WORD in record.prompt for record in self.records),
            "late_archives": sum(record.late_archive for record in self.records),
            "submissions": sum(bought.values()),
            "jobs_with_a_known_id": sum(record.job_id is not None for record in self.records),
            "duplicate_submissions": sum(count - 1 for count in bought.values() if count > 1),
            "archived_without_exactly_one_submission": sum(
                bought[record.prompt] != 1 for record in self.records if record.outcome == "archived"
            ),
            "objects": len(stored),
            "manifests": sum(key.endswith("/manifest.json") for key in stored),
            "objects_without_manifest": len(orphans),
            "orphans_left_by": dict(sorted(Counter(self._failure_of(key) for key in orphans).items())),
            "manifest_problems": problems,
            "vendor_requests": self.simulator.stats()["requests_total"],
            "vendor_faults_injected": sum(
                int(data["errors_injected"].get("total", 0)) for data in vendors.values()
            ),
            "vendor_faults_by_kind": dict(sorted(kinds.items())),
            "s3_faults_injected": self.s3_faults.injected,
            "task_retries": sum(sum(record.tries.values()) - len(record.tries) for record in self.records),
            "hook_backoffs": len(self.backoffs.delays),
            "seconds": round(self.elapsed, 1),
            "jobs_per_second": round(len(self.records) / self.elapsed, 1) if self.elapsed else None,
        }
