"""``AigcHook``: one Airflow hook shape for every vendor, over the sans-IO ``vendors/`` protocols.

The hook owns what the protocol code must not: the connection, credentials, the transports and
the retry policy. Each operation is written once, as a ``hooks.calls`` generator that yields its
I/O; ``_run`` performs it with requests and blocking calls (workers), ``_arun`` with aiohttp and
awaits (the triggerer). The one rule that shapes it: a submit is repeated only when the vendor
proved it did not take the job (its own envelope refused it, see ``AigcError.refused``, or the
connection never opened), because a resent submit can buy the job twice. Any other failed submit
(a gateway 5xx, a cut body, a read timeout) is unconfirmed.
"""

from __future__ import annotations

import asyncio
import random
import time
from abc import ABC, abstractmethod
from dataclasses import replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from airflow.providers.common.compat.connection import get_async_connection, get_async_extra_dejson
from airflow.sdk import BaseHook
from airflow.sdk.log import amask_secret, mask_secret

from airflow_provider_aigc.exceptions import (
    AigcAuthError,
    AigcError,
    AigcInvalidRequestError,
    AigcServerError,
    AigcSubmitUnconfirmedError,
)
from airflow_provider_aigc.hooks.calls import (
    Alone,
    Call,
    Done,
    Effect,
    LookUp,
    Mask,
    Pause,
    Send,
    advance,
    loop_lock,
    mask,
    retried,
    thread_lock,
)
from airflow_provider_aigc.hooks.connection import ConnectionSettings, OutputPolicy, read_settings
from airflow_provider_aigc.hooks.retry import Deadline, OnRetry, RetryPolicy, parse_retry_after, retrying
from airflow_provider_aigc.hooks.transport import RequestFailed, asend, describe, new_session, redact, send
from airflow_provider_aigc.models import JobRef, JobStatus, utc_now_iso
from airflow_provider_aigc.urls import without_query

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    import requests

    from airflow_provider_aigc.vendors.base import HttpRequest, HttpResponse
    from airflow_provider_aigc.vendors.spec import VendorSpec

__all__ = ["SUBMIT_UNCONFIRMED", "AigcHook", "OutputPolicy"]

C = TypeVar("C")
T = TypeVar("T")

# ``code`` of the AigcServerError raised when a submit was sent but its outcome is unknown: a task
# retry would submit (and pay) again, so callers can tell this case from other server trouble.
SUBMIT_UNCONFIRMED = "submit_unconfirmed"

_NOT_RESUBMITTED = (
    "the job may have been accepted, so the submit was not repeated (that could pay for it twice);"
    " look for the job at the vendor before running the task again"
)


class AigcHook(BaseHook, ABC, Generic[C]):
    """Submit jobs to and read job status from one vendor, as the connection ``conn_id`` says.

    :param conn_id: the Airflow connection (host = base URL, login/password = credentials).
    :param sleep: pause between sync retries (tests pass a recorder instead of sleeping).
    :param async_sleep: pause between async retries.
    :param clock: epoch seconds, for signatures, token expiry and output expiry.
    :param rng: randomness for the backoff jitter.
    """

    conn_name_attr = "conn_id"
    conn_type: ClassVar[str]
    default_conn_name: ClassVar[str]
    hook_name: ClassVar[str]
    spec: ClassVar[VendorSpec[Any]]
    # Whether the vendor has a call that cancels a job (DashScope: free, and only while PENDING).
    can_cancel: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Airflow's class attributes, from the vendor's spec."""
        super().__init_subclass__(**kwargs)
        spec = cls.__dict__.get("spec")
        if spec is not None:
            cls.conn_type, cls.default_conn_name = spec.conn_type, spec.default_conn_name
            cls.hook_name = spec.form.hook_name

    def __init__(
        self,
        conn_id: str | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__()
        self.conn_id = conn_id or self.default_conn_name
        self._sleep = sleep
        self._async_sleep = async_sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._resolved: ConnectionSettings | None = None
        self._session: requests.Session | None = None

    @property
    def vendor(self) -> str:
        return self.spec.name

    @property
    def apps(self) -> frozenset[str]:
        return self.spec.apps

    # --- public API --------------------------------------------------------------------------

    def validate(self, app: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """The exact request a submit sends: ``params`` completed from the connection (e.g. Zhipu's
        ``queue`` extra) and checked once against the vendor's documented limits.

        Reads the connection, calls no vendor. What callers fingerprint is what ``submit_request``
        sends, so a changed connection default is a changed request.
        """
        return self.spec.validate(app, self._with_defaults(self._run(self._settings()), params))

    def submit(self, app: str, params: Mapping[str, Any]) -> JobRef:
        """``validate``, then ``submit_request``: one job from raw parameters."""
        return self.submit_request(app, self.validate(app, params))

    def submit_request(self, app: str, request: Mapping[str, Any]) -> JobRef:
        """Send ``request``, as ``validate`` returned it, unchanged: one paid call; returns its
        ``JobRef`` (never holding credentials).

        Any ``AigcError`` other than ``AigcSubmitUnconfirmedError`` means the vendor did not take
        the job (it refused it, or the request never left). ``AigcSubmitUnconfirmedError``, any
        other exception, or no return at all (a killed worker, ``AirflowTaskTimeout``) means the job
        may have been bought.
        """
        return self._run(self._submit(app, request))

    def get_status(self, job_id: str, app: str, *, deadline: float | None = None) -> JobStatus:
        """The job as the vendor reports it now; transient failures are retried.

        :param deadline: epoch seconds: requests and pauses are cut to the time left, and
            ``DeadlineReached`` is raised when none is left.
        """
        return self._run(self._status(job_id, app, deadline))

    async def aget_status(self, job_id: str, app: str, *, deadline: float | None = None) -> JobStatus:
        """``get_status`` on an event loop (aiohttp, shared session, non-blocking connection lookup);
        what the trigger polls with."""
        return await self._arun(self._status(job_id, app, deadline))

    def cancel(self, job_id: str) -> None:
        """Ask the vendor to cancel the job (only where ``can_cancel``); a job it will no longer
        cancel (DashScope: one that left PENDING) raises ``AigcInvalidRequestError``."""
        self._run(self._cancel(job_id))

    async def acancel(self, job_id: str) -> None:
        """``cancel`` on an event loop (the trigger's ``on_kill``)."""
        await self._arun(self._cancel(job_id))

    def output_policy(self) -> OutputPolicy:
        """Which output hosts the archive step may fetch from, and the URL lifetime to assume."""
        return self._run(self._settings()).output_policy

    def max_running_jobs(self) -> int | None:
        """How many jobs the account runs at a time: the connection's ``max_running_jobs`` extra,
        else the vendor's documented default; None when no limit is known (0 in the extra)."""
        configured = self._run(self._settings()).max_running_jobs
        limit = self.spec.max_running_jobs if configured is None else configured
        return limit or None

    @abstractmethod
    def test_connection(self) -> tuple[bool, str]:
        """A cheap check of the connection for the UI: (ok, message without secrets)."""

    def close(self) -> None:
        """Close the sync HTTP session (async sessions are shared; see ``hooks.session``)."""
        if self._session is not None:
            self._session.close()
            self._session = None

    # --- vendor specifics --------------------------------------------------------------------

    @abstractmethod
    def _credentials(self, settings: ConnectionSettings, app: str) -> Call[C]:
        """The credentials one call of ``app`` needs: a call, as acquiring them may itself call the
        vendor (Baidu's token); credentials computed locally are ``calls.local(value)``."""

    @abstractmethod
    def _secrets(self, credentials: C) -> tuple[str, ...]:
        """Derived values in ``credentials`` to register with the secrets masker before use."""

    def _cancel(self, job_id: str) -> Call[None]:
        raise AigcInvalidRequestError(f"{self.vendor} offers no call to cancel a job", vendor=self.vendor)

    def _renew(self, settings: ConnectionSettings, credentials: C, error: AigcAuthError) -> bool:
        """Forget ``credentials`` if ``error`` says they expired; True means: fetch anew and retry once."""
        return False

    def _with_defaults(self, settings: ConnectionSettings, params: Mapping[str, Any]) -> Mapping[str, Any]:
        """Parameters completed from the connection (e.g. the Zhipu queue); the default adds nothing."""
        return params

    # --- the operations, once ----------------------------------------------------------------

    def _submit(self, app: str, request: Mapping[str, Any]) -> Call[JobRef]:
        settings = yield from self._settings()
        job_id = yield from self._call(
            settings,
            app,
            lambda credentials: self.spec.build_submit(app, request, credentials, self._clock()),
            self.spec.parse_submit,
            resend_safe=False,
        )
        return self._job_ref(app, job_id, request)

    def _status(self, job_id: str, app: str, deadline: float | None) -> Call[JobStatus]:
        settings = yield from self._settings()
        status = yield from self._call(
            settings,
            app,
            lambda credentials: self.spec.build_status(job_id, app, credentials, self._clock()),
            self._status_parser(settings, job_id, app),
            resend_safe=True,
            deadline=deadline,
        )
        return replace(status, conn_id=self.conn_id)

    def _settings(self) -> Call[ConnectionSettings]:
        """The connection, read once per hook instance; its credentials masked at once."""
        if self._resolved is None:
            conn, extra = yield LookUp(self.conn_id)
            settings = read_settings(
                self.conn_id,
                host=conn.host,
                port=conn.port,
                schema=conn.schema,
                login=conn.login,
                password=conn.password,
                extra=extra,
                default_base_url=self.spec.default_base_url,
            )
            yield from mask(*settings.secrets())
            self._resolved = settings
        return self._resolved

    def _call(
        self,
        settings: ConnectionSettings,
        app: str,
        build: Callable[[C], HttpRequest],
        parse: Callable[[HttpResponse], T],
        *,
        resend_safe: bool,
        deadline: float | None = None,
    ) -> Call[T]:
        """A call with credentials: retried per policy, and repeated once with fresh credentials
        when the vendor says they expired."""

        def once(credentials: C) -> Call[T]:
            return self._exchange(
                settings, lambda: build(credentials), parse, resend_safe=resend_safe, deadline=deadline
            )

        credentials = yield from self._masked_credentials(settings, app)
        try:
            return (yield from once(credentials))
        except AigcAuthError as error:
            if not self._renew(settings, credentials, error):
                raise
            self.log.warning("%s rejected the credentials (%s); renewing them once", self.vendor, error.code)
        credentials = yield from self._masked_credentials(settings, app)
        return (yield from once(credentials))

    def _masked_credentials(self, settings: ConnectionSettings, app: str) -> Call[C]:
        """``_credentials``, their derived secrets registered with the masker before any use."""
        credentials = yield from self._credentials(settings, app)
        yield from mask(*self._secrets(credentials))
        return credentials

    def _exchange(
        self,
        settings: ConnectionSettings,
        build: Callable[[], HttpRequest],
        parse: Callable[[HttpResponse], T],
        *,
        resend_safe: bool,
        deadline: float | None = None,
    ) -> Call[T]:
        """Build, send and parse, with retries; ``build`` runs per attempt (fresh timestamps)."""
        limit = Deadline(deadline, self._clock)

        def attempt() -> Call[T]:
            timeout = limit.timeout(settings.timeout)
            request = build()
            self.log.debug("%s %s", self.vendor, describe(request))
            answer: HttpResponse | RequestFailed = yield Send(settings.base_url, request, timeout)
            if isinstance(answer, RequestFailed):
                raise self._no_answer(settings, request, answer, resend_safe=resend_safe)
            return self._parse(request, answer, parse, resend_safe=resend_safe)

        policy = RetryPolicy(max_retries=settings.max_retries)
        return (yield from retried(retrying(policy, limit, self._rng, self._retry_logger(settings)), attempt))

    def _no_answer(
        self, settings: ConnectionSettings, request: HttpRequest, failure: RequestFailed, *, resend_safe: bool
    ) -> Exception:
        """The error for a call that got no HTTP answer: retryable unless a submit may have landed
        (only a connect-phase failure proves it never left)."""
        where = f"{self.vendor} {request.method} {settings.base_url}{request.path}"
        if failure.sent and not resend_safe:
            return AigcSubmitUnconfirmedError(
                f"{where} got no answer after the request was sent ({failure.reason}); {_NOT_RESUBMITTED}",
                vendor=self.vendor,
                code=SUBMIT_UNCONFIRMED,
            )
        return AigcServerError(f"{where} got no answer ({failure.reason})", vendor=self.vendor)

    def _parse(
        self,
        request: HttpRequest,
        response: HttpResponse,
        parse: Callable[[HttpResponse], T],
        *,
        resend_safe: bool,
    ) -> T:
        """Parse an answer; a retryable error leaves as it is (the retry predicate repeats it).

        On a submit, a retryable error is repeated only when the vendor's own envelope refused the
        request (``error.refused``); anything else (a gateway's 5xx, a vendor server-error code, a
        malformed body) may mean the job was accepted, so it becomes ``AigcSubmitUnconfirmedError``.
        """
        if 300 <= response.status < 400:
            target = without_query(response.headers.get("location", ""))
            raise AigcInvalidRequestError(
                f"{self.vendor} answered HTTP {response.status} to {request.method} {request.path},"
                f" redirecting to {redact(target, request) or 'nowhere'}; set the connection's host to"
                " the base URL it points to",
                vendor=self.vendor,
                code=response.status,
            )
        try:
            return parse(response)
        except AigcError as error:
            if not error.retryable:
                raise
            if error.retry_after is None:
                error.retry_after = parse_retry_after(response.headers.get("retry-after"), self._clock())
            if resend_safe or error.refused:
                raise
            raise AigcSubmitUnconfirmedError(
                f"{error.message}; {_NOT_RESUBMITTED}", vendor=self.vendor, code=SUBMIT_UNCONFIRMED
            ) from error

    def _retry_logger(self, settings: ConnectionSettings) -> OnRetry:
        def log_retry(error: AigcError, retry_number: int, delay: float) -> None:
            self.log.warning(
                "%s call failed (%s: %s); retry %d of %d in %.1f s",
                self.vendor,
                type(error).__name__,
                error.message,
                retry_number,
                settings.max_retries,
                delay,
            )

        return log_retry

    # --- the two drivers: the only code that differs between sync and async -----------------

    def _run(self, call: Call[T]) -> T:
        """Perform ``call`` with blocking I/O (a worker)."""
        step = advance(call, None)
        while not isinstance(step, Done):
            step = advance(call, self._perform(step))
        return step.value

    async def _arun(self, call: Call[T]) -> T:
        """Perform ``call`` on the running event loop (the triggerer): nothing blocks it."""
        step = advance(call, None)
        while not isinstance(step, Done):
            step = advance(call, await self._aperform(step))
        return step.value

    def _perform(self, effect: Effect) -> object:
        """One effect, with blocking I/O."""
        if isinstance(effect, Pause):
            self._sleep(effect.seconds)
        elif isinstance(effect, Mask):
            for value in effect.values:
                mask_secret(value)
        elif isinstance(effect, LookUp):
            conn = self.get_connection(effect.conn_id)
            return conn, conn.extra_dejson
        elif isinstance(effect, Alone):
            with thread_lock(effect.key):
                return self._run(effect.call)
        else:
            try:
                return send(self._requests_session(), effect.base_url, effect.request, effect.timeout)
            except RequestFailed as failure:
                return failure
        return None

    async def _aperform(self, effect: Effect) -> object:
        """One effect, awaited: the event loop is never blocked."""
        if isinstance(effect, Pause):
            await self._async_sleep(effect.seconds)
        elif isinstance(effect, Mask):
            for value in effect.values:
                await amask_secret(value)
        elif isinstance(effect, LookUp):
            conn = await get_async_connection(effect.conn_id, hook=self)
            return conn, await get_async_extra_dejson(conn)
        elif isinstance(effect, Alone):
            async with loop_lock(effect.key):
                return await self._arun(effect.call)
        else:
            from airflow_provider_aigc.hooks.session import session_for  # aiohttp: triggerer only

            try:
                return await asend(
                    session_for(effect.base_url), effect.base_url, effect.request, effect.timeout
                )
            except RequestFailed as failure:
                return failure
        return None

    def _requests_session(self) -> requests.Session:
        if self._session is None:
            self._session = new_session()
        return self._session

    # --- results -----------------------------------------------------------------------------

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), tz=timezone.utc)

    def _status_parser(
        self, settings: ConnectionSettings, job_id: str, app: str
    ) -> Callable[[HttpResponse], JobStatus]:
        def parse(response: HttpResponse) -> JobStatus:
            return self.spec.parse_status(
                response,
                job_id=job_id,
                app=app,
                now=self._now(),
                output_ttl_seconds=settings.output_policy.output_ttl_seconds,
            )

        return parse

    def _job_ref(self, app: str, job_id: str, request: Mapping[str, Any]) -> JobRef:
        self.log.info("%s accepted %s job %s", self.vendor, app, job_id)
        return JobRef(
            vendor=self.vendor,
            app=app,
            conn_id=self.conn_id,
            job_id=job_id,
            submitted_at=utc_now_iso(),
            request=self.spec.describe_request(app, request),
        )
