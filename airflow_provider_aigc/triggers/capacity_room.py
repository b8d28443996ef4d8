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
  sensor's start lie between); a job trigger starting takes its prompt's reservation (the same DAG
  run and map index: a one-task operator's, or its chain's submit; none when the prompt was
  admitted by another triggerer, so no other task's reservation is lost with it), a refused task
  coming back gives its reservation up, and a reservation lapses after the median time from
  admission to a watched job's end (``RESERVATION_SECONDS`` before one has ended): its job may be
  watched by another triggerer, and then ends unseen here after about as long. The time is counted
  from the admission, not from the job trigger's start, because in the chain the sensor (and so
  the trigger) starts well after the submit, while the vendor's job, and the account's slot, run
  from the submit on;
- a refusal teaches the room its *share* of the account: the jobs and reservations it held then
  (other triggerers or installations hold the rest), at least one and less than the limit. The
  refused task may come back to any triggerer, not the one that admitted it, so a room that held
  nothing learns a share of one too. For ``SHARE_JOBS`` reservation lengths the room keeps to its
  share, so two triggerers splitting a batch each run about half of the account instead of each
  probing for all of it; then it tries the full limit again. A refusal before a job of the same
  DAG run ended in the room teaches nothing: a batch's first submits go out before their job
  triggers start, so the room cannot yet tell who holds what;
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
    from collections.abc import Coroutine, Hashable, KeysView

# Refusals this close together are one burst: their tasks queue by map index.
ORDER_WINDOW_SECONDS = 60.0
# The longest pause between a head's tries when no watched job ends (its backoff's ceiling).
MAX_PROBE_INTERVAL = 60.0
# With the account's limit unknown: the shortest time between two admissions.
MIN_GRACE_SECONDS = 10.0
# How long an admitted task counts as in flight when its job trigger does not start here, before
# this room has seen a watched job end; afterwards, the median time from admission to a job's end.
RESERVATION_SECONDS = 30.0
# For a watched job admitted elsewhere (or before a restart): the time taken by a resume, a submit
# and a job trigger's start (about 1-3 s on a loaded 2-core deployment), added to its watched time.
HANDOFF_SECONDS = 5.0
# How many recent jobs' admission-to-end times the reservation is estimated from.
DURATION_SAMPLES = 20
# How many DAG runs a room remembers having seen a job of end (the share's evidence).
RUNS_REMEMBERED = 64
# How long a share learned from a refusal holds, in reservation lengths (about that many jobs of
# the room, one after another): then the room probes the full limit again. The refusal of that
# probe may reach another triggerer's room, so a probe costs about two refusals: every 30 jobs
# keeps them near 0.07 per job; a share learned wrongly costs at most as long at part speed.
SHARE_JOBS = 30


@dataclass(frozen=True)
class Reservation:
    """An admitted task's slot: when it was admitted, and when the slot lapses unless its job's
    trigger starts here first."""

    admitted: float
    until: float


@dataclass(frozen=True)
class Watched:
    """A job watched here: when its task was admitted (or about a handoff before its trigger
    started, when admitted elsewhere) and its DAG run."""

    since: float
    run: Hashable


@dataclass(order=True)
class Ticket:
    """One waiting task's place: by the window of its first refusal, its map index, the refusal."""

    window: int
    map_index: int
    since: float
    serial: int
    not_before: float = field(compare=False)
    prompt: Hashable = field(compare=False, default=None)

    @property
    def place(self) -> Hashable:
        """Whose reservation this ticket holds once admitted: its prompt, else its place."""
        return (self.since, self.map_index) if self.prompt is None else self.prompt


def run_of(prompt: Hashable) -> Hashable:
    """The DAG run of a prompt (None: a trigger outside a task)."""
    return prompt[:2] if isinstance(prompt, tuple) else None


def prompt_of(task_instance: object) -> Hashable:
    """The prompt a trigger's task works on: for a mapped task its DAG run and map index, which a
    chain's submit and sensor share; an unmapped task is its own prompt (None outside a task)."""
    if task_instance is None:
        return None
    dag_id, run_id, task_id, map_index = (
        getattr(task_instance, name, None) for name in ("dag_id", "run_id", "task_id", "map_index")
    )
    if isinstance(map_index, int) and map_index >= 0:
        return (dag_id, run_id, map_index)
    return (dag_id, run_id, task_id)


class CapacityRoom:
    """The waiters and the watched jobs of one connection in this process."""

    def __init__(self) -> None:
        self.waiters: list[Ticket] = []
        self.reserved: dict[Hashable, Reservation] = {}  # by the admitted ticket's place
        self._watched: dict[str, Watched] = {}  # by job id
        self._durations: deque[float] = deque(maxlen=DURATION_SAMPLES)
        self._freed = False
        self._next_try_at = 0.0
        self._blocked_until = 0.0
        self._share = 0  # jobs this room held at the last refusal it learned from
        self._share_until = 0.0  # the share holds until then
        self._runs_ended: dict[Hashable, None] = {}  # DAG runs a watched job of ended (oldest first)
        self._changed = asyncio.Event()
        self._serial = itertools.count()

    # -- the jobs AigcJobTrigger watches -----------------------------------------------------

    def job_started(self, job_id: str, now: float | None = None, prompt: Hashable = None) -> None:
        """A watched job: it takes its prompt's reservation, if this room admitted it (with the
        prompt unknown, the oldest reservation, whose task it likely is)."""
        now = time.time() if now is None else now
        if job_id not in self._watched:
            place = prompt
            if prompt is None and self.reserved:
                place = min(self.reserved, key=lambda key: self.reserved[key].admitted)
            taken = self.reserved.pop(place, None)
            # Admitted elsewhere, or not at all: about a handoff ago.
            since = now - HANDOFF_SECONDS if taken is None else taken.admitted
            self._watched[job_id] = Watched(since, run_of(prompt))
        self._notify()

    def job_ended(self, job_id: str, now: float | None = None) -> None:
        """A watched job finished (or its trigger stopped): a slot may be free at once."""
        watched = self._watched.pop(job_id, None)
        if watched is not None:
            self._durations.append((time.time() if now is None else now) - watched.since)
            self._runs_ended.pop(watched.run, None)
            self._runs_ended[watched.run] = None  # the most recent last
            while len(self._runs_ended) > RUNS_REMEMBERED:
                del self._runs_ended[next(iter(self._runs_ended))]
            self._freed = True
            self._notify()

    @property
    def running(self) -> KeysView[str]:
        """The ids of the jobs watched here."""
        return self._watched.keys()

    def reservation_seconds(self) -> float:
        """How long an admitted task counts as in flight unless its job trigger starts here: its
        job may run watched by another triggerer, so as long as admission to a job's end takes here."""
        if not self._durations:
            return RESERVATION_SECONDS
        return statistics.median(self._durations)

    # -- the waiters -------------------------------------------------------------------------

    def join(
        self,
        since: float,
        map_index: int,
        not_before: float,
        *,
        refused: bool = True,
        now: float | None = None,
        prompt: Hashable = None,
    ) -> Ticket:
        """Queue a waiter; ``refused``: it comes from a refusal, so no head tries blindly before
        ``not_before`` (the account was full, with jobs this room may not see), and the room learns
        its share of the account."""
        window = math.floor(since / ORDER_WINDOW_SECONDS)
        ticket = Ticket(window, map_index, since, next(self._serial), not_before, prompt)
        self.reserved.pop(ticket.place, None)  # a refused task gives its reservation up
        if refused:
            self._blocked_until = max(self._blocked_until, not_before)
            if run_of(prompt) in self._runs_ended:
                now = time.time() if now is None else now
                self._share = self.in_flight(now)
                self._share_until = now + SHARE_JOBS * self.reservation_seconds()
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
        self.reserved = {place: held for place, held in self.reserved.items() if held.until > now}
        return len(self.running) + len(self.reserved)

    def share(self, now: float, limit: int) -> int:
        """How many jobs this room may keep in flight: the account's limit, or while a share learned
        from a refusal holds, what the room held then (at least one, less than the limit)."""
        return max(1, min(self._share, limit - 1)) if now < self._share_until else limit

    def may_try(self, ticket: Ticket, now: float, limit: int | None) -> bool:
        """Whether ``ticket``'s task may send its submit now."""
        return self.next_check(ticket, now, limit) == -math.inf

    def next_check(self, ticket: Ticket, now: float, limit: int | None) -> float | None:
        """When time alone could let ``ticket`` try (epoch seconds; -inf: now); None: only a change can."""
        if not self.waiters or self.waiters[0] is not ticket:
            return None
        if limit is None:
            at = max(self._next_try_at, -math.inf if self._freed else ticket.not_before)
        elif self.in_flight(now) >= self.share(now, limit):
            # Full: a watched job's end (a change), a reservation lapsing or the share's end can help.
            lapses = (held.until for held in self.reserved.values())
            wakes = [min(lapses)] if self.reserved and len(self.running) < limit else []
            if now < self._share_until:
                wakes.append(self._share_until)
            return min(wakes) if wakes else None
        else:
            at = -math.inf if self._freed else max(self._blocked_until, ticket.not_before)
        return -math.inf if at <= now else at

    def admit(self, ticket: Ticket, now: float, grace: float) -> None:
        """``ticket``'s task goes to submit: it leaves and holds a reservation (and, for a connection
        whose limit is unknown, the next head waits ``grace`` seconds)."""
        self._freed = False
        self._next_try_at = now + grace
        self.reserved[ticket.place] = Reservation(now, now + self.reservation_seconds())
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
