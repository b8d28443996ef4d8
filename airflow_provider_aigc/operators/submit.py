"""Submit operators: validate the rendered parameters, buy one job per task instance, return its JobRef.

A task instance buys at most one job for one request, whatever happens to its tries. Before the
paid request leaves, an *intent* is saved in the task instance's ``task_state_store`` (Airflow
3.3) under ``JOB_STATE_KEY``; once the vendor accepts, the ``JobRef`` replaces it. A later try
that finds the job reuses it while it is queued, running or succeeded, and submits again only when
the vendor failed it (or no longer knows it). A try that finds an intent without a job never
submits on its own (``AigcSubmitUnconfirmedError``), nor does one that finds a live job bought for
another request (``AigcJobConflictError``): the user decides, by deleting the key
(docs/operators.md).
"""

from __future__ import annotations

import hashlib
import json
import time
from abc import abstractmethod
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from airflow.sdk import BaseOperator
from airflow.sdk.execution_time.context import NEVER_EXPIRE

from airflow_provider_aigc.exceptions import (
    AigcConcurrencyLimitError,
    AigcError,
    AigcInvalidRequestError,
    AigcJobConflictError,
    AigcSubmitUnconfirmedError,
    AigcUnknownJobError,
)
from airflow_provider_aigc.failures import fail_fast_on_permanent_errors
from airflow_provider_aigc.hooks import hook_class_for
from airflow_provider_aigc.hooks.base import SUBMIT_UNCONFIRMED
from airflow_provider_aigc.models import JobRef, JobState, JobStatus, utc_now_iso
from airflow_provider_aigc.operators.capacity import (
    DEFAULT_CAPACITY_TIMEOUT,
    capacity_seconds,
    capacity_timeout_error,
)
from airflow_provider_aigc.operators.job_state import (
    JOB_STATE_KEY,
    Intent,
    SavedJob,
    changed_fields,
    read_state,
    rebuy_instructions,
    request_fingerprint,
)
from airflow_provider_aigc.triggers.capacity import AigcCapacityTrigger, CapacityEvent
from airflow_provider_aigc.vendors.registry import spec_for

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import timedelta

    from airflow.sdk import Context
    from airflow.sdk.execution_time.context import TaskStateStoreAccessor

    from airflow_provider_aigc.hooks.base import AigcHook

__all__ = [
    "JOB_STATE_KEY",
    "AigcSubmitOperator",
    "CogVideoXSubmitOperator",
    "CogViewSubmitOperator",
    "ErnieVilgSubmitOperator",
    "GlmImageSubmitOperator",
    "JumdataDrawSubmitOperator",
    "NewsGenerateSubmitOperator",
    "request_fingerprint",
]


class AigcSubmitOperator(BaseOperator):
    """Base of the submit operators: one paid job per task instance, returned as a ``JobRef`` dict.

    Subclasses name the ``vendor`` and ``app`` and map their arguments onto the vendor's request
    fields in ``params_for_request()``. Validation against the vendor's documented limits runs after
    templates are rendered and before any paid call; errors that no retry can fix (invalid
    parameters, rejected credentials, moderation, an unconfirmed earlier submit) fail the task
    without using its retries.

    A submit the vendor refuses for concurrency (the account already runs as many jobs as it
    allows) is not an error: the task waits for a slot deferred, in the triggerer, and submits
    again (docs/operators.md, "Batches larger than the vendor allows").

    :param conn_id: The Airflow connection of the vendor account to bill.
    :param capacity_timeout: How long the task may wait for a slot at the vendor, from the first
        concurrency refusal (seconds or timedelta, default 6 hours); then it fails with
        ``AigcCapacityTimeoutError`` (no retries), having bought nothing.
    """

    vendor: ClassVar[str]
    app: ClassVar[str]
    template_fields: Sequence[str] = ("conn_id",)
    ui_color = "#f0e4ff"

    def __init__(
        self, *, conn_id: str, capacity_timeout: timedelta | float = DEFAULT_CAPACITY_TIMEOUT, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self.capacity_timeout = capacity_seconds(capacity_timeout)
        # (first refusal, refusals so far) once resumed from a wait for capacity.
        self._capacity_wait: tuple[float, int] | None = None
        self._capacity_clock: Callable[[], float] = time.time

    @abstractmethod
    def params_for_request(self) -> dict[str, Any]:
        """The vendor request fields from the rendered arguments (None means "vendor default")."""

    @cached_property
    def hook(self) -> AigcHook[Any]:
        return hook_class_for(self.vendor)(conn_id=self.conn_id)

    def execute(self, context: Context) -> dict[str, Any]:
        with fail_fast_on_permanent_errors():
            job, _ = self.job_or_wait(context)
            return job.to_dict()

    # -- a concurrency refusal: wait for capacity, deferred (operators.capacity) -----------------

    def job_or_wait(self, context: Context) -> tuple[JobRef, JobStatus | None]:
        """``job_once``; on a concurrency refusal, defer until a slot may be free (no return then)."""
        try:
            return self.job_once(context)
        except AigcConcurrencyLimitError as refusal:
            self._wait_for_capacity(context, refusal)

    def execute_after_capacity(
        self,
        context: Context,
        event: dict[str, Any] | None = None,
        waiting_since: float | None = None,
        refusals: int = 1,
    ) -> Any:
        """Resume from ``AigcCapacityTrigger``: run ``execute`` again, or fail with the wait's timeout."""
        outcome = CapacityEvent.from_payload(event)
        since = float(waiting_since) if isinstance(waiting_since, (int, float)) else self._capacity_clock()
        if outcome.status == "timeout":
            with fail_fast_on_permanent_errors():
                raise capacity_timeout_error(
                    vendor=self.vendor,
                    conn_id=self.conn_id,
                    capacity_timeout=self.capacity_timeout,
                    outcome=outcome,
                    refusals=refusals,
                )
        self._capacity_wait = (since, refusals)
        return self.execute(context)

    def _queues_first(self, ti: object) -> bool:
        """Admission first: a mapped task beyond the account's known limit queues for capacity
        before its first submit, instead of meeting a refusal (the first ``limit`` submit at once)."""
        map_index = getattr(ti, "map_index", -1)
        if not isinstance(map_index, int) or map_index < 0:
            return False
        limit = self.hook.max_running_jobs()
        return limit is not None and map_index >= limit

    def _wait_for_capacity(self, context: Context, refusal: AigcConcurrencyLimitError | None) -> NoReturn:
        """Defer to ``AigcCapacityTrigger`` after ``refusal``, or (None) before the first submit."""
        now = self._capacity_clock()
        since, refusals = self._capacity_wait or (now, 0)
        if refusal is not None:
            refusals += 1
        limit = self.hook.max_running_jobs()
        end_time = since + self.capacity_timeout
        map_index = getattr(context.get("ti"), "map_index", -1)
        if refusal is None:
            self.log.info(
                "Queueing for capacity on %s (max_running_jobs=%s) before submitting: this mapped task"
                " comes after the first %s of its batch. Nothing was sent; waiting in the triggerer for"
                " up to %.0f s",
                self.conn_id,
                limit,
                limit,
                self.capacity_timeout,
            )
        else:
            self.log.info(
                "%s refused the submit for concurrency (%s); nothing was bought. Waiting for capacity on"
                " %s (max_running_jobs=%s) in the triggerer for up to %.0f s more; refusals so far: %d",
                self.vendor,
                refusal.message,
                self.conn_id,
                "unknown" if limit is None else limit,
                max(end_time - now, 0.0),
                refusals,
            )
        self.defer(
            trigger=AigcCapacityTrigger(
                conn_id=self.conn_id,
                vendor=self.vendor,
                app=self.app,
                end_time=end_time,
                waiting_since=since,
                refused_at=now,
                refusals=refusals,
                map_index=map_index if isinstance(map_index, int) else -1,
                max_running_jobs=limit,
            ),
            method_name="execute_after_capacity",
            kwargs={"waiting_since": since, "refusals": refusals},
            # The deadline travels in the trigger as an absolute end_time.
            timeout=None,
        )

    def job_once(self, context: Context) -> tuple[JobRef, JobStatus | None]:
        """This task instance's one job: an earlier try's (with its status, just read) or a new one.

        The status is None for a job bought by this call. Run it inside
        ``fail_fast_on_permanent_errors``.
        """
        # Validated once, connection defaults included: what is fingerprinted is what is sent.
        request = self.hook.validate(self.app, self.params_for_request())
        fingerprint = request_fingerprint(self.vendor, self.app, self.conn_id, request)
        store = context.get("task_state_store")
        if store is None:  # Airflow >= 3.3's task runner always sets it; a hand-made context may not
            raise AigcInvalidRequestError(
                f"{type(self).__name__} needs Airflow 3.3's task_state_store in its context to buy at"
                " most one job per task instance; nothing was submitted",
                vendor=self.vendor,
            )
        ti = context.get("ti")
        reusable = self._earlier_job(store, fingerprint, request, ti)
        if reusable is not None:
            return reusable
        if self._capacity_wait is None and self._queues_first(ti):
            self._wait_for_capacity(context, None)
        self._before_buying(store)
        self._record_intent(store, fingerprint, request, ti)
        job = self._submit(store, request)
        self._save(store, SavedJob(job, fingerprint))
        return job, None

    def _before_buying(self, store: TaskStateStoreAccessor) -> None:
        """Called once a new job is to be bought, before the intent (a hook for subclasses)."""

    def _described(self, request: dict[str, Any]) -> dict[str, Any]:
        """The request as logs and the state store may show it (no credentials, blobs shortened)."""
        return spec_for(self.vendor).describe_request(self.app, request)

    def _record_intent(
        self, store: TaskStateStoreAccessor, fingerprint: str, request: dict[str, Any], ti: object
    ) -> None:
        """Save the intent before the paid request leaves; without it, no request leaves."""
        intent = Intent(
            request_sha256=fingerprint,
            vendor=self.vendor,
            app=self.app,
            conn_id=self.conn_id,
            sent_at=utc_now_iso(),
            try_number=getattr(ti, "try_number", None),
            request=self._described(request),
        )
        try:
            store.set(JOB_STATE_KEY, intent.to_state(), retention=NEVER_EXPIRE)
        except Exception as error:
            raise AigcError(
                f"could not record the submit intent in task_state_store ({type(error).__name__}:"
                f" {error}), so nothing was sent to {self.vendor}: without the intent, a worker lost"
                " during the paid call would leave the next try blind and it could buy the job twice."
                " The task's retries apply.",
                vendor=self.vendor,
            ) from error

    def _submit(self, store: TaskStateStoreAccessor, request: dict[str, Any]) -> JobRef:
        """The paid call. A proven refusal withdraws the intent; anything else leaves it for the next try."""
        try:
            return self.hook.submit_request(self.app, request)
        except AigcSubmitUnconfirmedError:
            raise
        except AigcError:
            # The vendor did not take the job (hooks.base.AigcHook.submit_request): a retry may submit.
            try:
                store.delete(JOB_STATE_KEY)
            except Exception:
                self.log.exception(
                    "Could not withdraw the submit intent from task_state_store: the next try will "
                    "refuse to submit on its own although %s refused this one.",
                    self.vendor,
                )
            raise

    def _save(self, store: TaskStateStoreAccessor, saved: SavedJob) -> None:
        """Replace the intent with the accepted job for later tries of this task instance."""
        job = saved.job
        try:
            store.set(JOB_STATE_KEY, saved.to_state(), retention=NEVER_EXPIRE)
        except Exception:
            # The job is bought: failing now would leave the intent, and the next try would stop
            # as unconfirmed; returning the job lets this try go on with it.
            self.log.exception(
                "Could not save job %s in task_state_store; continuing with it. A retry of this task "
                "will find only the intent and refuse to submit on its own.",
                job.job_id,
            )
            return
        self.log.info("Saved job %s in task_state_store: a retry of this task reuses it", job.job_id)

    def _earlier_job(
        self, store: TaskStateStoreAccessor, fingerprint: str, request: dict[str, Any], ti: object
    ) -> tuple[JobRef, JobStatus] | None:
        """The job an earlier try of this task instance bought, if it can still deliver, and its status.

        Raises when buying now could pay twice: an intent without a job, or a live job bought for
        another request (Airflow scopes the state per map index, so a reordered mapped list lands
        here; reuse cannot follow the request to a sibling index).
        """
        try:
            saved = read_state(store.get(JOB_STATE_KEY))
        except ValueError as error:
            self.log.warning("Ignoring an unreadable %r entry in task_state_store (%s)", JOB_STATE_KEY, error)
            return None
        if saved is None:
            return None
        if isinstance(saved, Intent):
            raise AigcSubmitUnconfirmedError(
                self._unconfirmed_message(saved, fingerprint, ti), vendor=self.vendor, code=SUBMIT_UNCONFIRMED
            )
        job = saved.job
        status = self._live_status(job)
        if status is None:
            return None
        state = status.state
        if saved.request_sha256 != fingerprint:
            raise AigcJobConflictError(self._conflict_message(job, state, request, ti), vendor=self.vendor)
        self.log.info(
            "Reusing job %s (%s) that an earlier try of this task submitted; not submitting again.",
            job.job_id,
            state.value,
        )
        return job, status

    def _live_status(self, job: JobRef) -> JobStatus | None:
        """The saved job's status if it can still deliver; None when the vendor failed or forgot it."""
        try:
            status = self.hook.get_status(job.job_id, job.app)
        except AigcUnknownJobError as error:
            self.log.warning(
                "An earlier try submitted job %s, but %s no longer knows it (%s); submitting a new job.",
                job.job_id,
                self.vendor,
                error.message,
            )
            return None
        if status.state is JobState.FAILED:
            self._replacing_failed_job(job, status)
            return None
        return status

    def _replacing_failed_job(self, job: JobRef, status: JobStatus) -> None:
        """An earlier try's job failed at the vendor: say so before a new one is bought.

        Subclasses that buy again only on request raise here instead.
        """
        reason = f"{status.error.type}: {status.error.message}" if status.error else "no reason given"
        self.log.warning(
            "An earlier try submitted job %s, which failed at %s (%s); submitting a new job.",
            job.job_id,
            self.vendor,
            reason,
        )

    def _unconfirmed_message(self, intent: Intent, fingerprint: str, ti: object) -> str:
        tried = f"try {intent.try_number}" if intent.try_number is not None else "an earlier try"
        other = "" if intent.request_sha256 == fingerprint else " (for other parameters than this try's)"
        return (
            f"{tried} of this task instance sent a {intent.vendor} {intent.app} submit{other} on"
            f" connection {intent.conn_id!r} at {intent.sent_at}, and its outcome is unknown: that try"
            " ended (worker killed or out of memory, execution_timeout, SIGTERM) before the vendor's"
            " answer was recorded, so the job may have been bought. This try does not submit on its"
            f" own. Look in {intent.vendor}'s console or bill for a {intent.app} job created from"
            f" {intent.sent_at} on, with request {json.dumps(intent.request, ensure_ascii=False)};"
            f" if it is there, wait for it with AigcJobSensor(vendor={intent.vendor!r},"
            f" app={intent.app!r}, conn_id={intent.conn_id!r}, job_id=<its id>). " + rebuy_instructions(ti)
        )

    def _conflict_message(self, job: JobRef, state: JobState, request: dict[str, Any], ti: object) -> str:
        changes = changed_fields(job.request, self._described(request))
        if job.conn_id != self.conn_id:
            changes += f"; conn_id: {job.conn_id!r} -> {self.conn_id!r}"
        map_index = getattr(ti, "map_index", None)
        why = (
            "a mapped task whose upstream list came back in another order: that prompt is likely"
            " held by another map index, and buying it here pays for it twice"
            if isinstance(map_index, int) and map_index >= 0
            else "the parameters, a template's value or the connection's defaults changed since"
        )
        return (
            f"this task instance already bought {job.vendor} {job.app} job {job.job_id} on"
            f" {job.submitted_at} (now {state.value}) for another request than this try's"
            f" ({changes}). Not submitting: the usual cause is {why}; a new job would also drop job"
            f" {job.job_id} from this task's state. To keep job {job.job_id}, give this task instance"
            " its earlier parameters back (e.g. a stable, sorted upstream list) and clear it. "
            + rebuy_instructions(ti)
            + f" Job {job.job_id} stays at the vendor either way; note its id."
        )


class CogViewSubmitOperator(AigcSubmitOperator):
    """Submit a Zhipu CogView text-to-image job (4 images, minutes of work at the vendor).

    :param query: The prompt describing the image (templated).
    :param zhipu_queue: Zhipu's queue name (the request's ``key``); None takes the connection's
        ``queue`` extra, else ``queue1`` (templated). Not Airflow's ``queue``, which still picks
        the executor queue of the task.
    :param conn_id: The ``aigc_zhipu`` connection to bill (templated).
    """

    vendor = "zhipu"
    app = "cogview"
    template_fields: Sequence[str] = ("query", "zhipu_queue", "conn_id")

    def __init__(
        self,
        *,
        query: str,
        zhipu_queue: str | None = None,
        conn_id: str = "aigc_zhipu_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=conn_id, **kwargs)
        self.query = query
        self.zhipu_queue = zhipu_queue

    def params_for_request(self) -> dict[str, Any]:
        return {"query": self.query, "key": self.zhipu_queue}


class NewsGenerateSubmitOperator(AigcSubmitOperator):
    """Submit a Zhipu news-generation job (a Chinese article written from a topic).

    :param content: The topic or opening the article is written from (templated).
    :param max_length: The longest article wanted, in characters (templated).
    :param zhipu_queue: Zhipu's queue name (the request's ``key``); None takes the connection's
        ``queue`` extra, else ``queue1`` (templated).
    :param conn_id: The ``aigc_zhipu`` connection to bill (templated).
    """

    vendor = "zhipu"
    app = "news_generate"
    template_fields: Sequence[str] = ("content", "max_length", "zhipu_queue", "conn_id")

    def __init__(
        self,
        *,
        content: str,
        max_length: int | str,
        zhipu_queue: str | None = None,
        conn_id: str = "aigc_zhipu_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=conn_id, **kwargs)
        self.content = content
        self.max_length = max_length
        self.zhipu_queue = zhipu_queue

    def params_for_request(self) -> dict[str, Any]:
        return {"content": self.content, "max_length": self.max_length, "key": self.zhipu_queue}


# The operator's arguments are txt2imgv2's own field names, so they map onto the request one to one.
_ERNIE_VILG_FIELDS = (
    "prompt",
    "version",
    "width",
    "height",
    "image_num",
    "image",
    "url",
    "pdf_file",
    "pdf_file_num",
    "change_degree",
)


class ErnieVilgSubmitOperator(AigcSubmitOperator):
    """Submit a Baidu ERNIE-ViLG v2 (txt2imgv2) text-to-image job.

    All arguments are templated; the vendor's limits are checked before the paid call.

    :param prompt: The prompt, at most 200 characters.
    :param version: The model, ``v2`` (default) or ``v1``.
    :param width: Image width in pixels; with ``height`` one of the sizes the version supports.
    :param height: Image height in pixels.
    :param image_num: How many images to draw, 1-8 (each is billed).
    :param image: A reference image as base64 (at most one of ``image``, ``url``, ``pdf_file``).
    :param url: A reference image URL.
    :param pdf_file: A reference PDF as base64.
    :param pdf_file_num: Which page of ``pdf_file`` to use.
    :param change_degree: How far the result may move from the reference, 1-10.
    :param conn_id: The ``aigc_baidu`` connection to bill.
    """

    vendor = "baidu"
    app = "txt2imgv2"
    template_fields: Sequence[str] = (*_ERNIE_VILG_FIELDS, "conn_id")

    def __init__(
        self,
        *,
        prompt: str,
        version: str = "v2",
        width: int | str = 1024,
        height: int | str = 1024,
        image_num: int | str = 1,
        image: str | None = None,
        url: str | None = None,
        pdf_file: str | None = None,
        pdf_file_num: int | str | None = None,
        change_degree: int | str | None = None,
        conn_id: str = "aigc_baidu_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=conn_id, **kwargs)
        self.prompt = prompt
        self.version = version
        self.width = width
        self.height = height
        self.image_num = image_num
        self.image = image
        self.url = url
        self.pdf_file = pdf_file
        self.pdf_file_num = pdf_file_num
        self.change_degree = change_degree

    def params_for_request(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _ERNIE_VILG_FIELDS}


class JumdataDrawSubmitOperator(AigcSubmitOperator):
    """Submit a Jumdata AI drawing job.

    All arguments are templated; the vendor's limits are checked before the paid call.

    :param text: The prompt, at most 100 characters.
    :param style: One of the vendor's 17 named styles (e.g. ``油画``, ``赛博朋克``, ``水彩画``).
    :param resolution: ``1024*1024`` (default), ``1024*1536`` or ``1536*1024``.
    :param num: How many images to draw, 1-6 (each is billed).
    :param conn_id: The ``aigc_jumdata`` connection to bill.
    """

    vendor = "jumdata"
    app = "ai_draw"
    template_fields: Sequence[str] = ("text", "style", "resolution", "num", "conn_id")

    def __init__(
        self,
        *,
        text: str,
        style: str,
        resolution: str = "1024*1024",
        num: int | str = 1,
        conn_id: str = "aigc_jumdata_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=conn_id, **kwargs)
        self.text = text
        self.style = style
        self.resolution = resolution
        self.num = num

    def params_for_request(self) -> dict[str, Any]:
        return {"text": self.text, "style": self.style, "resolution": self.resolution, "num": self.num}


def task_request_id(ti: object) -> str | None:
    """A ``request_id`` that is the same on every try of one task instance (and differs between
    task instances and map indices): a submit resent for it gets BigModel's duplicate answer
    (1231) instead of a second job, when the first one reached the platform."""
    parts = [getattr(ti, name, None) for name in ("dag_id", "task_id", "run_id", "map_index")]
    if any(part is None for part in parts[:3]):
        return None
    digest = hashlib.sha256("\n".join(map(str, parts)).encode("utf-8", "surrogatepass")).hexdigest()
    return f"airflow-{digest[:40]}"


class _BigModelSubmitOperator(AigcSubmitOperator):
    """BigModel v4 submits: the arguments are the documented field names, sent as given (None:
    the platform's default); ``request_id`` defaults to one stable per task instance."""

    vendor = "bigmodel"
    request_fields: ClassVar[tuple[str, ...]]
    _stable_request_id: str | None = None

    def job_once(self, context: Context) -> tuple[JobRef, JobStatus | None]:
        self._stable_request_id = task_request_id(context.get("ti"))
        return super().job_once(context)

    def keep_fields(self, arguments: dict[str, Any]) -> None:
        """The request-field arguments of ``__init__`` (its ``locals()``) as templated attributes."""
        for name in self.request_fields:
            setattr(self, name, arguments[name])

    def params_for_request(self) -> dict[str, Any]:
        params = {name: getattr(self, name) for name in self.request_fields}
        if params.get("request_id") is None:
            params["request_id"] = self._stable_request_id
        return params


class GlmImageSubmitOperator(_BigModelSubmitOperator):
    """Submit a BigModel GLM-Image job (one image, about 20 s at the platform).

    All arguments are templated; the documented limits are checked before the paid call.

    :param prompt: What to draw.
    :param size: ``WIDTHxHEIGHT``: a recommended size (``1280x1280``, the platform's default,
        ``1568x1056``, ``1056x1568``, ``1472x1088``, ``1088x1472``, ``1728x960``, ``960x1728``) or a
        custom one with each side 1024-2048 px, a multiple of 32, at most 2^22 pixels.
    :param quality: ``hd`` (the only value, and the default).
    :param model: ``glm-image``.
    :param watermark_enabled: False removes the AI watermark (honoured only for accounts that
        signed the platform's disclaimer).
    :param user_id: Your end user's id (6-128 characters), for the platform's abuse handling.
    :param request_id: 6-64 characters, unique per job; None derives one from the task instance,
        the same on every try, so BigModel refuses a duplicate (docs/operators.md, "Pay once").
    :param conn_id: The ``aigc_bigmodel`` connection to bill.
    """

    app = "glm_image"
    request_fields = ("prompt", "size", "quality", "model", "watermark_enabled", "user_id", "request_id")
    template_fields: Sequence[str] = (*request_fields, "conn_id")

    def __init__(
        self,
        *,
        prompt: str,
        size: str | None = None,
        quality: str | None = None,
        model: str = "glm-image",
        watermark_enabled: bool | str | None = None,
        user_id: str | None = None,
        request_id: str | None = None,
        conn_id: str = "aigc_bigmodel_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=conn_id, **kwargs)
        self.keep_fields(locals())


class CogVideoXSubmitOperator(_BigModelSubmitOperator):
    """Submit a BigModel CogVideoX-3 video job (minutes at the platform): from a prompt, an image,
    or a first and last frame.

    All arguments are templated; the documented limits are checked before the paid call.

    :param prompt: What happens, at most 512 characters (this or ``image_url``, or both).
    :param image_url: An http(s) URL or a ``data:image/png;base64,...`` URI (PNG or JPEG, at most
        5 MB); a list of two is the first and last frame (quality ``speed`` only).
    :param model: ``cogvideox-3``.
    :param quality: ``speed`` (the platform's default) or ``quality``.
    :param with_audio: Add AI sound effects (default off).
    :param size: ``1280x720``, ``720x1280``, ``1024x1024``, ``1920x1080``, ``1080x1920``,
        ``2048x1080`` or ``3840x2160``; None lets the platform follow the source image.
    :param fps: 30 (default) or 60.
    :param duration: Seconds, 5 (default) or 10.
    :param watermark_enabled: False removes the AI watermark (disclaimer accounts only).
    :param user_id: Your end user's id (6-128 characters).
    :param request_id: 6-64 characters; None derives one from the task instance (see
        ``GlmImageSubmitOperator``).
    :param conn_id: The ``aigc_bigmodel`` connection to bill.
    """

    app = "cogvideox"
    request_fields = (
        "prompt",
        "image_url",
        "model",
        "quality",
        "with_audio",
        "size",
        "fps",
        "duration",
        "watermark_enabled",
        "user_id",
        "request_id",
    )
    template_fields: Sequence[str] = (*request_fields, "conn_id")

    def __init__(
        self,
        *,
        prompt: str | None = None,
        image_url: str | list[str] | None = None,
        model: str = "cogvideox-3",
        quality: str | None = None,
        with_audio: bool | str | None = None,
        size: str | None = None,
        fps: int | str | None = None,
        duration: int | str | None = None,
        watermark_enabled: bool | str | None = None,
        user_id: str | None = None,
        request_id: str | None = None,
        conn_id: str = "aigc_bigmodel_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=conn_id, **kwargs)
        self.keep_fields(locals())
