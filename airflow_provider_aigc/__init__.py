"""Apache Airflow provider for asynchronous AIGC (AI content generation) APIs."""

from __future__ import annotations

from typing import Any

from airflow_provider_aigc._version import __version__

__all__ = ["__version__", "get_provider_info"]


def get_provider_info() -> dict[str, Any]:
    """Provider metadata read by Airflow's ProvidersManager through the entry point (imported
    when called, so importing the package does not load every vendor's spec)."""
    from airflow_provider_aigc.provider_info import provider_info

    return provider_info()
