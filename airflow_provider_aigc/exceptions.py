"""One exception family for every vendor (each vendor's own code table sits in ``vendors/<vendor>.py``).

Callers decide on the *class*, never on message text: ``retryable`` says whether a call may be
repeated inside the hook (with backoff), ``fail_fast`` whether an Airflow task retry is pointless
(the operator then fails without using its retries).
"""

from __future__ import annotations

import re
from typing import ClassVar

MAX_MESSAGE_PAYLOAD = 300


# A URL's query string (with JSON's escaped slashes too): where vendors put signatures and tokens.
_URL_QUERY = re.compile(r"""(https?:(?:\\?/){2}[^\s"'<>?]*)\?[^\s"'<>]*""")


def trim(payload: object, limit: int = MAX_MESSAGE_PAYLOAD) -> str:
    """Shorten a payload for an error message so a huge vendor body never floods a log.

    URL query strings are cut first: vendor bodies carry signed output URLs whose signature must
    not reach a log.
    """
    text = payload.decode("utf-8", "replace") if isinstance(payload, (bytes, bytearray)) else str(payload)
    text = _URL_QUERY.sub(r"\1?<redacted>", text)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"


class AigcError(Exception):
    """Base class of every error this provider raises on purpose."""

    retryable: ClassVar[bool] = False
    fail_fast: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        vendor: str | None = None,
        code: str | int | None = None,
        retry_after: float | None = None,
        refused: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.vendor = vendor
        self.code = None if code is None else str(code)
        self.retry_after = retry_after
        # True only when the vendor's own answer proves it declined the request (a documented
        # rate-limit, quota, validation or auth code): the one case a submit may be sent again.
        self.refused = refused

    def __reduce__(self) -> tuple[object, ...]:
        # Keep keyword-only state when the exception crosses a process boundary (pickle).
        return (_rebuild, (type(self), self.message, self.vendor, self.code, self.retry_after, self.refused))


def _rebuild(
    cls: type[AigcError],
    message: str,
    vendor: str | None,
    code: str | None,
    retry_after: float | None,
    refused: bool = False,
) -> AigcError:
    return cls(message, vendor=vendor, code=code, retry_after=retry_after, refused=refused)


class AigcAuthError(AigcError):
    """Credentials rejected: fix the connection; retrying cannot help."""

    fail_fast = True


class AigcRateLimitError(AigcError):
    """Short-term rate or concurrency limit: the hook backs off and tries again."""

    retryable = True


class AigcConcurrencyLimitError(AigcRateLimitError):
    """The account already runs as many jobs as the vendor allows: the vendor refused the submit
    (nothing was bought), and the same submit may be sent once one of the running jobs finishes.

    Not retried inside the call: waiting for a running job takes minutes, so the task waits for
    capacity deferred rather than backing off in a worker slot.
    """

    retryable = False


class AigcCapacityTimeoutError(AigcError):
    """The task's deadline passed while it waited for a free slot at the vendor; nothing was bought.

    The message says how long it waited and how many jobs were running and waiting ahead of it.
    """

    fail_fast = True


class AigcQuotaExceededError(AigcError):
    """A usage quota (daily, total, balance) is used up: neither waiting nor a task retry brings it
    back; raise the quota with the vendor, or run the task again once the period renews.
    """

    fail_fast = True


class AigcBalanceError(AigcQuotaExceededError):
    """The account's balance is used up (in arrears): top it up; no retry can succeed before that."""

    fail_fast = True


class AigcInvalidRequestError(AigcError):
    """The request breaks a documented limit; raised before any paid call where it can be."""

    fail_fast = True


class AigcContentRejectedError(AigcError):
    """The vendor's moderation blocked the prompt: the same prompt gets the same verdict."""

    fail_fast = True


class AigcJobFailedError(AigcError):
    """The vendor accepted the job and then failed it: a task retry resubmits."""


class AigcServerError(AigcError):
    """Transient vendor trouble (5xx, timeouts, malformed bodies): retried with backoff."""

    retryable = True


class AigcSubmitUnconfirmedError(AigcServerError):
    """A submit got no readable answer after it was sent: the vendor may have accepted (and billed) it.

    Never retried automatically, neither inside the call nor by an Airflow task retry: check the
    vendor's console for the job before running the task again.
    """

    retryable = False
    fail_fast = True


class AigcJobConflictError(AigcError):
    """This task instance already holds a live job bought for another request: buying the new one
    silently could pay twice for a prompt (a reordered mapped list) and would drop the earlier job.
    """

    fail_fast = True


class AigcOutputExpiredError(AigcError):
    """An output URL is past its validity; the output can no longer be fetched."""

    fail_fast = True


class AigcUnknownJobError(AigcError):
    """The vendor does not know this job id (wrong id, wrong account, or past its validity)."""

    fail_fast = True


class DeadlineReached(AigcError):
    """The caller's deadline passed before the call could succeed (``__cause__``: the last failure).

    Sensors and triggers turn it into their timeout outcome; it is never retried.
    """


# Every class above, by name: how a JobError's ``type`` (and a trigger event's) becomes a class again.
EXCEPTION_CLASSES: dict[str, type[AigcError]] = {
    name: value
    for name, value in dict(globals()).items()
    if isinstance(value, type) and issubclass(value, AigcError)
}


def error_for_http_status(vendor: str, status: int, body: object) -> AigcError:
    """Classify a non-2xx HTTP answer that carries no vendor code we could read."""
    detail = f"{vendor} answered HTTP {status}: {trim(body)}"
    if status in (401, 403):
        return AigcAuthError(f"{detail}. Check the connection's credentials.", vendor=vendor, code=status)
    if status == 429:
        return AigcRateLimitError(detail, vendor=vendor, code=status)
    if status in (400, 404, 405, 413, 414, 422):
        return AigcInvalidRequestError(
            f"{detail}. Check the request and the connection's host (base URL).", vendor=vendor, code=status
        )
    return AigcServerError(detail, vendor=vendor, code=status)
