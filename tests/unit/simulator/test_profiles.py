"""The simulator's vendor list is ``simulator/vendors.py``: the shared modules name no vendor."""

from __future__ import annotations

import ast
import inspect
import json
from typing import TYPE_CHECKING

import pytest

from airflow_provider_aigc.simulator import admin, app, config, connection_env, credentials, stats
from airflow_provider_aigc.simulator.faults import CODE_FAULTS
from airflow_provider_aigc.simulator.vendors import SIM_VENDORS

if TYPE_CHECKING:
    from types import ModuleType

NAMES = [profile.name for profile in SIM_VENDORS]


def _identifiers_and_strings(nodes: list[ast.stmt]) -> set[str]:
    found: set[str] = set()
    for node in (child for statement in nodes for child in ast.walk(statement)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.add(node.value)
        elif isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.alias):
            found.add(node.name)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def _vendors_named(nodes: list[ast.stmt]) -> set[str]:
    words = {word.lower() for word in _identifiers_and_strings(nodes)}
    return {name for name in NAMES for word in words if name in word}


@pytest.mark.parametrize("module", [app, admin, credentials, stats], ids=lambda m: m.__name__)
def test_shared_modules_name_no_vendor(module: ModuleType) -> None:
    tree = ast.parse(inspect.getsource(module))

    assert _vendors_named(tree.body) == set()


def test_config_tables_name_no_vendor() -> None:
    # Knobs of one vendor (cogview_images, jumdata_timestamp_window) are SimulatorConfig fields;
    # the module-level tables come from the profiles.
    tree = ast.parse(inspect.getsource(config))
    tables = [node for node in tree.body if not isinstance(node, (ast.ClassDef, ast.FunctionDef))]

    assert _vendors_named(tables) == set()


def test_profiles_are_consistent() -> None:
    apps = [name for profile in SIM_VENDORS for name in profile.latency]

    assert len(set(NAMES)) == len(NAMES)
    assert len(set(apps)) == len(apps)  # an app belongs to one vendor
    for profile in SIM_VENDORS:
        assert set(profile.faults) <= set(profile.kinds), profile.name
        offered = {fault for kind in profile.kinds for fault in profile.faults_for(kind)}
        assert set(profile.fault_codes) <= offered & set(CODE_FAULTS), profile.name
        assert all(profile.fault_codes.values()), profile.name  # the first code is the default


def test_each_profile_prints_its_own_connection() -> None:
    env = connection_env("http://127.0.0.1:1")

    types = [json.loads(value)["conn_type"] for value in env.values()]
    assert types == [f"aigc_{name}" for name in NAMES]
    assert list(credentials.DEMO_CREDENTIALS) == NAMES
    assert list(config.DEFAULT_URL_TTL) == list(config.VENDORS) == NAMES
