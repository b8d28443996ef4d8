"""The demo credentials the simulator accepts, and Airflow connections that use them."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from airflow_provider_aigc.simulator.config import DEFAULT_URL_TTL
from airflow_provider_aigc.simulator.vendors import SIM_VENDORS

if TYPE_CHECKING:
    from collections.abc import Mapping

DEMO_CREDENTIALS: dict[str, dict[str, str]] = {
    profile.name: dict(profile.credentials) for profile in SIM_VENDORS
}


def connection_env(base_url: str, url_ttl: Mapping[str, float | None] = DEFAULT_URL_TTL) -> dict[str, str]:
    """``AIRFLOW_CONN_*`` variables (JSON form) for the default connection of each vendor.

    ``url_ttl`` is the simulator's output URL lifetime per vendor (a connection may declare it).
    """
    env = {}
    for profile in SIM_VENDORS:
        fields = profile.connection(base_url, url_ttl[profile.name])
        # The simulator serves outputs from 127.0.0.1, which the hooks refuse unless allowed.
        fields["extra"] = {**fields.get("extra", {}), "allow_private_output_hosts": True}
        name = f"AIRFLOW_CONN_{fields['conn_type'].upper()}_DEFAULT"
        env[name] = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return env
