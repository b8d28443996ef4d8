"""``JumdataHook``: Jumdata (聚美智数) AI drawing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_aigc.exceptions import AigcAuthError, AigcError, AigcUnknownJobError
from airflow_provider_aigc.hooks.base import AigcHook
from airflow_provider_aigc.hooks.calls import local
from airflow_provider_aigc.vendors import jumdata
from airflow_provider_aigc.vendors.jumdata import JumdataCredentials

if TYPE_CHECKING:
    from airflow_provider_aigc.hooks.calls import Call
    from airflow_provider_aigc.hooks.connection import ConnectionSettings

# A task id no real job has: querying it proves the signature was accepted without paying.
PROBE_TASK_ID = "airflow-connection-test"


class JumdataHook(AigcHook[JumdataCredentials]):
    """Jumdata AI drawing (``ai_draw``): login = appId, password = appSecret.

    Signatures are per call (``sha256(appId + appSecret + timestamp)``) and rebuilt on each
    retry. They are kept out of logs by ``HttpRequest.secret_fields`` rather than registered
    with the masker: one new mask pattern per poll would grow the masker without bound in a
    long-running triggerer.
    """

    spec = jumdata.SPEC

    def test_connection(self) -> tuple[bool, str]:
        """Queries a task id that cannot exist: "unknown task" (code 201) means the signature passed."""
        try:
            self.get_status(PROBE_TASK_ID, jumdata.AI_DRAW)
        except AigcUnknownJobError:
            pass
        except AigcError as error:
            return False, error.message
        return True, "Jumdata accepted the appId/appSecret signature."

    def _credentials(self, settings: ConnectionSettings, app: str) -> Call[JumdataCredentials]:
        if not (settings.login and settings.password):
            raise AigcAuthError(
                f"connection {settings.conn_id!r} has no Jumdata credentials: set login to the appId"
                " and password to the appSecret",
                vendor=jumdata.VENDOR,
            )
        return local(JumdataCredentials(app_id=settings.login, app_secret=settings.password))

    def _secrets(self, credentials: JumdataCredentials) -> tuple[str, ...]:
        return (credentials.app_secret,)
