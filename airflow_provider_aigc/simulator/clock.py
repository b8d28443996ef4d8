"""Time as the simulator sees it: jobs progress and URLs expire by this clock, never by sleeps."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Epoch seconds that only move forward, plus a way to jump ahead."""

    def now(self) -> float: ...

    def advance(self, seconds: float) -> None: ...


class SystemClock:
    """Wall time anchored once and then driven by the monotonic clock.

    A wall-clock step (NTP) can therefore never make a job's progress go backwards.
    """

    def __init__(self) -> None:
        self._anchor = time.time() - time.monotonic()

    def now(self) -> float:
        return self._anchor + time.monotonic()

    def advance(self, seconds: float) -> None:
        self._anchor += seconds


class ManualClock:
    """A clock that stands still until told to move: for tests that must not sleep."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds
