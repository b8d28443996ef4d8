"""The reliability scenarios, by id: what each one proves. Tests name theirs with
``@pytest.mark.scenario("<id>")``; the conftest tallies outcomes per id (docs/reliability.md)."""

from __future__ import annotations

SCENARIOS: dict[str, str] = {
    # vendor faults through the hooks (every vendor)
    "vendor.5xx-burst": "a burst of 5xx answers is ridden out by backoff; a submit is never resent blindly",
    "vendor.5xx-after-accept": "a gateway 5xx after the vendor took a submit: unconfirmed, purchases: 1",
    "vendor.5xx-persistent": "5xx that outlast the retries end in AigcServerError, no duplicate job",
    "vendor.slow-response": "an answer slower than the client timeout is a classified, retried timeout",
    "vendor.malformed-json": "a cut JSON body is classified; a submit that may have landed is never resent",
    "vendor.rate-limit": "rate-limit codes are retried inside the call and then succeed (one job)",
    "vendor.quota": "period-quota codes raise AigcQuotaExceededError at once (not retried)",
    "vendor.concurrency": "a concurrency refusal (Baidu 15) is raised at once as refused, nothing bought",
    "vendor.token-expiry": "Baidu token expiry (111) refreshes the token once and completes the call",
    "vendor.moderation-prompt": "a moderated prompt ends as AigcContentRejectedError (no retry)",
    "vendor.job-failure": "a job the vendor fails ends as a FAILED status / error event, classified",
    "vendor.unknown-job": "a job id the vendor does not know is AigcUnknownJobError / invalid request",
    "vendor.auth": "wrong credentials are AigcAuthError with a message that says what to fix",
    # trigger
    "trigger.faults": "the trigger rides out transient poll failures and yields exactly one event",
    "trigger.give-up": "a run of failed polls ends in one classified error event",
    "trigger.restart": "a trigger rebuilt from serialize() resumes with the same deadline and job",
    "trigger.duplicate": "two copies of one trigger running at once both yield the same success",
    "trigger.deadline-retry-after": "Retry-After 120 on every call: trigger and sensor end at the deadline",
    "trigger.deadline": "a deadline passed while waiting yields a timeout event, never a hang",
    # archive and S3
    "archive.url-expiry": "an output URL past its expiry: AigcOutputExpiredError, nothing stored",
    "archive.moderation-block": "an image with a `block` verdict is skipped and listed in the manifest",
    "archive.s3-down": "S3 unreachable: classified error, no object and no manifest; a retry completes it",
    "archive.s3-mid-upload": "S3 failing mid-upload: no partial object, multipart aborted, retry completes",
    "archive.download-broken": "a download cut short or past the size cap leaves no object",
    "archive.idempotent": "re-running an archive rewrites nothing and keeps one manifest",
    "archive.rearchive-failure": "a re-archive failing mid-download leaves the previous archive intact",
    "archive.rearchive-commit": "a successful re-archive leaves exactly the new manifest's objects",
    "archive.least-privilege": "a role with only Get/Put/Delete/AbortMultipart archives (no ListBucket)",
    "archive.integrity": "an object corrupted in place (same size) is detected on reuse and copied again",
    # whole-pipeline behaviour
    "pipeline.worker-killed": (
        "a worker killed or timed out around the paid submit never leads to a second purchase:"
        " the retry reuses the job or refuses (unconfirmed)"
    ),
    "pipeline.airflow-faults": "real Airflow runs under vendor faults end archived or failed, classified",
    "pipeline.soak": "N jobs with injected faults: archived with manifest or classified failure, 0 dupes",
    # fuzzing
    "fuzz.vendor-parsers": "vendor parsers fed arbitrary and mutated documented bodies raise only AigcError",
    "fuzz.archive-inputs": "content sniffing, size cap, keys and URL display never break on any input",
    "fuzz.events": "trigger events: any payload is validated or refused with AirflowException",
    "fuzz.operator-input": "any operator parameters validate or raise AigcInvalidRequestError",
    "fuzz.connection-extras": "connection extras, host, credentials, des3_key: in bounds or a named error",
    # security
    "security.secrets": "no credential, derived key, token or signature in logs, XCom, triggers, errors, S3",
    "security.ssrf": (
        "private, loopback, link-local, metadata, non-http URLs and allowlist bypass forms refused"
        " before connecting; the host checked is the host connected to"
    ),
    "security.size-cap": "an endless or oversized body is cut at the cap, with a clear error and no object",
    "security.keys": "vendor ids with ../, slashes, control characters or huge length stay in the prefix",
    "security.bad-input": "bad operator input fails before any paid call, naming the limit",
}
