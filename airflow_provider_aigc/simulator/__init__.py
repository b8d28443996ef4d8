"""The embedded vendor simulator: every vendor's documented protocol on one local port.

Run it with ``python -m airflow_provider_aigc.simulator``; use it from tests and benchmarks through
``run_in_background`` or ``build_app``. docs/simulator.md describes every endpoint and knob.
"""

from __future__ import annotations

from airflow_provider_aigc.simulator.app import build_app
from airflow_provider_aigc.simulator.clock import ManualClock, SystemClock
from airflow_provider_aigc.simulator.config import CogviewImages, SimulatorConfig
from airflow_provider_aigc.simulator.credentials import DEMO_CREDENTIALS, connection_env
from airflow_provider_aigc.simulator.faults import FaultRule
from airflow_provider_aigc.simulator.server import RunningServer, SimulatorHandle, run_in_background, serve

__all__ = [
    "DEMO_CREDENTIALS",
    "CogviewImages",
    "FaultRule",
    "ManualClock",
    "RunningServer",
    "SimulatorConfig",
    "SimulatorHandle",
    "SystemClock",
    "build_app",
    "connection_env",
    "run_in_background",
    "serve",
]
