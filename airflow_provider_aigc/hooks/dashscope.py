"""``DashScopeHook``: Alibaba Cloud Model Studio (DashScope) Wan images and videos."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from airflow_provider_aigc.exceptions import AigcAuthError, AigcError, AigcUnknownJobError
from airflow_provider_aigc.hooks.base import AigcHook
from airflow_provider_aigc.hooks.calls import local
from airflow_provider_aigc.vendors import dashscope
from airflow_provider_aigc.vendors.dashscope import DashScopeCredentials, ListedTask

if TYPE_CHECKING:
    from airflow_provider_aigc.hooks.calls import Call
    from airflow_provider_aigc.hooks.connection import ConnectionSettings

# A task id no real task has: querying it answers UNKNOWN once the key is accepted, buying nothing.
PROBE_TASK_ID = "airflow-connection-test"
# The listing's window is at most 24 hours (document).
MAX_LIST_WINDOW = timedelta(hours=24)


class DashScopeHook(AigcHook[DashScopeCredentials]):
    """DashScope Wan (``wan_image``, ``wan_video``): password = the API key (``sk-...``), bound to
    the region of the connection's host; extra ``workspace`` for a RAM user's key.

    Besides submit and status: ``cancel`` (free, only while a task is PENDING) and
    ``list_tasks``, the listing that finds the candidate task of an unconfirmed submit.
    """

    spec = dashscope.SPEC
    can_cancel = True

    def test_connection(self) -> tuple[bool, str]:
        """Queries a task id no task has: ``UNKNOWN`` means the key and the region's host agree."""
        try:
            self.get_status(PROBE_TASK_ID, dashscope.WAN_IMAGE)
        except AigcUnknownJobError:
            return True, "DashScope accepted the API key (a task query bought nothing)."
        except AigcError as error:
            return False, error.message
        return False, f"DashScope answered for task {PROBE_TASK_ID!r}: not a DashScope API?"

    def list_tasks(self, model: str, start: datetime, end: datetime | None = None) -> list[ListedTask]:
        """This account's ``model`` tasks created from ``start`` to ``end`` (default now; the
        window is cut to the documented 24 hours)."""
        return self._run(self._list(model, start, end or datetime.now(timezone.utc)))

    def _cancel(self, job_id: str) -> Call[None]:
        """Cancel a PENDING task (free); a task already running answers ``UnsupportedOperation``."""
        settings = yield from self._settings()
        yield from self._call(
            settings,
            dashscope.WAN_IMAGE,
            lambda credentials: dashscope.build_cancel(job_id, credentials),
            dashscope.parse_cancel,
            resend_safe=True,
        )

    def _list(self, model: str, start: datetime, end: datetime) -> Call[list[ListedTask]]:
        settings = yield from self._settings()
        start = max(start, end - MAX_LIST_WINDOW)
        tasks: list[ListedTask] = yield from self._call(
            settings,
            dashscope.WAN_IMAGE,
            lambda credentials: dashscope.build_list(credentials, model=model, start=start, end=end),
            dashscope.parse_list,
            resend_safe=True,
        )
        return tasks

    def _credentials(self, settings: ConnectionSettings, app: str) -> Call[DashScopeCredentials]:
        if not settings.password:
            raise AigcAuthError(
                f"connection {settings.conn_id!r} has no DashScope API key: set its password to the"
                " Model Studio API key (sk-...) of the region its host names",
                vendor=dashscope.VENDOR,
            )
        return local(
            DashScopeCredentials(api_key=settings.password, workspace=settings.extra_text("workspace"))
        )

    def _secrets(self, credentials: DashScopeCredentials) -> tuple[str, ...]:
        return (credentials.api_key,)
