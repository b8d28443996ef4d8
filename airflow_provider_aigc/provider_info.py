"""Provider metadata: integrations, connection types and their UI forms (``get_provider_info()``).

Connection forms are declared here (``ui-field-behaviour`` and ``conn-fields``), not through hook
methods, which Airflow 3.2 deprecated; Airflow reads them without importing any hook. Plain data
only, so the entry point stays import-light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_aigc._version import __version__
from airflow_provider_aigc.vendors.registry import VENDORS

if TYPE_CHECKING:
    from airflow_provider_aigc.vendors.spec import VendorSpec

PACKAGE = "airflow_provider_aigc"
JOBS = "AIGC jobs"

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
    "max_running_jobs": {
        "label": "Max running jobs",
        "description": "How many jobs the account runs at a time (the vendor's concurrency)."
        " Empty: the vendor's documented default; 0: no limit known. Tasks refused for"
        " concurrency wait for a slot, deferred (docs/operators.md, Batches).",
        "schema": {"type": ["integer", "null"], "minimum": 0},
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


def _connection_type(spec: VendorSpec[Any]) -> dict[str, Any]:
    """One ``connection-types`` entry, from the vendor's spec."""
    form = spec.form
    return {
        "connection-type": spec.conn_type,
        "hook-class-name": spec.hook_class,
        "hook-name": form.hook_name,
        "ui-field-behaviour": {
            "hidden-fields": list(_HIDDEN),
            "relabeling": {"host": "Base URL", "login": form.login[0], "password": form.password[0]},
            "placeholders": {
                "host": spec.default_base_url,
                "login": form.login[1],
                "password": form.password[1],
                "allowed_output_hosts": "img.example.com, cdn.example.com",
            },
        },
        "conn-fields": {**_COMMON_FIELDS, **form.extras},
    }


def _modules(integration: str, *modules: str) -> dict[str, Any]:
    return {"integration-name": integration, "python-modules": [f"{PACKAGE}.{module}" for module in modules]}


def provider_info() -> dict[str, Any]:
    """The provider's metadata (validated against Airflow's provider schemas in the tests)."""
    return {
        "package-name": "airflow-provider-aigc",
        "name": f"AIGC ({', '.join(spec.integration for spec in VENDORS.values())})",
        "description": "Submit, wait for (deferrable) and archive to S3 asynchronous AIGC jobs.",
        "versions": [__version__],
        "integrations": [
            {"integration-name": JOBS, "tags": ["service"]},
            *({"integration-name": spec.integration, "tags": ["service"]} for spec in VENDORS.values()),
        ],
        "hooks": [
            {"integration-name": spec.integration, "python-modules": [spec.hook_class.rsplit(".", 1)[0]]}
            for spec in VENDORS.values()
        ],
        "operators": [_modules(JOBS, "operators.submit", "operators.archive", "operators.dashscope")],
        "sensors": [_modules(JOBS, "sensors.job")],
        "triggers": [_modules(JOBS, "triggers.job")],
        "extra-links": [f"{PACKAGE}.operators.links.AigcManifestLink"],
        "connection-types": [_connection_type(spec) for spec in VENDORS.values()],
    }
