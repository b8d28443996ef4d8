"""Counters behind ``GET /_sim/stats``: what tests and benchmarks assert on."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any


@dataclass
class VendorStats:
    """One vendor's traffic: accepted jobs (what would be billed), polls, downloads, errors."""

    submissions: list[dict[str, Any]] = field(default_factory=list)
    polls: int = 0
    downloads: int = 0
    download_bytes: int = 0
    tokens_issued: int = 0
    errors_injected: Counter[str] = field(default_factory=Counter)
    rejections: Counter[str] = field(default_factory=Counter)

    def to_dict(self, active_jobs: int) -> dict[str, Any]:
        return {
            "submissions": {"count": len(self.submissions), "jobs": list(self.submissions)},
            "polls": self.polls,
            "downloads": {"count": self.downloads, "bytes": self.download_bytes},
            "tokens_issued": self.tokens_issued,
            "active_jobs": active_jobs,
            "errors_injected": {"total": sum(self.errors_injected.values()), **self.errors_injected},
            "rejections": dict(self.rejections),
        }


@dataclass
class Stats:
    """Counters per vendor, created on first use; ``to_dict`` reports the vendors it is given."""

    vendors: defaultdict[str, VendorStats] = field(default_factory=lambda: defaultdict(VendorStats))
    connections_opened: int = 0
    requests_total: int = 0

    def to_dict(self, active_jobs: dict[str, int]) -> dict[str, Any]:
        return {
            "vendors": {name: self.vendors[name].to_dict(active) for name, active in active_jobs.items()},
            "connections_opened": self.connections_opened,
            "requests_total": self.requests_total,
        }
