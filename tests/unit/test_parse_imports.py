"""DAG parsing imports the operators in every task process: the triggerer's HTTP client stays out."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_operators_and_sensor_does_not_import_aiohttp() -> None:
    code = (
        "import sys; import airflow_provider_aigc.operators.submit, airflow_provider_aigc.sensors.job, "
        "airflow_provider_aigc.operators.archive, airflow_provider_aigc.operators.generate; "
        "print('aiohttp' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "False"
