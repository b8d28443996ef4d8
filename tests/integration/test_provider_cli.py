"""The real ``airflow`` CLI discovers the provider, its hooks, and its connection forms."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import airflow_provider_aigc

pytestmark = pytest.mark.integration

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
CONNECTION_TYPES = {
    "aigc_zhipu": ("airflow_provider_aigc.hooks.zhipu.ZhipuHook", "Zhipu AIGC (CogView, news)"),
    "aigc_baidu": ("airflow_provider_aigc.hooks.baidu.BaiduHook", "Baidu ERNIE-ViLG"),
    "aigc_jumdata": ("airflow_provider_aigc.hooks.jumdata.JumdataHook", "Jumdata AI drawing"),
    "aigc_bigmodel": (
        "airflow_provider_aigc.hooks.bigmodel.BigModelHook",
        "Zhipu BigModel v4 (GLM-Image, CogVideoX)",
    ),
    "aigc_dashscope": (
        "airflow_provider_aigc.hooks.dashscope.DashScopeHook",
        "Alibaba Cloud Model Studio (DashScope)",
    ),
}


@pytest.fixture
def airflow_cli(tmp_path: Path) -> Any:
    """Run ``airflow <args> -o json`` against a fresh AIRFLOW_HOME; returns the parsed output."""
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}

    def run(*args: str) -> list[dict[str, Any]]:
        result = subprocess.run(
            [AIRFLOW, *args, "-o", "json"], env=env, capture_output=True, text=True, timeout=180, check=False
        )
        assert result.returncode == 0, result.stderr[-2000:]
        rows: list[dict[str, Any]] = json.loads(result.stdout)
        return rows

    return run


def test_providers_list_shows_the_provider(airflow_cli: Any) -> None:
    rows = airflow_cli("providers", "list")
    (ours,) = [row for row in rows if row["package_name"] == "airflow-provider-aigc"]
    assert ours["version"] == airflow_provider_aigc.__version__


def test_providers_hooks_shows_every_connection_type(airflow_cli: Any) -> None:
    rows = airflow_cli("providers", "hooks")
    found = {
        row["connection_type"]: (row["class"], row["hook_name"])
        for row in rows
        if row["package_name"] == "airflow-provider-aigc"
    }
    assert found == CONNECTION_TYPES
    assert {row["conn_id_attribute_name"] for row in rows if row["connection_type"] in found} == {"conn_id"}


def test_providers_widgets_shows_the_declared_extras(airflow_cli: Any) -> None:
    rows = airflow_cli("providers", "widgets")
    names = {
        row["connection_parameter_name"] for row in rows if row["package_name"] == "airflow-provider-aigc"
    }
    assert {
        "extra__aigc_zhipu__secret_des3_key",
        "extra__aigc_baidu__timeout",
        "extra__aigc_jumdata__max_retries",
    } <= names
