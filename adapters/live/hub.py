"""The live hub: one per process, it hands each new event to the streams that want it.

A `LogFollower` publishes every new event once, already serialised; the hub looks up the
subscriptions by session, by run and for everything (the activity feed) and offers the
event to each. A stream that is live on its own connection (a `Sink`, adapters/http/sse.py)
writes the event's bytes, encoded once for all streams, straight to its transport; a stream
still replaying (or served by a coroutine) gets it in a buffer. Either buffer is bounded in
bytes: a subscriber that falls further behind is closed with a last message saying where
to resume. An idle subscription costs two small objects besides its connection, no
coroutine; heartbeats come from one timer for all of them and are the same bytes for all.

Everything here runs on the event loop thread; only `LogFollower` reads the store (from a
worker thread), so no locks are needed.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from enum import Enum
from typing import Protocol

from adapters.live.writer import SocketWriter

BUFFER_BYTES = 4 * 1024 * 1024  # what one subscriber may have waiting for it
SLICE_SECONDS = 0.0005  # how long the hub offers events before it yields to the loop


class LiveEvent:
    """An event as streams send it: its numbers, its type and its envelope as JSON. Its SSE
    frames (as HTTP chunks) are encoded once, on first use, and shared by every stream."""

    __slots__ = ("_chunks", "data", "position", "run_id", "seq", "session_id", "type")

    def __init__(
        self,
        position: int,
        seq: int | None,
        session_id: str | None,
        run_id: str | None,
        type: str,
        data: str,
    ) -> None:
        self.position = position
        self.seq = seq
        self.session_id = session_id
        self.run_id = run_id
        self.type = type
        self.data = data
        self._chunks: list[bytes | None] = [None, None]

    def __repr__(self) -> str:
        return f"LiveEvent(position={self.position}, seq={self.seq}, type={self.type!r})"

    def chunk(self, by_position: bool) -> bytes:
        """The event as one HTTP/1.1 chunk of an SSE stream whose ids are positions (the
        whole log) or seqs (a session, a run)."""
        cached = self._chunks[by_position]
        if cached is None:
            event_id = self.position if by_position else self.seq
            cached = http_chunk(sse_frame(int(event_id or 0), self.type, self.data))
            self._chunks[by_position] = cached
        return cached


def sse_frame(event_id: int | None, kind: str, data: str) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {data}\n\n".encode()


def http_chunk(body: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(body), body)


PING_CHUNK = http_chunk(b": ping\n\n")  # one heartbeat, the same bytes for every stream


class Signal(Enum):
    PING = "ping"  # nothing sent for a while: say something, find out if the client is gone
    OVERFLOW = "overflow"  # fell more than its buffer behind
    CLOSED = "closed"  # the client left, or the hub stopped


class Sink(Protocol):
    """A stream that writes straight to its connection (see adapters/http/sse.py): the hub
    hands it each event as it arrives, with no coroutine waiting per stream."""

    def deliver(self, event: LiveEvent) -> None: ...

    def ping(self) -> None: ...

    def close(self) -> None: ...


class Subscription:
    """What one stream wants (a session, a run, or everything) and where its events go: to
    a `Sink` once the stream is live on its connection, or else (while it replays, or when
    served by a coroutine) to a buffer bounded in bytes that `next` empties. The buffer and
    the waiter are made only when needed: an idle subscription on a sink is a few words."""

    __slots__ = (
        "_ready",
        "budget",
        "bytes",
        "pending",
        "quiet",
        "run_id",
        "session_id",
        "signal",
        "sink",
    )

    def __init__(
        self, session_id: str | None = None, run_id: str | None = None, budget: int = BUFFER_BYTES
    ) -> None:
        self.session_id = session_id
        self.run_id = run_id
        self.budget = budget
        self.pending: deque[LiveEvent] | None = None
        self.bytes = 0
        self.signal: Signal | None = None
        self.quiet = True  # nothing sent since the last heartbeat
        self.sink: Sink | None = None
        self._ready: asyncio.Future[None] | None = None

    def offer(self, event: LiveEvent) -> None:
        if self.sink is not None:
            self.quiet = False
            self.sink.deliver(event)
            return
        if self.signal is Signal.OVERFLOW or self.signal is Signal.CLOSED:
            return  # the stream ends; its client resumes by id (a heartbeat stops nothing)
        if self.pending is None:
            self.pending = deque()
        if self.bytes + len(event.data) > self.budget and self.pending:
            self.pending = None
            self.bytes = 0
            self.signal = Signal.OVERFLOW
        else:
            self.pending.append(event)
            self.bytes += len(event.data)
        self._wake()

    def raise_signal(self, signal: Signal) -> None:
        if self.sink is not None:
            if signal is Signal.PING:
                self.sink.ping()
            else:
                sink, self.sink = self.sink, None
                self.signal = signal
                sink.close()
            return
        if self.signal is None or signal is not Signal.PING:
            self.signal = signal
            self._wake()

    def attach(self, sink: Sink) -> list[LiveEvent]:
        """From now on events go to `sink`; returns what was buffered for it until now."""
        waiting = list(self.pending or ())
        self.pending = None
        self.bytes = 0
        if self.signal is Signal.PING:
            self.signal = None
        self.sink = sink
        return waiting

    def _wake(self) -> None:
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(None)

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
            self._ready = asyncio.get_running_loop().create_future()
            try:
                await self._ready
            finally:
                self._ready = None


class LiveHub:
    def __init__(self, heartbeat_seconds: float = 15.0, budget: int = BUFFER_BYTES) -> None:
        self.heartbeat_seconds = heartbeat_seconds
        self.budget = budget  # bytes each new subscription may have waiting
        self._by_session: dict[str, set[Subscription]] = {}
        self._by_run: dict[str, set[Subscription]] = {}
        self._everything: set[Subscription] = set()
        self._heartbeat: asyncio.Task[None] | None = None
        self.writer = SocketWriter()  # the live streams' socket writes, off the loop

    @property
    def subscribers(self) -> int:
        """Open subscriptions (the `zakops_live_streams` gauge)."""
        return len(self._all())

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
        """Offer each event to the subscriptions that want it. A live stream's offer is one
        write of bytes encoded once for all of them; every `SLICE_SECONDS` the hub lets the
        loop run (a write's answer, a new stream) before it goes on, so a thousand streams
        do not stall it."""
        deadline = time.perf_counter() + SLICE_SECONDS
        for event in events:
            for subscription in self._wanting(event):
                subscription.offer(event)
                if time.perf_counter() > deadline:
                    await asyncio.sleep(0)
                    deadline = time.perf_counter() + SLICE_SECONDS

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
        self.writer.start()
        if self._heartbeat is None:
            self._heartbeat = asyncio.get_running_loop().create_task(self._beat())

    async def stop(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            self._heartbeat = None
        for subscription in self._all():
            self.unsubscribe(subscription)
        self.writer.stop()


def _discard(index: dict[str, set[Subscription]], key: str, subscription: Subscription) -> None:
    group = index.get(key)
    if group is not None:
        group.discard(subscription)
        if not group:
            del index[key]
