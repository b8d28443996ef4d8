"""``BigModelHook``: Zhipu BigModel / Z.AI v4 asynchronous media (GLM-Image, CogVideoX)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_aigc.exceptions import (
    AigcAuthError,
    AigcError,
    AigcInvalidRequestError,
    AigcUnknownJobError,
)
from airflow_provider_aigc.hooks.base import AigcHook
from airflow_provider_aigc.hooks.calls import local
from airflow_provider_aigc.vendors import bigmodel
from airflow_provider_aigc.vendors.bigmodel import BigModelCredentials

if TYPE_CHECKING:
    from airflow_provider_aigc.hooks.calls import Call
    from airflow_provider_aigc.hooks.connection import ConnectionSettings

# A task id no real task has: querying it costs nothing and proves the key was accepted.
PROBE_TASK_ID = "airflow-connection-test"


class BigModelHook(AigcHook[BigModelCredentials]):
    """BigModel v4 (``glm_image``, ``cogvideox``): password = the API key (``<id>.<secret>``),
    host = ``https://open.bigmodel.cn/api`` (default) or ``https://api.z.ai/api``.

    The key goes as ``Authorization: Bearer <key>``; with the extra ``jwt`` set, a JWT signed with
    it is minted per call instead. Either header is kept out of logs by
    ``HttpRequest.secret_fields`` (a JWT changes every call, so it is not registered with the
    masker); the key itself is masked as the connection's password.
    """

    spec = bigmodel.SPEC

    def test_connection(self) -> tuple[bool, str]:
        """Asks for a task id that cannot exist: any answer but an authentication error proves the key."""
        try:
            self.get_status(PROBE_TASK_ID, bigmodel.GLM_IMAGE)
        except (AigcUnknownJobError, AigcInvalidRequestError):
            pass
        except AigcError as error:
            return False, error.message
        else:
            return False, f"the API answered a status for task {PROBE_TASK_ID!r}: not BigModel's v4 API?"
        return True, "BigModel accepted the API key (nothing was bought)."

    def _credentials(self, settings: ConnectionSettings, app: str) -> Call[BigModelCredentials]:
        if not settings.password:
            raise AigcAuthError(
                f"connection {settings.conn_id!r} has no BigModel API key: set password to the key"
                " from the BigModel (or Z.AI) console",
                vendor=bigmodel.VENDOR,
            )
        return local(BigModelCredentials(api_key=settings.password, jwt=settings.extra_flag("jwt")))

    def _secrets(self, credentials: BigModelCredentials) -> tuple[str, ...]:
        return (credentials.api_key,)

    def _renew(
        self, settings: ConnectionSettings, credentials: BigModelCredentials, error: AigcAuthError
    ) -> bool:
        """A JWT the platform calls expired (1003) is minted again once (e.g. after clock skew)."""
        return credentials.jwt and str(error.code) == bigmodel.TOKEN_EXPIRED
