"""``JumdataHook``: Jumdata (聚美智数) AI drawing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_aigc.exceptions import AigcAuthError, AigcError, AigcUnknownJobError
from airflow_provider_aigc.hooks.base import AigcHook, VendorProtocol
from airflow_provider_aigc.vendors import jumdata

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow_provider_aigc.hooks.connection import ConnectionSettings
    from airflow_provider_aigc.vendors.base import HttpRequest

# A task id no real job has: querying it proves the signature was accepted without paying.
PROBE_TASK_ID = "airflow-connection-test"


@dataclass(frozen=True)
class JumdataCredentials:
    """appId and appSecret; every call signs them with a fresh millisecond timestamp."""

    app_id: str
    app_secret: str = field(repr=False)


class JumdataHook(AigcHook[JumdataCredentials]):
    """Jumdata AI drawing (``ai_draw``): login = appId, password = appSecret.

    Signatures are per call (``sha256(appId + appSecret + timestamp)``) and rebuilt on each
    retry. They are kept out of logs by ``HttpRequest.secret_fields`` rather than registered
    with the masker: one new mask pattern per poll would grow the masker without bound in a
    long-running triggerer.
    """

    conn_type = "aigc_jumdata"
    default_conn_name = "aigc_jumdata_default"
    hook_name = "Jumdata AI drawing"
    protocol: ClassVar[VendorProtocol] = jumdata

    def test_connection(self) -> tuple[bool, str]:
        """Queries a task id that cannot exist: "unknown task" (code 201) means the signature passed."""
        try:
            self.get_status(PROBE_TASK_ID, jumdata.AI_DRAW)
        except AigcUnknownJobError:
            pass
        except AigcError as error:
            return False, error.message
        return True, "Jumdata accepted the appId/appSecret signature."

    def _credentials(self, settings: ConnectionSettings, app: str) -> JumdataCredentials:
        if not (settings.login and settings.password):
            raise AigcAuthError(
                f"connection {settings.conn_id!r} has no Jumdata credentials: set login to the appId"
                " and password to the appSecret",
                vendor=jumdata.VENDOR,
            )
        return JumdataCredentials(app_id=settings.login, app_secret=settings.password)

    def _secrets(self, credentials: JumdataCredentials) -> tuple[str, ...]:
        return (credentials.app_secret,)

    def _timestamp_ms(self) -> int:
        return int(self._clock() * 1000)

    def _build_submit(
        self, app: str, request: Mapping[str, Any], credentials: JumdataCredentials
    ) -> HttpRequest:
        return jumdata.build_submit(
            app, request, credentials.app_id, credentials.app_secret, self._timestamp_ms()
        )

    def _build_status(self, job_id: str, app: str, credentials: JumdataCredentials) -> HttpRequest:
        return jumdata.build_status(job_id, credentials.app_id, credentials.app_secret, self._timestamp_ms())
