"""The environment is the locked one: make venv installs exactly what uv.lock pins.

`make latest-check` deselects the first test: its venv is unlocked on purpose, and
scripts/lock_drift.py prints the difference instead.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

import lock_drift  # noqa: E402


def test_the_environment_matches_uv_lock() -> None:
    assert lock_drift.drift(lock_drift.locked_versions(), lock_drift.installed_versions()) == []


def test_drift_names_versions_the_lock_does_not_pin(tmp_path: Path) -> None:
    lock = tmp_path / "uv.lock"
    pypi = 'source = { registry = "https://pypi.org/simple" }'
    lock.write_text(
        "version = 1\n"
        f'[[package]]\nname = "Moto"\nversion = "5.2.5"\n{pypi}\n'
        f'[[package]]\nname = "deprecated"\nversion = "1.3.1"\n{pypi}\n'
        f'[[package]]\nname = "deprecated"\nversion = "3.0.1"\n{pypi}\n'
        '[[package]]\nname = "airflow-provider-aigc"\nsource = { editable = "." }\n',
        encoding="utf-8",
    )
    locked = lock_drift.locked_versions(lock)
    installed = {"moto": "5.2.6", "deprecated": "3.0.1", "airflow-provider-aigc": "0.2.0", "extra": "1"}
    assert lock_drift.drift(locked, installed) == [("moto", "5.2.5", "5.2.6")]
