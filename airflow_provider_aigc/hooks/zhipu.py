"""``ZhipuHook``: CogView images and news generation (Zhipu / AMiner WuDao)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_aigc.exceptions import AigcAuthError, AigcError, AigcUnknownJobError
from airflow_provider_aigc.hooks.base import AigcHook
from airflow_provider_aigc.hooks.calls import local
from airflow_provider_aigc.vendors import zhipu
from airflow_provider_aigc.vendors.zhipu import ZhipuKeys

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow_provider_aigc.hooks.calls import Call
    from airflow_provider_aigc.hooks.connection import ConnectionSettings

# Canonical names (hidden by Airflow's REST API and UI); ``app_key``/``des3_key`` still work.
_DERIVATION_EXTRAS = ("secret_app_key", "app_secret", "secret_des3_key")
# A task id no real job has: the status query for it costs nothing and needs no keys.
PROBE_TASK_ID = "airflow-connection-test"


class ZhipuHook(AigcHook[ZhipuKeys]):
    """Zhipu CogView (``cogview``) and news (``news_generate``).

    Credentials: login/password are the console's ready-made apikey/apisecret, sent as they are;
    without them the extras ``secret_app_key``, ``app_secret`` and ``secret_des3_key`` derive
    per-API keys (the old names ``app_key`` and ``des3_key`` still work, with a warning: Airflow
    shows them in clear).
    The extra ``queue`` (default ``queue1``) fills the request's ``key`` when the task gives none.
    """

    spec = zhipu.SPEC

    def __init__(self, conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(conn_id, **kwargs)
        self._derived: dict[str, ZhipuKeys] = {}

    def test_connection(self) -> tuple[bool, str]:
        """Checks the credentials are present or derivable for every API, then asks the status
        endpoint about a task id no job has: its "unknown task" answer proves the base URL is a
        Zhipu API. Zhipu has no free authenticated call (the status query carries no keys), so
        the keys themselves are checked by Zhipu on the first submit."""
        try:
            settings = self._run(self._settings())
            for app in sorted(zhipu.APPS):
                self._keys(settings, app)
            self.get_status(PROBE_TASK_ID, zhipu.COGVIEW)
        except AigcUnknownJobError:
            pass
        except AigcError as error:
            return False, error.message
        else:
            return False, f"{settings.base_url} answered for task {PROBE_TASK_ID!r}: not a Zhipu API?"
        source = (
            "Console apikey/apisecret are set"
            if settings.login and settings.password
            else f"Per-API keys derived for {', '.join(sorted(zhipu.APPS))} from secret_app_key/app_secret/"
            "secret_des3_key"
        )
        return (
            True,
            f"{source}; {settings.base_url} answers as Zhipu (the keys are checked on the first submit).",
        )

    def _credentials(self, settings: ConnectionSettings, app: str) -> Call[ZhipuKeys]:
        return local(self._keys(settings, app))

    def _keys(self, settings: ConnectionSettings, app: str) -> ZhipuKeys:
        """The console keys, or ``app``'s keys derived from the extras (once per hook and app)."""
        if settings.login and settings.password:
            return ZhipuKeys(apikey=settings.login, apisecret=settings.password)
        if app not in self._derived:
            app_key, app_secret, des3_key = (settings.secret_extra(name) for name in _DERIVATION_EXTRAS)
            if not (app_key and app_secret and des3_key):
                raise AigcAuthError(_missing_credentials(settings), vendor=zhipu.VENDOR)
            for old, new in settings.deprecated_extras:
                self.log.warning(
                    "Connection %r uses the extra %r, which Airflow's REST API and UI show in clear;"
                    " rename it to %r (hidden there). The old name keeps working for now.",
                    settings.conn_id,
                    old,
                    new,
                )
            self._derived[app] = zhipu.derive_keys(app, app_key, app_secret, des3_key)
        return self._derived[app]

    def _secrets(self, credentials: ZhipuKeys) -> tuple[str, ...]:
        return (credentials.apikey, credentials.apisecret)

    def _with_defaults(self, settings: ConnectionSettings, params: Mapping[str, Any]) -> Mapping[str, Any]:
        if params.get("key") is not None:
            return params
        return {**params, "key": settings.extra_text("queue") or zhipu.DEFAULT_QUEUE}


def _missing_credentials(settings: ConnectionSettings) -> str:
    """Which fields to set, naming the ones that are missing (never their values)."""
    missing = [name for name in _DERIVATION_EXTRAS if not settings.secret_extra(name)]
    half = "login" if settings.password else "password" if settings.login else None
    console = f" (the {half} is missing)" if half else ""
    return (
        f"connection {settings.conn_id!r} has no Zhipu credentials: set login and password to the"
        f" console apikey and apisecret{console}, or set the extras secret_app_key, app_secret and"
        f" secret_des3_key (missing: {', '.join(missing)})"
    )
