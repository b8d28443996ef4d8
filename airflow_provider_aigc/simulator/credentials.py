"""The demo credentials the simulator accepts, and Airflow connections that use them."""

from __future__ import annotations

import json
from typing import Any

DEMO_CREDENTIALS: dict[str, dict[str, str]] = {
    "zhipu": {
        "app_key": "demo-zhipu-app-key",
        "app_secret": "demo-zhipu-app-secret",
        "des3_key": "demo-zhipu-des3-key-24b!",
        "apikey": "demo-zhipu-console-apikey",
        "apisecret": "demo-zhipu-console-apisecret",
    },
    "baidu": {"api_key": "demo-baidu-api-key", "secret_key": "demo-baidu-secret-key"},
    "jumdata": {"app_id": "demo-jumdata-app-id", "app_secret": "demo-jumdata-app-secret"},
    "bigmodel": {"api_key": "demo-bigmodel-key-id.demo-bigmodel-key-secret"},
    "dashscope": {"api_key": "sk-demo-dashscope-api-key"},
}


def connection_env(base_url: str, zhipu_url_ttl: float = 86400.0) -> dict[str, str]:
    """``AIRFLOW_CONN_*`` variables (JSON form) for the default connection of each vendor."""
    zhipu, baidu, jumdata, dashscope = (
        DEMO_CREDENTIALS[v] for v in ("zhipu", "baidu", "jumdata", "dashscope")
    )
    private = {"allow_private_output_hosts": True}
    connections: dict[str, dict[str, Any]] = {
        "aigc_zhipu": {
            "host": base_url,
            "extra": {
                "secret_app_key": zhipu["app_key"],
                "app_secret": zhipu["app_secret"],
                "secret_des3_key": zhipu["des3_key"],
                "queue": "queue1",
                "output_ttl_seconds": zhipu_url_ttl,
                **private,
            },
        },
        "aigc_baidu": {
            "host": base_url,
            "login": baidu["api_key"],
            "password": baidu["secret_key"],
            "extra": private,
        },
        "aigc_jumdata": {
            "host": base_url,
            "login": jumdata["app_id"],
            "password": jumdata["app_secret"],
            "extra": private,
        },
        "aigc_bigmodel": {
            "host": base_url,
            "password": DEMO_CREDENTIALS["bigmodel"]["api_key"],
            "extra": private,
        },
        "aigc_dashscope": {"host": f"{base_url}/api/v1", "password": dashscope["api_key"], "extra": private},
    }
    return {
        f"AIRFLOW_CONN_{conn_type.upper()}_DEFAULT": json.dumps(
            {"conn_type": conn_type, **fields}, ensure_ascii=False, separators=(",", ":")
        )
        for conn_type, fields in connections.items()
    }
