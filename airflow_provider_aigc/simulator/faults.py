"""Fault injection shared by every endpoint: when a fault fires and what it does to a response."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from airflow_provider_aigc.simulator.state import SimState

CODE_FAULTS = ("rate_limit", "quota", "error")


@dataclass
class FaultRule:
    """When a fault fires: on the next ``next`` matching requests, otherwise with ``probability``.

    ``next`` counts down as the rule fires (so ``GET /_sim/config`` shows what is left).
    ``delay`` belongs to ``slow``, ``status`` to ``http_5xx``, ``code`` to the code-carrying faults.
    """

    probability: float = 0.0
    next: int = 0
    delay: float = 5.0
    status: int = 503
    code: int | None = None

    def to_dict(self, fault: str) -> dict[str, Any]:
        out: dict[str, Any] = {"probability": self.probability, "next": self.next}
        if fault == "slow":
            out["delay"] = self.delay
        elif fault in ("http_5xx", "accepted_5xx"):
            out["status"] = self.status
        elif fault in CODE_FAULTS:
            out["code"] = self.code
        return out


def fire(state: SimState, vendor: str, kind: str, fault: str) -> FaultRule | None:
    """The rule if ``fault`` fires for this request (counting it), else None."""
    rule = state.config.faults.get(vendor, {}).get(kind, {}).get(fault)
    if rule is None:
        return None
    if rule.next > 0:
        rule.next -= 1
    elif not (rule.probability > 0 and state.rng.random() < rule.probability):
        return None
    state.stats.vendors[vendor].errors_injected[f"{kind}.{fault}"] += 1
    return rule


async def before(state: SimState, vendor: str, kind: str) -> web.Response | None:
    """The faults that act before any work: ``slow`` (then carry on) and ``http_5xx``."""
    if not state.config.faults.get(vendor, {}).get(kind):
        return None
    slow = fire(state, vendor, kind, "slow")
    if slow is not None:
        await asyncio.sleep(slow.delay)
    failure = fire(state, vendor, kind, "http_5xx")
    if failure is None:
        return None
    return web.Response(
        status=failure.status,
        text=f"<html><body><h1>{failure.status}</h1>upstream unavailable (simulated)</body></html>",
        content_type="text/html",
    )


def injected_code(state: SimState, vendor: str, kind: str) -> int | None:
    """A vendor code from ``rate_limit``, ``quota`` or ``error`` if one fires."""
    for fault in CODE_FAULTS:
        rule = fire(state, vendor, kind, fault)
        if rule is not None:
            return rule.code
    return None


def json_response(state: SimState, vendor: str, kind: str, body: Any, status: int = 200) -> web.Response:
    """The JSON answer, cut in half when ``malformed`` fires."""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    if fire(state, vendor, kind, "malformed") is not None:
        text = text[: len(text) // 2]
    return web.Response(text=text, status=status, content_type="application/json")
