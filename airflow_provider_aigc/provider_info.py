"""Provider metadata: integrations, connection types and their UI forms (``get_provider_info()``).

Connection forms are declared here (``ui-field-behaviour`` and ``conn-fields``), not through hook
methods, which Airflow 3.2 deprecated; Airflow reads them without importing any hook. Plain data
only, so the entry point stays import-light.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_aigc import __version__
from airflow_provider_aigc.hooks import HOOK_CLASSES
from airflow_provider_aigc.vendors import baidu, jumdata, zhipu

PACKAGE = "airflow_provider_aigc"
JOBS = "AIGC jobs"
ZHIPU, BAIDU, JUMDATA = "Zhipu AIGC", "Baidu ERNIE-ViLG", "Jumdata AI drawing"

# Hidden because ``host`` carries the whole base URL; both are still honoured when set
# (e.g. in an AIRFLOW_CONN_* URI).
_HIDDEN = ["port", "schema"]

_COMMON_FIELDS: dict[str, Any] = {
    "timeout": {
        "label": "Timeout (seconds)",
        "description": "Per-request HTTP timeout.",
        "schema": {"type": ["number", "null"], "exclusiveMinimum": 0, "default": 30},
    },
    "max_retries": {
        "label": "Max retries",
        "description": "Retries of a rate-limited or failed call, with jittered backoff."
        " A submit is only retried when the vendor proved it did not take the job.",
        "schema": {"type": ["integer", "null"], "minimum": 0, "default": 3},
    },
    "output_ttl_seconds": {
        "label": "Output URL lifetime (seconds)",
        "description": "How long output URLs stay valid when the vendor does not say (Zhipu)."
        " Empty: expiry unknown.",
        "schema": {"type": ["number", "null"], "exclusiveMinimum": 0},
    },
    "allowed_output_hosts": {
        "label": "Allowed output hosts",
        "description": "Comma-separated host names (exact, or *.suffix) the archive step may download"
        " outputs from. Empty: any public host.",
        "schema": {"type": ["string", "null"]},
    },
    "allow_private_output_hosts": {
        "label": "Allow private output hosts",
        "description": "Allow downloading outputs from loopback or private-network addresses"
        " (needed for the local simulator).",
        "schema": {"type": ["boolean", "null"], "default": False},
    },
}

_ZHIPU_FIELDS: dict[str, Any] = {
    "queue": {
        "label": "Queue",
        "description": "The request's queue name (key) when a task does not set one.",
        "schema": {"type": ["string", "null"], "default": "queue1"},
    },
    # Secret extras carry "secret" in their names: Airflow's REST API and UI hide an extra by its
    # name only (``[core] sensitive_var_conn_names`` words), whatever the form declares. The
    # names before 0.2, ``app_key`` and ``des3_key``, still work (shown in clear, with a warning).
    "secret_app_key": {
        "label": "App key",
        "description": "With App secret and DES3 key, derives per-API keys when login/password are empty"
        " (formerly the extra app_key).",
        "schema": {"type": ["string", "null"], "format": "password"},
    },
    "app_secret": {
        "label": "App secret",
        "description": "Used to derive per-API keys when login/password are empty.",
        "schema": {"type": ["string", "null"], "format": "password"},
    },
    "secret_des3_key": {
        "label": "DES3 key",
        "description": "3DES key for key derivation (formerly the extra des3_key): standard base64 of"
        " 16 or 24 bytes, or 16 or 24 bytes of text. A 24-character value ending in '==' is read as"
        " base64.",
        "schema": {"type": ["string", "null"], "format": "password"},
    },
}


def _connection_type(
    vendor: str,
    hook_name: str,
    default_base_url: str,
    login: tuple[str, str],
    password: tuple[str, str],
    extra_fields: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One ``connection-types`` entry; ``login``/``password`` are (label, placeholder)."""
    return {
        "connection-type": f"aigc_{vendor}",
        "hook-class-name": HOOK_CLASSES[vendor],
        "hook-name": hook_name,
        "ui-field-behaviour": {
            "hidden-fields": list(_HIDDEN),
            "relabeling": {"host": "Base URL", "login": login[0], "password": password[0]},
            "placeholders": {
                "host": default_base_url,
                "login": login[1],
                "password": password[1],
                "allowed_output_hosts": "img.example.com, cdn.example.com",
            },
        },
        "conn-fields": {**_COMMON_FIELDS, **(extra_fields or {})},
    }


def _modules(integration: str, *modules: str) -> dict[str, Any]:
    return {"integration-name": integration, "python-modules": [f"{PACKAGE}.{module}" for module in modules]}


def provider_info() -> dict[str, Any]:
    """The provider's metadata (validated against Airflow's provider schemas in the tests)."""
    return {
        "package-name": "airflow-provider-aigc",
        "name": "AIGC (Zhipu, Baidu ERNIE-ViLG, Jumdata)",
        "description": "Submit, wait for (deferrable) and archive to S3 asynchronous AIGC jobs.",
        "versions": [__version__],
        "integrations": [
            {"integration-name": JOBS, "tags": ["service"]},
            {"integration-name": ZHIPU, "tags": ["service"]},
            {"integration-name": BAIDU, "tags": ["service"]},
            {"integration-name": JUMDATA, "tags": ["service"]},
        ],
        "hooks": [
            _modules(ZHIPU, "hooks.zhipu"),
            _modules(BAIDU, "hooks.baidu"),
            _modules(JUMDATA, "hooks.jumdata"),
        ],
        "operators": [_modules(JOBS, "operators.submit", "operators.archive")],
        "sensors": [_modules(JOBS, "sensors.job")],
        "triggers": [_modules(JOBS, "triggers.job")],
        "extra-links": [f"{PACKAGE}.operators.links.AigcManifestLink"],
        "connection-types": [
            _connection_type(
                zhipu.VENDOR,
                "Zhipu AIGC (CogView, news)",
                zhipu.DEFAULT_BASE_URL,
                ("apikey (console)", "console apikey, or leave empty to derive from the app key"),
                ("apisecret (console)", "console apisecret, or leave empty to derive"),
                _ZHIPU_FIELDS,
            ),
            _connection_type(
                baidu.VENDOR,
                "Baidu ERNIE-ViLG",
                baidu.DEFAULT_BASE_URL,
                ("API Key", "API Key of the Baidu AI Cloud application"),
                ("Secret Key", "Secret Key of the Baidu AI Cloud application"),
            ),
            _connection_type(
                jumdata.VENDOR,
                "Jumdata AI drawing",
                jumdata.DEFAULT_BASE_URL,
                ("appId", "appId assigned by Jumdata"),
                ("appSecret", "appSecret assigned by Jumdata"),
            ),
        ],
    }
