"""What a provider user relies on from the package itself: one version, a licence, light imports,
and a test suite that turns Airflow's deprecations into failures."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
import warnings

import pytest

import airflow_provider_aigc
from airflow_provider_aigc import get_provider_info

DIST = "airflow-provider-aigc"

# What a DAG file or a worker imports: none of it may pull in the simulator or aiohttp's server.
RUNTIME_MODULES = (
    "airflow_provider_aigc.operators.submit",
    "airflow_provider_aigc.operators.archive",
    "airflow_provider_aigc.sensors.job",
    "airflow_provider_aigc.triggers.job",
    "airflow_provider_aigc.hooks.zhipu",
    "airflow_provider_aigc.hooks.baidu",
    "airflow_provider_aigc.hooks.jumdata",
)


def test_version_is_single_sourced() -> None:
    version = airflow_provider_aigc.__version__
    assert importlib.metadata.version(DIST) == version
    assert get_provider_info()["versions"] == [version]


def test_the_declared_licence_ships_with_the_distribution() -> None:
    distribution = importlib.metadata.distribution(DIST)
    assert distribution.metadata["License-Expression"] == "Apache-2.0"
    licence_files = [f for f in distribution.files or [] if f.name == "LICENSE"]
    assert licence_files, "LICENSE is not part of the installed distribution"
    assert "Apache License" in licence_files[0].read_text()


def test_runtime_imports_leave_the_simulator_and_aiohttp_server_out() -> None:
    probe = (
        "import importlib, json, sys\n"
        f"for name in {list(RUNTIME_MODULES)!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(("
        "'airflow_provider_aigc.simulator', 'aiohttp.web')))))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


@pytest.mark.parametrize(
    "category",
    [
        "airflow.exceptions.RemovedInAirflow4Warning",
        "airflow.sdk.exceptions.RemovedInAirflow4Warning",
        "airflow.exceptions.AirflowProviderDeprecationWarning",
    ],
)
def test_airflow_deprecations_fail_the_suite(category: str) -> None:
    module_name, _, class_name = category.rpartition(".")
    warning_class = getattr(importlib.import_module(module_name), class_name)
    with pytest.raises(warning_class):
        warnings.warn("a deprecated Airflow API", warning_class, stacklevel=1)
