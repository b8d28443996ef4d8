"""Who may try a submit next on one connection, among the tasks this triggerer holds.

A concurrency refusal (``AigcConcurrencyLimitError``) proves nothing was bought, so the task waits
deferred and submits again later. Sending every waiter's submit on a timer would hammer the vendor
with refusals (one per waiter per tick), so the waiters of one connection queue in a *room*:

- only the head of the queue may try: the earliest refused, where refusals within the same
  ``ORDER_WINDOW_SECONDS`` (a mapped batch's first burst) count as simultaneous and go by map
  index; so no task starves (its place never moves back) and a batch starts roughly in
  map-index order;
- it tries only while fewer jobs are in flight than the account allows: the jobs that
  ``AigcJobTrigger`` watches on the same connection in this process (each is surely running at
  the vendor, so the count is a lower bound of the account's jobs), plus the *reservations* of
  admitted tasks whose job trigger has not started yet (a resume, a submit and, in the chain, the
  sensor's start lie between); a job trigger starting takes a reservation's place, a refused task
  coming back gives its reservation up, and a reservation lapses after ``HANDOFF_SECONDS`` plus the
  median duration of the jobs watched here (``RESERVATION_SECONDS`` before one has ended): its
  job may be watched by another triggerer, and then ends unseen here after about as long;
- it tries at once when one of those jobs ends, and otherwise once the room's backoff passes: the
  last refusal seen here plus a pause that grows with that task's refusals (jobs watched
  elsewhere, by another triggerer or another installation, end unseen). A task that queued before
  its first submit (admission first, ``refusals=0``) adds no backoff;
- with the account's limit unknown there is nothing to count: after a try the next head waits
  ``grace`` seconds, the time the admitted task needs to submit and start its job trigger.

Rooms live per event loop and connection (a triggerer runs one loop); a restarted triggerer starts
empty and refills as its triggers run again, which costs at most a refusal, never a purchase.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import statistics
import time
import weakref
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Coroutine

# Refusals this close together are one burst: their tasks queue by map index.
ORDER_WINDOW_SECONDS = 60.0
# The longest pause between a head's tries when no watched job ends (its backoff's ceiling).
MAX_PROBE_INTERVAL = 60.0
# With the account's limit unknown: the shortest time between two admissions.
MIN_GRACE_SECONDS = 10.0
# How long an admitted task counts as in flight when its job trigger does not start here, before
# this room has seen a watched job end; afterwards, HANDOFF_SECONDS plus the median watched job.
RESERVATION_SECONDS = 30.0
# A resume, a submit and a job trigger's start (about 1-3 s on a loaded 2-core deployment).
HANDOFF_SECONDS = 5.0
# How many recent watched jobs' durations the reservation is estimated from.
DURATION_SAMPLES = 20


@dataclass(order=True)
class Ticket:
    """One waiting task's place: by the window of its first refusal, its map index, the refusal."""

    window: int
    map_index: int
    since: float
    serial: int
    not_before: float = field(compare=False)


class CapacityRoom:
    """The waiters and the watched jobs of one connection in this process."""

    def __init__(self) -> None:
        self.running: set[str] = set()
        self.waiters: list[Ticket] = []
        # Admitted tasks (by their ticket's place) -> when their reservation lapses.
        self.reserved: dict[tuple[float, int], float] = {}
        self._started: dict[str, float] = {}  # watched job -> when its trigger started (epoch s)
        self._durations: deque[float] = deque(maxlen=DURATION_SAMPLES)
        self._freed = False
        self._next_try_at = 0.0
        self._blocked_until = 0.0
        self._changed = asyncio.Event()
        self._serial = itertools.count()

    # -- the jobs AigcJobTrigger watches -----------------------------------------------------

    def job_started(self, job_id: str, now: float | None = None) -> None:
        """A watched job: it takes the place of the oldest reservation (whose task it likely is)."""
        if job_id not in self.running and self.reserved:
            del self.reserved[min(self.reserved, key=self.reserved.__getitem__)]
        self.running.add(job_id)
        self._started.setdefault(job_id, time.time() if now is None else now)
        self._notify()

    def job_ended(self, job_id: str, now: float | None = None) -> None:
        """A watched job finished (or its trigger stopped): a slot may be free at once."""
        started = self._started.pop(job_id, None)
        if started is not None:
            self._durations.append((time.time() if now is None else now) - started)
        if job_id in self.running:
            self.running.discard(job_id)
            self._freed = True
            self._notify()

    def reservation_seconds(self) -> float:
        """How long an admitted task counts as in flight unless its job trigger starts here: its
        job may run watched by another triggerer, so as long as the jobs watched here take."""
        if not self._durations:
            return RESERVATION_SECONDS
        return HANDOFF_SECONDS + statistics.median(self._durations)

    # -- the waiters -------------------------------------------------------------------------

    def join(self, since: float, map_index: int, not_before: float, *, refused: bool = True) -> Ticket:
        """Queue a waiter; ``refused``: it comes from a refusal, so no head tries blindly before
        ``not_before`` (the account was full, with jobs this room may not see)."""
        window = math.floor(since / ORDER_WINDOW_SECONDS)
        ticket = Ticket(window, map_index, since, next(self._serial), not_before)
        self.reserved.pop((since, map_index), None)  # a refused task gives its reservation up
        if refused:
            self._blocked_until = max(self._blocked_until, not_before)
        self.waiters.append(ticket)
        self.waiters.sort()
        self._notify()
        return ticket

    def leave(self, ticket: Ticket) -> None:
        if ticket in self.waiters:
            self.waiters.remove(ticket)
            self._notify()

    def ahead(self, ticket: Ticket) -> int:
        """How many waiters come before ``ticket``."""
        return self.waiters.index(ticket) if ticket in self.waiters else 0

    def in_flight(self, now: float) -> int:
        """Watched jobs plus live reservations (lapsed ones are dropped)."""
        self.reserved = {place: until for place, until in self.reserved.items() if until > now}
        return len(self.running) + len(self.reserved)

    def may_try(self, ticket: Ticket, now: float, limit: int | None) -> bool:
        """Whether ``ticket``'s task may send its submit now."""
        return self.next_check(ticket, now, limit) == -math.inf

    def next_check(self, ticket: Ticket, now: float, limit: int | None) -> float | None:
        """When time alone could let ``ticket`` try (epoch seconds; -inf: now); None: only a change can."""
        if not self.waiters or self.waiters[0] is not ticket:
            return None
        if limit is None:
            at = max(self._next_try_at, -math.inf if self._freed else ticket.not_before)
        elif self.in_flight(now) >= limit:
            # Full: a watched job's end (a change) or a reservation lapsing can help.
            return min(self.reserved.values()) if len(self.running) < limit else None
        else:
            at = -math.inf if self._freed else max(self._blocked_until, ticket.not_before)
        return -math.inf if at <= now else at

    def admit(self, ticket: Ticket, now: float, grace: float) -> None:
        """``ticket``'s task goes to submit: it leaves and holds a reservation (and, for a connection
        whose limit is unknown, the next head waits ``grace`` seconds)."""
        self._freed = False
        self._next_try_at = now + grace
        self.reserved[(ticket.since, ticket.map_index)] = now + self.reservation_seconds()
        self.leave(ticket)

    def changed(self) -> Coroutine[Any, Any, bool]:
        """Awaitable that returns at the next change (a job started or ended, a waiter came or went);
        bound now, so a change between this call and the await is not missed."""
        return self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()


_rooms: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, CapacityRoom]] = (
    weakref.WeakKeyDictionary()
)


def room_for(conn_id: str) -> CapacityRoom:
    """The running loop's room for ``conn_id``."""
    rooms = _rooms.setdefault(asyncio.get_running_loop(), {})
    return rooms.setdefault(conn_id, CapacityRoom())


def backoff(base: float, refusals: int) -> float:
    """Seconds after a refusal before a head tries blindly: doubling from ``base`` up to
    ``MAX_PROBE_INTERVAL`` (or ``base`` when that is longer)."""
    return min(max(MAX_PROBE_INTERVAL, base), base * 2.0 ** min(max(refusals - 1, 0), 16))
