"""Apache Airflow provider for asynchronous AIGC (AI content generation) APIs."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def get_provider_info() -> dict[str, Any]:
    """Provider metadata read by Airflow's ProvidersManager through the entry point."""
    from airflow_provider_aigc.provider_info import provider_info

    return provider_info()
