"""Who may try a submit next on one connection, among the tasks this triggerer holds.

A concurrency refusal (``AigcConcurrencyLimitError``) proves nothing was bought, so the task waits
deferred and submits again later. Sending every waiter's submit on a timer would hammer the vendor
with refusals (one per waiter per tick), so the waiters of one connection queue in a *room*:

- only the head of the queue may try: the earliest refused, where refusals within the same
  ``ORDER_WINDOW_SECONDS`` (a mapped batch's first burst) count as simultaneous and go by map
  index; so no task starves (its place never moves back) and a batch starts roughly in
  map-index order;
- it tries only while fewer jobs run than the account allows, counting the jobs that
  ``AigcJobTrigger`` watches on the same connection in this process (each is surely running at
  the vendor, so the count is a lower bound of the account's jobs);
- it tries at once when one of those jobs ends, and otherwise after a backoff that grows with its
  own refusals (jobs watched elsewhere, by another triggerer or another installation, end unseen);
- after a try the room gives the admitted task ``grace`` seconds to resume, submit and defer to
  its job trigger before the next head may try.

Rooms live per event loop and connection (a triggerer runs one loop); a restarted triggerer starts
empty and refills as its triggers run again, which costs at most a refusal, never a purchase.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Coroutine

# Refusals this close together are one burst: their tasks queue by map index.
ORDER_WINDOW_SECONDS = 60.0
# The longest pause between a head's tries when no watched job ends (its backoff's ceiling).
MAX_PROBE_INTERVAL = 60.0
# The shortest time a task admitted by the room gets to submit and start its job trigger.
MIN_GRACE_SECONDS = 10.0


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
        self._freed = False
        self._next_try_at = 0.0
        self._changed = asyncio.Event()
        self._serial = itertools.count()

    # -- the jobs AigcJobTrigger watches -----------------------------------------------------

    def job_started(self, job_id: str) -> None:
        self.running.add(job_id)
        self._notify()

    def job_ended(self, job_id: str) -> None:
        """A watched job finished (or its trigger stopped): a slot may be free at once."""
        if job_id in self.running:
            self.running.discard(job_id)
            self._freed = True
            self._notify()

    # -- the waiters -------------------------------------------------------------------------

    def join(self, since: float, map_index: int, not_before: float) -> Ticket:
        window = math.floor(since / ORDER_WINDOW_SECONDS)
        ticket = Ticket(window, map_index, since, next(self._serial), not_before)
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

    def may_try(self, ticket: Ticket, now: float, limit: int | None) -> bool:
        """Whether ``ticket``'s task may send its submit now."""
        if not self.waiters or self.waiters[0] is not ticket:
            return False
        if limit is not None and len(self.running) >= limit:
            return False
        return now >= self._next_try_at and (self._freed or now >= ticket.not_before)

    def next_check(self, ticket: Ticket, limit: int | None) -> float | None:
        """When time alone could let ``ticket`` try (epoch seconds); None: only a change can."""
        if not self.waiters or self.waiters[0] is not ticket:
            return None
        if limit is not None and len(self.running) >= limit:
            return None
        return max(self._next_try_at, -1.0 if self._freed else ticket.not_before)

    def admit(self, ticket: Ticket, now: float, grace: float) -> None:
        """``ticket``'s task goes to submit: it leaves, and the next head waits ``grace`` seconds."""
        self._freed = False
        self._next_try_at = now + grace
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
