"""The provider's metadata against Airflow's own schemas, its hooks, and what Airflow makes of it."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import airflow
import jsonschema
import pytest

from airflow_provider_aigc import get_provider_info
from airflow_provider_aigc.hooks.connection import SECRET_EXTRA_RENAMES

SCHEMAS = Path(airflow.__file__).parent
COMMON_EXTRAS = {
    "timeout",
    "max_retries",
    "max_running_jobs",
    "output_ttl_seconds",
    "allowed_output_hosts",
    "allow_private_output_hosts",
}
HOOKS = {
    "aigc_zhipu": ("ZhipuHook", "aigc_zhipu_default", "Zhipu AIGC (CogView, news)"),
    "aigc_baidu": ("BaiduHook", "aigc_baidu_default", "Baidu ERNIE-ViLG"),
    "aigc_jumdata": ("JumdataHook", "aigc_jumdata_default", "Jumdata AI drawing"),
}


def _schema(name: str) -> dict[str, Any]:
    return dict(json.loads((SCHEMAS / name).read_text()))


def _connection_types() -> dict[str, dict[str, Any]]:
    return {entry["connection-type"]: entry for entry in get_provider_info()["connection-types"]}


def test_matches_the_runtime_provider_info_schema() -> None:
    jsonschema.validate(get_provider_info(), _schema("provider_info.schema.json"))


def test_connection_types_match_the_provider_yaml_schema() -> None:
    schema = _schema("provider.yaml.schema.json")["properties"]["connection-types"]
    jsonschema.validate(get_provider_info()["connection-types"], schema)


def test_field_behaviour_matches_the_ui_schema() -> None:
    schema = _schema("customized_form_field_behaviours.schema.json")
    for entry in _connection_types().values():
        behaviour = entry["ui-field-behaviour"]
        converted = {key.replace("-", "_"): value for key, value in behaviour.items()}
        jsonschema.validate(converted, schema)


@pytest.mark.parametrize("conn_type", sorted(HOOKS))
def test_each_connection_type_names_its_hook(conn_type: str) -> None:
    entry = _connection_types()[conn_type]
    module_name, class_name = entry["hook-class-name"].rsplit(".", 1)
    hook = getattr(importlib.import_module(module_name), class_name)
    assert (class_name, hook.default_conn_name, hook.hook_name) == HOOKS[conn_type]
    assert hook.conn_type == conn_type
    assert hook.conn_name_attr == "conn_id"
    assert entry["hook-name"] == hook.hook_name
    assert entry["ui-field-behaviour"]["placeholders"]["host"] == hook.spec.default_base_url


def test_declared_extras_are_the_ones_the_hooks_read() -> None:
    types = _connection_types()
    assert set(types["aigc_baidu"]["conn-fields"]) == COMMON_EXTRAS
    assert set(types["aigc_jumdata"]["conn-fields"]) == COMMON_EXTRAS
    assert set(types["aigc_zhipu"]["conn-fields"]) == COMMON_EXTRAS | {
        "queue",
        "secret_app_key",
        "app_secret",
        "secret_des3_key",
    }
    secret = {
        (conn_type, name)
        for conn_type, entry in types.items()
        for name, field in entry["conn-fields"].items()
        if field["schema"].get("format") == "password"
    }
    assert secret == {("aigc_zhipu", name) for name in SECRET_EXTRA_RENAMES}


def test_every_secret_field_is_one_airflow_redacts_by_name() -> None:
    """Regression (issue 10 item 7): Airflow's REST API and UI redact an extra by its *name*
    (``should_hide_value_for_key``); ``format: password`` only masks the form input. ``des3_key``
    and ``app_key`` were shown in clear."""
    from airflow._shared.secrets_masker import redact, should_hide_value_for_key

    for entry in _connection_types().values():
        for name, field in entry["conn-fields"].items():
            is_secret = field["schema"].get("format") == "password"
            assert should_hide_value_for_key(name) == is_secret, name
    extra = {name: "a-secret-value" for name in SECRET_EXTRA_RENAMES}
    assert "a-secret-value" not in json.dumps(redact(extra))


def test_relabels_the_credential_fields() -> None:
    labels = {
        conn_type: entry["ui-field-behaviour"]["relabeling"]
        for conn_type, entry in _connection_types().items()
    }
    assert (labels["aigc_zhipu"]["login"], labels["aigc_zhipu"]["password"]) == (
        "apikey (console)",
        "apisecret (console)",
    )
    assert (labels["aigc_baidu"]["login"], labels["aigc_baidu"]["password"]) == ("API Key", "Secret Key")
    assert (labels["aigc_jumdata"]["login"], labels["aigc_jumdata"]["password"]) == ("appId", "appSecret")
    assert labels["aigc_dashscope"]["password"] == "API Key"


def test_integration_modules_are_listed_under_declared_integrations() -> None:
    info = get_provider_info()
    integrations = {item["integration-name"] for item in info["integrations"]}
    modules = {
        module
        for kind in ("hooks", "operators", "sensors", "triggers")
        for entry in info[kind]
        if entry["integration-name"] in integrations
        for module in entry["python-modules"]
    }
    assert modules == {
        "airflow_provider_aigc.hooks.zhipu",
        "airflow_provider_aigc.hooks.baidu",
        "airflow_provider_aigc.hooks.jumdata",
        "airflow_provider_aigc.hooks.bigmodel",
        "airflow_provider_aigc.hooks.dashscope",
        "airflow_provider_aigc.operators.submit",
        "airflow_provider_aigc.operators.dashscope",
        "airflow_provider_aigc.operators.archive",
        "airflow_provider_aigc.sensors.job",
        "airflow_provider_aigc.triggers.job",
    }


def test_entry_point_serves_the_provider_info() -> None:
    (entry,) = [
        ep
        for ep in entry_points(group="apache_airflow_provider")
        if ep.value.startswith("airflow_provider_aigc")
    ]
    assert entry.load()() == get_provider_info()


def test_reading_provider_info_imports_no_heavy_dependency() -> None:
    heavy = "{'airflow', 'aiohttp', 'boto3', 'Crypto', 'requests'}"
    code = (
        "import sys, airflow_provider_aigc as p; p.get_provider_info();"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {heavy}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_airflow_loads_the_connection_forms() -> None:
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()  # type: ignore[no-untyped-call]
    widgets = manager.connection_form_widgets
    assert widgets["extra__aigc_zhipu__secret_des3_key"].is_sensitive
    assert widgets["extra__aigc_zhipu__secret_app_key"].is_sensitive
    assert not widgets["extra__aigc_baidu__timeout"].is_sensitive
    assert manager.field_behaviours["aigc_jumdata"]["hidden_fields"] == ["port", "schema"]
    assert manager.field_behaviours["aigc_baidu"]["relabeling"]["login"] == "API Key"
