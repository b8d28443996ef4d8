"""What one simulated vendor declares about itself, so adding a vendor touches no shared table.

Each vendor module ends with one ``PROFILE``; ``simulator/vendors.py`` lists them, and the config
defaults, fault checks, demo connections, stats and routes are all derived from that list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from aiohttp import web

# Faults an API endpoint can suffer; a vendor's submit adds its own (job_failure, ...).
API_FAULTS = ("slow", "http_5xx", "malformed", "rate_limit", "quota", "error")
# The faults of an endpoint kind unless the vendor's profile names its own for that kind.
COMMON_FAULTS: Mapping[str, tuple[str, ...]] = {
    "status": API_FAULTS,
    "download": ("slow", "http_5xx", "truncate", "endless"),
    "token": ("slow", "http_5xx", "malformed"),
}


@dataclass(frozen=True)
class SimVendor:
    """One vendor's simulator facts; docs/simulator.md describes the knobs they default.

    ``connection(base_url, url_ttl)`` gives the Airflow connection (``conn_type`` first) that
    reaches this simulator with the demo credentials; ``url_ttl`` is the configured URL lifetime.
    A ``None`` default for ``concurrency`` or ``submit_rate`` means per-model limits from a table
    in the vendor's module (a number then replaces them for every model).
    """

    name: str
    latency: Mapping[str, float]  # app -> default seconds from submit to done
    kinds: tuple[str, ...]  # endpoint kinds that faults can target
    routes: Callable[[], list[web.RouteDef]]
    credentials: Mapping[str, str]
    connection: Callable[[str, float | None], dict[str, Any]]
    faults: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # kind -> faults (else common)
    fault_codes: Mapping[str, tuple[int, ...]] = field(default_factory=dict)  # fault -> codes, default first
    concurrency: int | None = 0  # unfinished jobs per account (0 = unlimited)
    submit_rate: float | None = 0.0  # submits per second per account (0 = unlimited)
    url_ttl: float | None = None  # output URL lifetime (None = never expires)
    url_ttl_required: bool = False  # whether the vendor's URLs always expire (null refused)

    def faults_for(self, kind: str) -> tuple[str, ...]:
        """The fault names allowed for one endpoint kind."""
        return self.faults.get(kind) or COMMON_FAULTS.get(kind, ())
