"""A hook call as a sans-IO generator: every step is written once, and only the I/O is handed out.

A ``Call[T]`` yields effects (send this request, pause, register these secrets, look up the
connection, run this call alone) and is sent each effect's result; it returns ``T``. The hook
drives it twice over (``AigcHook._run`` with blocking I/O for workers, ``AigcHook._arun`` with
awaits for the triggerer), so retries, deadlines, credential renewal and the submit proof exist
once and the two paths differ only in the calls that do I/O: h11's design, applied to a hook.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable, Generator, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from tenacity import DoAttempt, DoSleep, RetryCallState, Retrying

from airflow_provider_aigc.hooks import masking

if TYPE_CHECKING:
    from airflow_provider_aigc.vendors.base import HttpRequest

T = TypeVar("T")


@dataclass(frozen=True)
class Send:
    """One HTTP exchange; answered with the ``HttpResponse``, or the ``RequestFailed`` that stood
    for it (a value, not an exception, so the call decides what no answer means)."""

    base_url: str
    request: HttpRequest
    timeout: float


@dataclass(frozen=True)
class Pause:
    """Wait ``seconds`` (between retries)."""

    seconds: float


@dataclass(frozen=True)
class Mask:
    """Register ``values`` with Airflow's secrets masker (each value once per process)."""

    values: tuple[str, ...]


@dataclass(frozen=True)
class LookUp:
    """Read the Airflow connection ``conn_id``; answered with ``(connection, extra as a dict)``."""

    conn_id: str


@dataclass(frozen=True)
class Alone:
    """Run ``call`` while holding the lock of ``key`` (single flight, e.g. one token fetch per key)."""

    key: Hashable
    call: Call[Any]


Effect = Send | Pause | Mask | LookUp | Alone
# What the driver sends back depends on the effect (see each one), so it is typed where received.
Call = Generator[Effect, Any, T]


@dataclass(frozen=True)
class Done(Generic[T]):
    value: T


def advance(call: Call[T], reply: object) -> Effect | Done[T]:
    """The call's next effect after ``reply`` (the previous effect's result), or its return value."""
    try:
        return call.send(reply)
    except StopIteration as stop:
        return Done(stop.value)


def local(value: T) -> Call[T]:
    """A call that needs no I/O (credentials computed from the connection alone)."""
    yield from ()
    return value


def mask(*values: str | None) -> Call[None]:
    """Register the values the masker has not seen yet (no effect when there are none)."""
    fresh = masking.unregistered(values)
    if fresh:
        yield Mask(fresh)


def retried(retrying: Retrying, attempt: Callable[[], Call[T]]) -> Call[T]:
    """``attempt()`` under tenacity's policy, in tenacity's own loop (``Retrying.__call__``) with the
    pause yielded instead of slept: one ``Retrying`` serves both drivers."""
    retrying.begin()
    state = RetryCallState(retrying, fn=None, args=(), kwargs={})
    while True:
        action = retrying.iter(state)
        if isinstance(action, DoAttempt):
            try:
                state.set_result((yield from attempt()))
            except Exception as error:  # handed to the policy, which re-raises it or retries
                state.set_exception((type(error), error, error.__traceback__))
        elif isinstance(action, DoSleep):
            state.prepare_for_next_attempt()
            yield Pause(float(action))
        else:
            result: T = action
            return result


# The locks behind ``Alone``: one thread lock per key, and one asyncio lock per key and event loop
# (an asyncio lock belongs to its loop; weakly keyed, so a finished loop takes its locks along).
_guard = threading.Lock()
_thread_locks: dict[Hashable, threading.Lock] = {}
_loop_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Hashable, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def thread_lock(key: Hashable) -> threading.Lock:
    with _guard:
        return _thread_locks.setdefault(key, threading.Lock())


def loop_lock(key: Hashable) -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    with _guard:
        return _loop_locks.setdefault(loop, {}).setdefault(key, asyncio.Lock())
