"""Alibaba Cloud Model Studio (DashScope) Wan operators: submit (chain) and one-task, for images
and videos, in the families of ``operators.submit`` and ``operators.generate``.

DashScope has no idempotency key, so a submit whose answer was lost can never be matched for
sure. When one is unconfirmed (an answer lost now, or an intent left by a try that died), these
operators ask the task listing (``GET /tasks/``) for the model's tasks created since the submit
left and name them in the error: evidence for the user to adopt one, not proof.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow_provider_aigc.exceptions import AigcError, AigcSubmitUnconfirmedError
from airflow_provider_aigc.models import JobRef, parse_iso
from airflow_provider_aigc.operators.generate import ARCHIVE_TEMPLATE_FIELDS, AigcGenerateToS3Operator
from airflow_provider_aigc.operators.submit import AigcSubmitOperator
from airflow_provider_aigc.vendors.dashscope import (
    DEFAULT_IMAGE_MODEL,
    DEFAULT_VIDEO_MODEL,
    IMAGE_PARAMETERS,
    VENDOR,
    VIDEO_PARAMETERS,
    WAN_IMAGE,
    WAN_VIDEO,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.sdk.execution_time.context import TaskStateStoreAccessor

    from airflow_provider_aigc.operators.job_state import Intent

__all__ = ["WanImageSubmitOperator", "WanImageToS3Operator", "WanVideoSubmitOperator", "WanVideoToS3Operator"]

DEFAULT_CONN_ID = "aigc_dashscope_default"
# The listing window reaches this far around the submit: the vendor's clock may differ from ours
# (and the listing's window is in whole seconds).
CLOCK_SLACK = timedelta(minutes=2)
MAX_CANDIDATES = 5


class _WanSubmitOperator(AigcSubmitOperator):
    """Wan submit: the operator's arguments are the vendor's own field names, one to one."""

    fields: tuple[str, ...] = ()

    def params_for_request(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.fields}

    def _submit(self, store: TaskStateStoreAccessor, request: dict[str, Any]) -> JobRef:
        sent_at = datetime.now(timezone.utc)
        try:
            return super()._submit(store, request)
        except AigcSubmitUnconfirmedError as error:
            raise AigcSubmitUnconfirmedError(
                f"{error.message}. {self._candidates(request.get('model'), sent_at)}",
                vendor=error.vendor,
                code=error.code,
            ) from error

    def _unconfirmed_message(self, intent: Intent, fingerprint: str, ti: object) -> str:
        message = super()._unconfirmed_message(intent, fingerprint, ti)
        sent_at = parse_iso(intent.sent_at) or datetime.now(timezone.utc)
        return f"{message} {self._candidates(intent.request.get('model'), sent_at)}"

    def _candidates(self, model: object, sent_at: datetime) -> str:
        """What the task listing shows for ``model`` since ``sent_at``: evidence, never proof."""
        from airflow_provider_aigc.hooks.dashscope import DashScopeHook

        hook = self.hook
        if not isinstance(hook, DashScopeHook) or not isinstance(model, str):
            return "DashScope's task listing could not be asked."
        start, end = sent_at - CLOCK_SLACK, datetime.now(timezone.utc) + CLOCK_SLACK
        try:
            tasks = hook.list_tasks(model, start, end)
        except AigcError as error:
            return f"DashScope's task listing failed ({type(error).__name__}: {error.message})."
        if not tasks:
            return (
                f"DashScope's task listing shows no {model} task created between {start:%Y-%m-%d %H:%M:%S}"
                f" and {end:%H:%M:%S} UTC: the submit probably created none (the listing is evidence,"
                " not proof)."
            )
        shown = "; ".join(
            f"{task.task_id} ({task.status}, created {task.created_at or 'at an unknown time'})"
            for task in tasks[:MAX_CANDIDATES]
        )
        more = f" and {len(tasks) - MAX_CANDIDATES} more" if len(tasks) > MAX_CANDIDATES else ""
        return (
            f"Candidate task(s) in DashScope's listing for {model} since the submit: {shown}{more}."
            " A listing match is evidence, not proof (DashScope has no idempotency key): other runs on"
            " this account may have created them. To adopt one, wait for it with AigcJobSensor("
            f"vendor={VENDOR!r}, app={self.app!r}, conn_id={self.conn_id!r}, job_id=<task id>)."
        )


_IMAGE_FIELDS = IMAGE_PARAMETERS
_VIDEO_FIELDS = VIDEO_PARAMETERS


class WanImageSubmitOperator(_WanSubmitOperator):
    """Submit a DashScope Wan text-to-image task (``image-synthesis`` for wan2.5 and earlier,
    ``image-generation`` for wan2.6); returns its ``JobRef``.

    All arguments are templated and checked against the model's documented limits before the
    paid call; a prompt over the model's limit is refused (the vendor would cut it silently).

    :param prompt: The prompt (wan2.6-t2i: 2100 characters; wan2.5: 2000; wan2.2/2.1: 500).
    :param model: The model, default ``wan2.6-t2i``; names differ by region (``wanx2.1-*`` in
        Beijing, ``wan2.1-*`` in Singapore).
    :param negative_prompt: What to keep out of the image, at most 500 characters.
    :param size: ``width*height`` with an asterisk; default the model's (1280*1280 or 1024*1024).
    :param n: How many images, 1-4, default 1 (the vendor's own default is 4, each billed).
    :param seed: 0-2147483647.
    :param prompt_extend: Let the vendor's LLM rewrite the prompt (vendor default true).
    :param watermark: Add the "AI生成" mark.
    :param conn_id: The ``aigc_dashscope`` connection to bill.
    """

    vendor = VENDOR
    app = WAN_IMAGE
    fields = _IMAGE_FIELDS
    template_fields: Sequence[str] = (*_IMAGE_FIELDS, "conn_id")

    def __init__(
        self,
        *,
        prompt: str,
        model: str = DEFAULT_IMAGE_MODEL,
        negative_prompt: str | None = None,
        size: str | None = None,
        n: int | str = 1,
        seed: int | str | None = None,
        prompt_extend: bool | str | None = None,
        watermark: bool | str | None = None,
        conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=conn_id, **kwargs)
        self.prompt = prompt
        self.model = model
        self.negative_prompt = negative_prompt
        self.size = size
        self.n = n
        self.seed = seed
        self.prompt_extend = prompt_extend
        self.watermark = watermark


class WanVideoSubmitOperator(_WanSubmitOperator):
    """Submit a DashScope Wan text-to-video task (``video-synthesis``); returns its ``JobRef``.

    All arguments are templated and checked against the model's documented limits before the
    paid call (sizes per model, durations, audio, shot type; wan2.7's resolution and ratio).

    :param prompt: The prompt (wan2.5-wan2.7: 1500 characters; wan2.2 and older: 800).
    :param model: The model, default ``wan2.6-t2v``.
    :param negative_prompt: At most 500 characters.
    :param size: ``width*height`` from the model's tiers (e.g. ``1280*720``); not for wan2.7.
    :param resolution: wan2.7 only: ``720P`` or ``1080P``.
    :param ratio: wan2.7 only: ``16:9``, ``9:16``, ``1:1``, ``4:3`` or ``3:4``.
    :param duration: Seconds, as the model offers (wan2.6: 5/10/15; wan2.5: 5/10; wan2.7: 2-15;
        others 5); billed per second.
    :param audio_url: wan2.5/2.6/2.7: a wav or mp3 URL (3-30 s, at most 15 MB) as the soundtrack.
    :param prompt_extend: Let the vendor's LLM rewrite the prompt.
    :param shot_type: wan2.6 only: ``single`` or ``multi`` (needs ``prompt_extend``).
    :param seed: 0-2147483647.
    :param watermark: Add the "AI生成" mark.
    :param conn_id: The ``aigc_dashscope`` connection to bill.
    """

    vendor = VENDOR
    app = WAN_VIDEO
    fields = _VIDEO_FIELDS
    template_fields: Sequence[str] = (*_VIDEO_FIELDS, "conn_id")

    def __init__(
        self,
        *,
        prompt: str,
        model: str = DEFAULT_VIDEO_MODEL,
        negative_prompt: str | None = None,
        size: str | None = None,
        resolution: str | None = None,
        ratio: str | None = None,
        duration: int | str | None = None,
        audio_url: str | None = None,
        prompt_extend: bool | str | None = None,
        shot_type: str | None = None,
        seed: int | str | None = None,
        watermark: bool | str | None = None,
        conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=conn_id, **kwargs)
        self.prompt = prompt
        self.model = model
        self.negative_prompt = negative_prompt
        self.size = size
        self.resolution = resolution
        self.ratio = ratio
        self.duration = duration
        self.audio_url = audio_url
        self.prompt_extend = prompt_extend
        self.shot_type = shot_type
        self.seed = seed
        self.watermark = watermark


class WanImageToS3Operator(AigcGenerateToS3Operator, WanImageSubmitOperator):
    """DashScope Wan images from ``prompt`` into S3 in one task (see ``AigcGenerateToS3Operator``);
    images the vendor could not produce are listed in the manifest's ``skipped``.

    ``cancel_pending_on_kill=True`` cancels the task at DashScope when this task is stopped while
    the task is still PENDING (free then; a running task is not cancelled, which is logged)."""

    template_fields: Sequence[str] = (*WanImageSubmitOperator.template_fields, *ARCHIVE_TEMPLATE_FIELDS)


class WanVideoToS3Operator(AigcGenerateToS3Operator, WanVideoSubmitOperator):
    """A DashScope Wan video from ``prompt`` into S3 in one task; ``cancel_pending_on_kill`` as for
    ``WanImageToS3Operator``."""

    template_fields: Sequence[str] = (*WanVideoSubmitOperator.template_fields, *ARCHIVE_TEMPLATE_FIELDS)
