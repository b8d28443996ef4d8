"""Everything one simulator instance remembers, shared by the handlers through the app."""

from __future__ import annotations

import collections
import hashlib
import itertools
import os
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from airflow_provider_aigc.simulator.clock import Clock, SystemClock
from airflow_provider_aigc.simulator.jobs import JobStore
from airflow_provider_aigc.simulator.signing import UrlSigner
from airflow_provider_aigc.simulator.stats import Stats

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_aigc.simulator.config import SimulatorConfig
    from airflow_provider_aigc.simulator.jobs import Job


@dataclass
class Token:
    """A Baidu access token: valid until ``expires_at`` and for ``max_calls`` API calls."""

    expires_at: float
    max_calls: int | None
    calls: int = 0


class SimState:
    """Config, clock, random generator, jobs, tokens and counters of one simulator."""

    def __init__(self, config: SimulatorConfig, clock: Clock | None = None) -> None:
        self.startup_config = config.copy()
        self.config = config.copy()
        self.clock: Clock = clock or SystemClock()
        self.rng = random.Random(config.seed)
        secret = os.urandom(32) if config.seed is None else hashlib.sha256(b"sim%d" % config.seed).digest()
        self.signer = UrlSigner(secret)
        self.jobs = JobStore()
        self.tokens: dict[str, Token] = {}
        # Client request ids already taken (BigModel refuses a repeated one with 1231).
        self.request_ids: set[str] = set()
        self.stats = Stats()
        self.in_flight = 0  # vendor requests being answered now (a reset does not touch it)
        self._serial = itertools.count(1)
        self._submit_times: dict[str, collections.deque[float]] = {}

    def now(self) -> float:
        return self.clock.now()

    def serial(self) -> int:
        """A fresh number for request ids (log_id, taskNo), kept apart from the seeded generator."""
        return next(self._serial)

    def new_job_id(self, vendor: str, draw: Callable[[], str]) -> str:
        """``draw()`` until it gives an id no job of ``vendor`` holds."""
        job_id = draw()
        while (vendor, job_id) in self.jobs:
            job_id = draw()
        return job_id

    def at_capacity(self, vendor: str, now: float) -> bool:
        """Whether ``vendor``'s unfinished jobs fill its configured concurrency (0: unlimited)."""
        limit = self.config.concurrency[vendor]
        return bool(limit) and self.jobs.active(vendor, now) >= (limit or 0)

    def over_submit_rate(
        self, vendor: str, now: float, *, model: str | None = None, rate: float | None = None
    ) -> bool:
        """Whether a submit now exceeds ``vendor``'s submits per second (0: unlimited), or with
        ``model`` that model's ``rate`` (DashScope counts per model); a submit within the rate is
        counted, a refused one is not (the vendors count what they serve)."""
        if rate is None:
            rate = self.config.submit_rate[vendor]
        if not rate:
            return False
        window = self._submit_times.setdefault(
            vendor if model is None else f"{vendor}/{model}", collections.deque()
        )
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= rate:
            return True
        window.append(now)
        return False

    def accept(self, job: Job) -> None:
        """Keep an accepted job and count its submission."""
        self.jobs.add(job)
        self.stats.vendors[job.vendor].submissions.append(
            {"job_id": job.job_id, "app": job.app, "prompt": job.prompt, "submitted_at": job.submitted_at}
        )

    def configure(self, patch: dict[str, object]) -> SimulatorConfig:
        """Merge ``patch`` into the config (raises ``ValueError`` and changes nothing if invalid)."""
        self.config = self.config.merged(patch)
        if patch.get("seed") is not None:
            self.rng.seed(self.config.seed)
        return self.config

    def reset(self, *, config: bool) -> None:
        """Forget jobs, tokens and counters; with ``config`` also return to the start-up config."""
        self.jobs.clear()
        self.tokens.clear()
        self._submit_times.clear()
        self.request_ids.clear()
        self.stats = Stats()
        if config:
            self.config = self.startup_config.copy()
            self.rng.seed(self.config.seed)


STATE = web.AppKey("state", SimState)
