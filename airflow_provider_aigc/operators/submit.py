"""Submit operators: validate the rendered parameters, buy one job per task instance, return its JobRef.

A retried task does not buy the same job twice: right after the vendor accepts a job, its
``JobRef`` is saved in the task instance's ``task_state_store`` (Airflow 3.3) under
``JOB_STATE_KEY``. A later try with the same parameters reuses that job while it is queued, running
or succeeded, and submits again only when the vendor failed it (or no longer knows it).
"""

from __future__ import annotations

import hashlib
import json
from abc import abstractmethod
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator
from airflow.sdk.execution_time.context import NEVER_EXPIRE

from airflow_provider_aigc.exceptions import AigcUnknownJobError
from airflow_provider_aigc.hooks import hook_class_for
from airflow_provider_aigc.models import JobRef, JobState
from airflow_provider_aigc.operators.failures import fail_fast_on_permanent_errors

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from airflow.sdk import Context
    from airflow.sdk.execution_time.context import TaskStateStoreAccessor

    from airflow_provider_aigc.hooks.base import AigcHook

# task_state_store key of the submitted job. Renaming it breaks reuse for tries already in flight.
JOB_STATE_KEY = "aigc_job"


def request_fingerprint(vendor: str, app: str, conn_id: str, request: Mapping[str, Any]) -> str:
    """sha256 of the validated request and where it goes: a stored job is reused only for the same one."""
    canonical = json.dumps(
        {"vendor": vendor, "app": app, "conn_id": conn_id, "request": request},
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _parse_saved_job(saved: object) -> tuple[JobRef, str] | None:
    """The ``(JobRef, request fingerprint)`` stored under ``JOB_STATE_KEY``, or None if unreadable."""
    if not isinstance(saved, dict):
        return None
    job, fingerprint = saved.get("job"), saved.get("request_sha256")
    if not isinstance(job, dict) or not isinstance(fingerprint, str):
        return None
    try:
        return JobRef.from_dict(job), fingerprint
    except (KeyError, TypeError, ValueError):
        return None


class AigcSubmitOperator(BaseOperator):
    """Base of the submit operators: one paid job per task instance, returned as a ``JobRef`` dict.

    Subclasses name the ``vendor`` and ``app`` and map their arguments onto the vendor's request
    fields in ``params_for_request()``. Validation against the vendor's documented limits runs after
    templates are rendered and before any paid call; errors that no retry can fix (invalid
    parameters, rejected credentials, moderation) fail the task without using its retries.

    :param conn_id: The Airflow connection of the vendor account to bill.
    """

    vendor: ClassVar[str]
    app: ClassVar[str]
    template_fields: Sequence[str] = ("conn_id",)
    ui_color = "#f0e4ff"

    def __init__(self, *, conn_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id

    @abstractmethod
    def params_for_request(self) -> dict[str, Any]:
        """The vendor request fields from the rendered arguments (None means "vendor default")."""

    @cached_property
    def hook(self) -> AigcHook[Any]:
        return hook_class_for(self.vendor)(conn_id=self.conn_id)

    def execute(self, context: Context) -> dict[str, Any]:
        with fail_fast_on_permanent_errors():
            params = self.params_for_request()
            request = self.hook.validate(self.app, params)
            fingerprint = request_fingerprint(self.vendor, self.app, self.conn_id, request)
            store = context.get("task_state_store")
            if store is None:
                self.log.warning(
                    "This Airflow has no task_state_store (it arrived in 3.3): a retry of this task "
                    "cannot see this try's job and will submit (and pay for) a new one."
                )
            else:
                reusable = self._reusable_job(store, fingerprint)
                if reusable is not None:
                    return reusable.to_dict()
            job = self.hook.submit(self.app, params)
            if store is not None:
                self._save(store, job, fingerprint)
            return job.to_dict()

    def _save(self, store: TaskStateStoreAccessor, job: JobRef, fingerprint: str) -> None:
        """Remember the accepted job for later tries of this task instance."""
        try:
            store.set(
                JOB_STATE_KEY, {"job": job.to_dict(), "request_sha256": fingerprint}, retention=NEVER_EXPIRE
            )
        except Exception:
            # The job is bought: failing the task now would make its retry buy it again.
            self.log.exception(
                "Could not save job %s in task_state_store; continuing with it, but a retry of this "
                "task will not see it and would submit a new job.",
                job.job_id,
            )
            return
        self.log.info("Saved job %s in task_state_store: a retry of this task reuses it", job.job_id)

    def _reusable_job(self, store: TaskStateStoreAccessor, fingerprint: str) -> JobRef | None:
        """The job an earlier try of this task instance bought, if it can still deliver."""
        saved = store.get(JOB_STATE_KEY)
        if saved is None:
            return None
        parsed = _parse_saved_job(saved)
        if parsed is None:
            self.log.warning("Ignoring an unreadable %r entry in task_state_store", JOB_STATE_KEY)
            return None
        job, saved_fingerprint = parsed
        if saved_fingerprint != fingerprint:
            self.log.warning(
                "An earlier try submitted job %s with other parameters or another connection; "
                "submitting a new job for the current ones.",
                job.job_id,
            )
            return None
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
            reason = f"{status.error.type}: {status.error.message}" if status.error else "no reason given"
            self.log.warning(
                "An earlier try submitted job %s, which failed at %s (%s); submitting a new job.",
                job.job_id,
                self.vendor,
                reason,
            )
            return None
        self.log.info(
            "Reusing job %s (%s) that an earlier try of this task submitted; not submitting again.",
            job.job_id,
            status.state.value,
        )
        return job


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
    template_fields: Sequence[str] = (
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
        "conn_id",
    )

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
        return {
            "prompt": self.prompt,
            "version": self.version,
            "width": self.width,
            "height": self.height,
            "image_num": self.image_num,
            "image": self.image,
            "url": self.url,
            "pdf_file": self.pdf_file,
            "pdf_file_num": self.pdf_file_num,
            "change_degree": self.change_degree,
        }


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
