"""Provider metadata: connection types, their hooks and UI forms (kept apart to stay import-light)."""

from __future__ import annotations

from typing import Any

from airflow_provider_aigc import __version__

_HOOKS = (
    ("aigc_zhipu", "airflow_provider_aigc.hooks.zhipu.ZhipuHook"),
    ("aigc_baidu", "airflow_provider_aigc.hooks.baidu.BaiduHook"),
    ("aigc_jumdata", "airflow_provider_aigc.hooks.jumdata.JumdataHook"),
)


def provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-aigc",
        "name": "AIGC (Zhipu, Baidu ERNIE-ViLG, Jumdata)",
        "description": "Submit, wait for (deferrable) and archive to S3 asynchronous AIGC jobs.",
        "versions": [__version__],
        "connection-types": [
            {"connection-type": conn_type, "hook-class-name": hook} for conn_type, hook in _HOOKS
        ],
    }
