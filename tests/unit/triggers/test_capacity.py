"""AigcCapacityTrigger and its room: who may submit next on a connection, and when."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest
from airflow.sdk.exceptions import AirflowException
from airflow.triggers.base import TriggerEvent

from airflow_provider_aigc.triggers import capacity_room
from airflow_provider_aigc.triggers.capacity import AigcCapacityTrigger, CapacityEvent
from airflow_provider_aigc.triggers.capacity_room import (
    HANDOFF_SECONDS,
    MAX_PROBE_INTERVAL,
    MIN_GRACE_SECONDS,
    ORDER_WINDOW_SECONDS,
    RESERVATION_SECONDS,
    SHARE_JOBS,
    CapacityRoom,
    backoff,
    prompt_of,
    room_for,
)
from tests.unit.triggers.factories import FakeClock, captured_logs

if TYPE_CHECKING:
    from collections.abc import Iterator

CONN = "aigc_baidu_default"
BASE = 5.0  # Baidu's txt2imgv2 poll interval: the backoff's base


def make_trigger(clock: FakeClock, **overrides: Any) -> AigcCapacityTrigger:
    kwargs: dict[str, Any] = {
        "conn_id": CONN,
        "vendor": "baidu",
        "app": "txt2imgv2",
        "end_time": clock.now + 3600,
        "waiting_since": clock.now,
        "refused_at": clock.now,
        "refusals": 1,
        "map_index": 0,
        "max_running_jobs": 2,
        **overrides,
    }
    return AigcCapacityTrigger(**kwargs, clock=clock, sleep=clock.sleep)


@pytest.fixture(autouse=True)
def empty_rooms() -> Iterator[None]:
    """Each test starts with no room (rooms are kept per event loop and connection)."""
    capacity_room._rooms.clear()
    yield
    capacity_room._rooms.clear()


async def first_event(trigger: AigcCapacityTrigger) -> dict[str, Any]:
    events = [event async for event in trigger.run()]
    assert len(events) == 1
    payload: dict[str, Any] = events[0].payload
    return payload


async def time_stands_still(seconds: float) -> None:
    """A sleep that never ends: only a change in the room can wake the waiter."""
    await asyncio.Future()


# --- the room, as data ------------------------------------------------------------------------


def test_a_burst_queues_by_map_index_and_a_later_refusal_comes_after_it() -> None:
    room = CapacityRoom()
    late = room.join(since=ORDER_WINDOW_SECONDS * 3, map_index=0, not_before=0.0)
    second = room.join(since=1.0, map_index=2, not_before=0.0)
    first = room.join(since=2.0, map_index=1, not_before=0.0)  # refused later, in the same burst
    assert [room.ahead(t) for t in (first, second, late)] == [0, 1, 2]
    assert [room.may_try(t, 1000.0, limit=2) for t in (first, second, late)] == [True, False, False]


def test_the_head_never_tries_while_watched_jobs_fill_the_account() -> None:
    room = CapacityRoom()
    head = room.join(since=0.0, map_index=0, not_before=0.0)
    room.job_started("a")
    room.job_started("b")
    assert not room.may_try(head, 10_000.0, limit=2)
    assert room.next_check(head, 10_000.0, limit=2) is None  # only a job's end can help
    assert room.may_try(head, 10_000.0, limit=3)
    assert room.may_try(head, 10_000.0, limit=None)


def test_a_job_ending_lets_the_head_try_before_its_backoff() -> None:
    room = CapacityRoom()
    head = room.join(since=0.0, map_index=0, not_before=500.0)
    room.job_started("a")
    room.job_started("b")
    assert not room.may_try(head, 10.0, limit=2)
    room.job_ended("a")
    assert room.may_try(head, 10.0, limit=2)


def test_an_admitted_task_counts_as_in_flight_until_its_job_trigger_starts() -> None:
    room = CapacityRoom()
    first, second, third = (
        room.join(since=0.0, map_index=i, not_before=0.0, refused=False) for i in range(3)
    )
    room.admit(first, now=100.0, grace=10.0)
    assert room.waiters == [second, third]
    assert room.may_try(second, 100.0, limit=2)  # no fixed grace: the account has a free slot
    room.admit(second, now=100.0, grace=10.0)
    assert not room.may_try(third, 100.0, limit=2)  # two reservations fill the account
    room.job_started("job-of-first")  # takes a reservation's place: still full
    assert not room.may_try(third, 101.0, limit=2)
    room.job_ended("job-of-first")  # a slot freed: the head tries at once
    assert room.may_try(third, 102.0, limit=2)


def test_a_job_trigger_takes_its_own_prompts_reservation_not_the_oldest() -> None:
    """Under two triggerers a job admitted by the other one must not take this room's reservation
    of a task still submitting: the room would count one job too few and admit into a full account."""
    room = CapacityRoom()
    older, newer, third = (
        room.join(since=0.0, map_index=i, not_before=0.0, refused=False, prompt=("d", "r", i))
        for i in range(3)
    )
    room.admit(older, now=100.0, grace=10.0)
    room.admit(newer, now=101.0, grace=10.0)
    room.job_started("job-of-newer", now=102.0, prompt=("d", "r", 1))
    assert list(room.reserved) == [("d", "r", 0)]
    room.job_started("admitted-elsewhere", now=103.0, prompt=("d", "r", 7))
    assert list(room.reserved) == [("d", "r", 0)]  # still held: three in flight
    assert room.in_flight(103.0) == 3
    assert not room.may_try(third, 103.0, limit=3)


def test_a_prompt_is_its_dag_run_and_map_index_so_a_chains_sensor_matches_its_submit() -> None:
    submit = SimpleNamespace(dag_id="d", run_id="r", task_id="prompt.submit", map_index=4)
    sensor = SimpleNamespace(dag_id="d", run_id="r", task_id="prompt.wait", map_index=4)
    assert prompt_of(submit) == prompt_of(sensor) == ("d", "r", 4)
    unmapped = SimpleNamespace(dag_id="d", run_id="r", task_id="generate", map_index=-1)
    assert prompt_of(unmapped) == ("d", "r", "generate")  # two unmapped tasks are two prompts
    assert prompt_of(None) is None


async def test_the_trigger_reserves_under_its_task_instances_prompt() -> None:
    clock = FakeClock()
    trigger = make_trigger(clock, refusals=0, map_index=4)
    trigger.task_instance = SimpleNamespace(dag_id="d", run_id="r", task_id="g.submit", map_index=4)  # type: ignore[assignment]
    assert (await first_event(trigger))["status"] == "capacity"
    assert list(room_for(CONN).reserved) == [("d", "r", 4)]


def test_a_reservation_lapses_when_no_job_trigger_starts_here() -> None:
    room = CapacityRoom()
    first, second = (room.join(since=0.0, map_index=i, not_before=0.0, refused=False) for i in range(2))
    room.admit(first, now=100.0, grace=10.0)
    assert not room.may_try(second, 100.0, limit=1)
    assert room.next_check(second, 100.0, limit=1) == 100.0 + RESERVATION_SECONDS
    assert room.may_try(second, 100.0 + RESERVATION_SECONDS, limit=1)


def test_once_jobs_were_seen_end_a_reservation_lasts_as_long_as_they_took() -> None:
    """A task admitted here whose job runs under another triggerer frees its slot, unseen, after
    about as long as the jobs watched here take: not a fixed 30 s, which idles short jobs' slots."""
    room = CapacityRoom()
    for job, (start, end) in {"a": (0.0, 4.0), "b": (1.0, 7.0), "c": (2.0, 7.0)}.items():
        room.job_started(job, now=start)
        room.job_ended(job, now=end)
    first, second = (room.join(since=0.0, map_index=i, not_before=0.0, refused=False) for i in range(2))
    room.admit(first, now=100.0, grace=10.0)

    assert room.reservation_seconds() == HANDOFF_SECONDS + 5.0  # the median of 4, 6 and 5 s
    assert room.next_check(second, 100.0, limit=1) == 100.0 + HANDOFF_SECONDS + 5.0


def test_a_reservation_lasts_as_long_as_admission_to_a_jobs_end_took() -> None:
    """In the chain the sensor, and so the job trigger, starts long after the submit: the account's
    slot is held from the submit on, so the estimate counts from the admission, not the trigger."""
    room = CapacityRoom()
    first, second, third = (
        room.join(since=0.0, map_index=i, not_before=0.0, refused=False) for i in range(3)
    )
    room.admit(first, now=100.0, grace=10.0)
    room.job_started("job-of-first", now=109.0)  # its sensor deferred 9 s after the admission
    room.job_ended("job-of-first", now=112.0)  # watched for 3 s, held the account for 12
    assert room.reservation_seconds() == 12.0
    room.admit(second, now=120.0, grace=10.0)
    assert room.next_check(third, 120.0, limit=1) == 132.0


def test_a_refused_task_gives_its_reservation_up_and_holds_the_room_back_for_its_backoff() -> None:
    room = CapacityRoom()
    first, second = (room.join(since=0.0, map_index=i, not_before=0.0, refused=False) for i in range(2))
    room.admit(first, now=100.0, grace=10.0)
    room.admit(second, now=100.0, grace=10.0)
    # The first is refused (jobs watched by another triggerer fill the account) and queues again.
    again = room.join(since=0.0, map_index=0, not_before=105.0)
    assert list(room.reserved) == [(0.0, 1)]
    assert not room.may_try(again, 104.0, limit=2)  # no blind try before its backoff
    assert room.next_check(again, 104.0, limit=2) == 105.0
    assert room.may_try(again, 105.0, limit=2)


def test_a_refusal_while_a_job_runs_here_teaches_the_room_its_share_of_the_account() -> None:
    """Two triggerers each see about half of a batch's jobs: a room refused while it held one job
    keeps to one (the other triggerer holds the rest) instead of probing on every backoff."""
    room = CapacityRoom()
    room.job_started("z", now=80.0)
    room.job_ended("z", now=85.0)  # admitted about a handoff before its trigger: 10 s in flight
    room.job_started("a", now=90.0)
    refused = room.join(since=0.0, map_index=3, not_before=105.0, now=100.0)
    share_ends = 100.0 + SHARE_JOBS * 10.0
    assert room.share(100.0, limit=2) == 1
    assert not room.may_try(refused, 106.0, limit=2)  # its backoff passed, but the share is full
    assert room.next_check(refused, 106.0, limit=2) == share_ends
    room.job_ended("a", now=110.0)  # the room's own job freed its slot
    assert room.may_try(refused, 110.0, limit=2)
    room.admit(refused, now=110.0, grace=10.0)
    room.job_started("b", now=112.0)  # its job: one running, the share is full again
    fresh = room.join(since=1.0, map_index=4, not_before=0.0, refused=False)
    assert not room.may_try(fresh, share_ends - 1.0, limit=2)
    assert room.may_try(fresh, share_ends, limit=2)  # then it probes the full limit again


def test_a_refusal_while_only_reservations_are_in_flight_teaches_the_share_too() -> None:
    """In the chain a short job is often done before its sensor defers: the room then holds only
    reservations, which count as its share."""
    room = CapacityRoom()
    room.job_started("z", now=80.0)
    room.job_ended("z", now=85.0)
    first, second = (room.join(since=0.0, map_index=i, not_before=0.0, refused=False) for i in range(2))
    room.admit(first, now=90.0, grace=10.0)
    room.admit(second, now=90.0, grace=10.0)
    again = room.join(since=0.0, map_index=1, not_before=95.0, now=92.0)  # the second was refused
    assert room.share(92.0, limit=2) == 1
    assert not room.may_try(again, 95.0, limit=2)


def test_a_refusal_in_a_batch_none_of_whose_jobs_ended_here_teaches_no_share() -> None:
    """One triggerer, a later batch: its first submits go out before their triggers start, so a
    refusal then says nothing about a split, although jobs of an earlier batch ended here."""
    room = CapacityRoom()
    room.job_started("earlier-batch", now=0.0, prompt=("d", "run-1", 0))
    room.job_ended("earlier-batch", now=5.0)
    room.job_started("first", now=99.0, prompt=("d", "run-2", 0))
    refused = room.join(since=90.0, map_index=2, not_before=105.0, now=100.0, prompt=("d", "run-2", 2))
    assert room.share(100.0, limit=2) == 2
    assert room.may_try(refused, 105.0, limit=2)
    room.job_ended("first", now=106.0)  # now a job of run-2 ended here: the next refusal teaches
    room.job_started("second", now=107.0, prompt=("d", "run-2", 1))
    room.join(since=90.0, map_index=3, not_before=115.0, now=108.0, prompt=("d", "run-2", 3))
    assert room.share(108.0, limit=2) == 1


def test_a_room_that_held_nothing_learns_a_share_of_one() -> None:
    """The refused task may come back to the other triggerer: that room learns too, and keeps to
    one job so the two stop probing for the whole account."""
    room = CapacityRoom()
    room.job_started("z", now=80.0)
    room.job_ended("z", now=85.0)
    refused = room.join(since=0.0, map_index=3, not_before=95.0, now=90.0)
    assert room.in_flight(90.0) == 0
    assert room.share(90.0, limit=3) == 1
    assert room.may_try(refused, 95.0, limit=3)  # nothing in flight here: it may try one
    room.admit(refused, now=95.0, grace=10.0)
    fresh = room.join(since=1.0, map_index=4, not_before=0.0, refused=False)
    assert not room.may_try(fresh, 96.0, limit=3)


def test_a_refusal_before_a_job_ended_here_teaches_no_share() -> None:
    """A batch's first submits go out before their job triggers start: a refusal then says nothing
    about how the account is split."""
    room = CapacityRoom()
    room.job_started("a", now=99.0)
    refused = room.join(since=0.0, map_index=2, not_before=105.0, now=100.0)
    assert room.share(100.0, limit=2) == 2
    assert room.may_try(refused, 105.0, limit=2)


def test_a_fresh_waiter_waits_out_the_backoff_of_a_refusal_seen_in_the_room() -> None:
    room = CapacityRoom()
    refused = room.join(since=0.0, map_index=0, not_before=150.0)
    fresh = room.join(since=1.0, map_index=1, not_before=100.0, refused=False)
    room.leave(refused)  # e.g. its deadline passed
    assert not room.may_try(fresh, 120.0, limit=2)
    room.job_started("a")
    room.job_ended("a")  # a watched job's end overrides the backoff
    assert room.may_try(fresh, 120.0, limit=2)


def test_with_the_limit_unknown_the_next_head_waits_the_grace() -> None:
    room = CapacityRoom()
    first = room.join(since=0.0, map_index=0, not_before=0.0)
    second = room.join(since=0.0, map_index=1, not_before=0.0)
    room.admit(first, now=100.0, grace=10.0)
    assert not room.may_try(second, 109.0, limit=None)
    assert room.next_check(second, 109.0, limit=None) == 110.0
    assert room.may_try(second, 110.0, limit=None)


def test_backoff_doubles_from_the_poll_interval_up_to_its_ceiling() -> None:
    assert [backoff(BASE, n) for n in (1, 2, 3, 4)] == [5.0, 10.0, 20.0, 40.0]
    assert backoff(BASE, 50) == MAX_PROBE_INTERVAL
    assert backoff(120.0, 3) == 120.0  # a poll interval above the ceiling is the ceiling


# --- the trigger ------------------------------------------------------------------------------


def test_serializes_to_json_primitives_and_back() -> None:
    clock = FakeClock()
    classpath, kwargs = make_trigger(clock, map_index=4).serialize()
    assert classpath == "airflow_provider_aigc.triggers.capacity.AigcCapacityTrigger"
    assert kwargs == {
        "conn_id": CONN,
        "vendor": "baidu",
        "app": "txt2imgv2",
        "end_time": clock.now + 3600,
        "waiting_since": clock.now,
        "refused_at": clock.now,
        "refusals": 1,
        "map_index": 4,
        "max_running_jobs": 2,
    }
    assert AigcCapacityTrigger(**kwargs).serialize() == (classpath, kwargs)


@pytest.mark.parametrize(
    "bad",
    [{"refusals": -1}, {"max_running_jobs": 0}, {"end_time": "soon"}, {"conn_id": " "}],
)
def test_rejects_bad_arguments(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"AigcCapacityTrigger needs|max_running_jobs must"):
        make_trigger(FakeClock(), **bad)


async def test_a_lone_waiter_tries_again_after_its_backoff_and_says_what_it_waits_for() -> None:
    clock = FakeClock()
    start = clock.now
    with captured_logs() as logs:
        payload = await first_event(make_trigger(clock, refusals=2))
    assert payload == {"status": "capacity", "waited": 2 * BASE, "running": 0, "ahead": 0}
    assert clock.now == start + 2 * BASE
    assert any(
        line.message.startswith("waiting for capacity on aigc_baidu_default: 0 running, 0 ahead")
        for line in logs
    )


async def test_the_deadline_ends_the_wait_with_how_long_and_how_many_were_running() -> None:
    clock = FakeClock()
    room = room_for(CONN)
    room.job_started("a")
    room.job_started("b")
    payload = await first_event(make_trigger(clock, end_time=clock.now + 900, waiting_since=clock.now - 100))
    assert payload == {"status": "timeout", "waited": 1000.0, "running": 2, "ahead": 0}
    assert room.waiters == []  # the waiter left the room


async def test_a_watched_job_ending_wakes_the_head_at_once() -> None:
    clock = FakeClock()
    room = room_for(CONN)
    room.job_started("a")
    room.job_started("b")
    trigger = AigcCapacityTrigger(
        **make_trigger(clock, refusals=5).serialize()[1], clock=clock, sleep=time_stands_still
    )
    waiting = asyncio.ensure_future(first_event(trigger))
    await asyncio.sleep(0)
    assert not waiting.done()
    room.job_ended("a")
    assert await asyncio.wait_for(waiting, 10) == {
        "status": "capacity",
        "waited": 0.0,
        "running": 1,
        "ahead": 0,
    }


class VirtualTime:
    """One clock for many sleepers: time jumps to the earliest wake-up once every task is blocked."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        wake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, len(self._sleepers), wake))
        await wake

    async def run(self, *coroutines: Any) -> None:
        everything = asyncio.gather(*coroutines)
        while not everything.done():
            for _ in range(50):  # let every task run until it blocks
                await asyncio.sleep(0)
            pending = sorted(item for item in self._sleepers if not item[2].done())
            if pending:
                at, _, wake = pending[0]
                self.now = max(self.now, at)
                wake.set_result(None)
        await everything


async def test_refused_waiters_are_admitted_in_order_as_the_account_has_room() -> None:
    clock = VirtualTime()
    fired: list[tuple[int, float]] = []

    async def wait(map_index: int) -> None:
        kwargs = make_trigger(FakeClock(now=clock.now), map_index=map_index).serialize()[1]
        await first_event(AigcCapacityTrigger(**kwargs, clock=clock, sleep=clock.sleep))
        fired.append((map_index, clock.now))

    start = clock.now
    await clock.run(*(wait(index) for index in (3, 1, 2)))
    assert [index for index, _ in fired] == [1, 2, 3]
    # After the refusals' backoff two may try; the third when a reservation lapses (no job here).
    assert [at - start for _, at in fired] == [BASE, BASE, BASE + RESERVATION_SECONDS]


async def test_waiters_that_queued_before_submitting_are_admitted_at_once_up_to_the_limit() -> None:
    clock = VirtualTime()
    fired: list[tuple[int, float]] = []

    async def wait(map_index: int) -> None:
        kwargs = make_trigger(FakeClock(now=clock.now), map_index=map_index, refusals=0).serialize()[1]
        await first_event(AigcCapacityTrigger(**kwargs, clock=clock, sleep=clock.sleep))
        fired.append((map_index, clock.now))

    async def jobs_start_and_end() -> None:
        await clock.sleep(1.0)
        room_for(CONN).job_started("job-2")
        room_for(CONN).job_started("job-3")
        await clock.sleep(8.0)
        room_for(CONN).job_ended("job-2")

    start = clock.now
    await clock.run(*(wait(index) for index in (2, 3, 4)), jobs_start_and_end())
    assert fired == [(2, start), (3, start), (4, start + 9.0)]


async def test_waiters_of_an_unknown_limit_are_admitted_one_grace_apart() -> None:
    clock = VirtualTime()
    fired: list[tuple[int, float]] = []

    async def wait(map_index: int) -> None:
        kwargs = make_trigger(FakeClock(now=clock.now), map_index=map_index, max_running_jobs=None)
        await first_event(AigcCapacityTrigger(**kwargs.serialize()[1], clock=clock, sleep=clock.sleep))
        fired.append((map_index, clock.now))

    start = clock.now
    await clock.run(*(wait(index) for index in (3, 1, 2)))
    assert [index for index, _ in fired] == [1, 2, 3]
    assert [at - start for _, at in fired] == [BASE, BASE + MIN_GRACE_SECONDS, BASE + 2 * MIN_GRACE_SECONDS]


def test_the_event_schema_is_strict() -> None:
    good = {"status": "timeout", "waited": 12.5, "running": 2, "ahead": 3}
    assert CapacityEvent.from_payload(good) == CapacityEvent("timeout", 12.5, 2, 3)
    for bad in (
        None,
        {**good, "status": "success"},
        {**good, "ahead": -1},
        {**good, "extra": 1},
        {"status": "capacity"},
    ):
        with pytest.raises(AirflowException):
            CapacityEvent.from_payload(bad)
    assert TriggerEvent(good).payload == CapacityEvent.from_payload(good).to_payload()  # type: ignore[no-untyped-call]
