"""The live hub: one per process, it hands each new event to the streams that want it.

A `LogFollower` publishes every new event once, already serialised; the hub looks up the
subscriptions by session, by run and for everything (the activity feed) and appends the
event to their buffers. A buffer is bounded in bytes: a subscriber that falls further behind
is marked overflowed, and its stream closes with a last message saying where to resume. An
idle subscription costs a small object and a waiting coroutine; heartbeats come from one
timer for all of them.

Everything here runs on the event loop thread; only `LogFollower` reads the store (from a
worker thread), so no locks are needed.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from enum import Enum

BUFFER_BYTES = 4 * 1024 * 1024  # what one subscriber may have waiting for it
SLICE = 16  # streams woken before the hub yields to the loop


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """An event as streams send it: its numbers, its type and its envelope as JSON."""

    position: int
    seq: int | None
    session_id: str | None
    run_id: str | None
    type: str
    data: str


class Signal(Enum):
    PING = "ping"  # nothing sent for a while: say something, find out if the client is gone
    OVERFLOW = "overflow"  # fell more than its buffer behind
    CLOSED = "closed"  # the client left, or the hub stopped


@dataclass(eq=False, slots=True)
class Subscription:
    """What one stream wants (a session, a run, or everything) and what waits for it."""

    session_id: str | None = None
    run_id: str | None = None
    budget: int = BUFFER_BYTES
    pending: deque[LiveEvent] = field(default_factory=deque)
    bytes: int = 0
    signal: Signal | None = None
    quiet: bool = True  # nothing sent since the last heartbeat
    _ready: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, event: LiveEvent) -> None:
        if self.signal is not None:
            return
        if self.bytes + len(event.data) > self.budget and self.pending:
            self.pending.clear()
            self.bytes = 0
            self.signal = Signal.OVERFLOW
        else:
            self.pending.append(event)
            self.bytes += len(event.data)
        self._ready.set()

    def raise_signal(self, signal: Signal) -> None:
        if self.signal is None or signal is not Signal.PING:
            self.signal = signal
            self._ready.set()

    async def next(self) -> LiveEvent | Signal:
        """The next event, or a signal; waits until there is one."""
        while True:
            if self.pending:
                event = self.pending.popleft()
                self.bytes -= len(event.data)
                self.quiet = False
                return event
            if self.signal is not None:
                signal = self.signal
                if signal is Signal.PING:
                    self.signal = None
                return signal
            self._ready.clear()
            await self._ready.wait()


class LiveHub:
    def __init__(self, heartbeat_seconds: float = 15.0, budget: int = BUFFER_BYTES) -> None:
        self.heartbeat_seconds = heartbeat_seconds
        self.budget = budget  # bytes each new subscription may have waiting
        self._by_session: dict[str, set[Subscription]] = {}
        self._by_run: dict[str, set[Subscription]] = {}
        self._everything: set[Subscription] = set()
        self._heartbeat: asyncio.Task[None] | None = None

    @property
    def subscribers(self) -> int:
        """Open subscriptions (the `zakops_live_streams` gauge)."""
        return (
            sum(len(s) for s in self._by_session.values())
            + sum(len(s) for s in self._by_run.values())
            + len(self._everything)
        )

    def subscribe(self, session_id: str | None = None, run_id: str | None = None) -> Subscription:
        subscription = Subscription(session_id=session_id, run_id=run_id, budget=self.budget)
        if run_id is not None:
            self._by_run.setdefault(run_id, set()).add(subscription)
        elif session_id is not None:
            self._by_session.setdefault(session_id, set()).add(subscription)
        else:
            self._everything.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscription.raise_signal(Signal.CLOSED)
        if subscription.run_id is not None:
            _discard(self._by_run, subscription.run_id, subscription)
        elif subscription.session_id is not None:
            _discard(self._by_session, subscription.session_id, subscription)
        else:
            self._everything.discard(subscription)

    async def publish(self, events: list[LiveEvent]) -> None:
        """Offer each event to the subscriptions that want it. Every `SLICE` offers wake as
        many streams; the hub then lets them (and anything else waiting, such as a write's
        answer) run before it wakes more, so a thousand streams do not stall the loop."""
        offered = 0
        for event in events:
            for subscription in self._wanting(event):
                subscription.offer(event)
                offered += 1
                if offered % SLICE == 0:
                    await asyncio.sleep(0)

    def _wanting(self, event: LiveEvent) -> list[Subscription]:
        found = list(self._everything)
        if event.session_id is not None:
            found.extend(self._by_session.get(event.session_id, ()))
        if event.run_id is not None:
            found.extend(self._by_run.get(event.run_id, ()))
        return found

    def _all(self) -> list[Subscription]:
        found = list(self._everything)
        for group in (*self._by_session.values(), *self._by_run.values()):
            found.extend(group)
        return found

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            for subscription in self._all():
                if subscription.quiet:
                    subscription.raise_signal(Signal.PING)
                subscription.quiet = True

    def start(self) -> None:
        if self._heartbeat is None:
            self._heartbeat = asyncio.get_running_loop().create_task(self._beat())

    async def stop(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            self._heartbeat = None
        for subscription in self._all():
            self.unsubscribe(subscription)


def _discard(index: dict[str, set[Subscription]], key: str, subscription: Subscription) -> None:
    group = index.get(key)
    if group is not None:
        group.discard(subscription)
        if not group:
            del index[key]
