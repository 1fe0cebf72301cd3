"""A Server-Sent Events response: replay from the store, then the live hub, no gap, no
duplicate.

The subscription is taken before the replay starts, so every event committed from then on
reaches its buffer; the replay reads the store until it has caught up, and live events
whose id (seq, or position for the activity feed) the replay already sent are skipped.
A coroutine serves the replay (a second one waits for the client to leave); once caught up,
the stream takes its connection over (`DETACH`, adapters/http/protocol.py) and the hub
writes each event to it directly: no coroutine, no task per live stream, and the
connection's `connection_lost` is the disconnect. Where the server offers no such hand-over,
the coroutine goes on serving the stream from the subscription's buffer. Heartbeats come
from the hub's timer. A stream whose client fell more than its buffer behind ends with an
`overflow` event saying where to resume; the client reconnects with `Last-Event-ID`.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from starlette.concurrency import run_in_threadpool
from starlette.types import Message, Receive, Scope, Send

from adapters.http.protocol import DETACH, Detach
from adapters.live.hub import (
    PING_CHUNK,
    LiveEvent,
    LiveHub,
    Signal,
    Subscription,
    http_chunk,
    sse_frame,
)
from adapters.live.writer import Outlet
from domain.envelope import Envelope

TERMINAL = frozenset({"run_completed", "run_failed", "run_cancelled"})
FIRST_PAGE = 1  # the first read of a replay: one event, whose size sizes the next page
# (a first page of 32 events of 500 KB held 16 MB per slow stream: the chaos suite, issue 10)
MAX_PAGE = 500
PAGE_BYTES = 1_048_576  # what one read of a replay may hold, about
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),  # proxies: do not buffer the stream
]

Replay = Callable[[int, int], list[Envelope]]  # (after id, limit) -> envelopes in id order
# (type, data) -> the (event name, data) to send instead, or None to send nothing
Shape = Callable[[str, str], tuple[str, str] | None]


def next_page(count: int, page_bytes: int) -> int:
    """How many events to read next so that a page holds about `PAGE_BYTES`: a slow
    consumer then holds at most one page in memory (or one event larger than that),
    whatever the size of the events; before any is known, one."""
    if count == 0:
        return FIRST_PAGE
    return max(1, min(MAX_PAGE, PAGE_BYTES * count // max(page_bytes, 1)))


LAST_CHUNK = b"0\r\n\r\n"


@dataclass(slots=True, eq=False)
class LiveStream(asyncio.Protocol):
    """An ASGI response. `by_position` streams the whole log (ids are positions); the
    others a session or a run (ids are session seqs).

    Once caught up, it takes its connection over when the server lets it (`DETACH`, see
    adapters/http/protocol.py): it becomes the connection's protocol and the hub's sink, the
    ASGI call returns, and each event is written to the transport as the hub offers it (no
    coroutine, no task). The transport's own buffer is then the stream's buffer, bounded by
    the hub's budget. Without the extension, a coroutine serves the stream from the
    subscription's buffer."""

    hub: LiveHub
    subscription: Subscription
    replay: Replay | None
    after: int  # the last id the client has
    until_terminal: bool
    release: Callable[[], None] | None
    by_position: bool = False
    shape: Shape | None = None
    transport: asyncio.WriteTransport | None = None  # once the stream owns its connection
    loop: asyncio.AbstractEventLoop | None = None
    outlet: Outlet | None = None  # the socket, once moved off the transport
    connections: set[Any] | None = None  # uvicorn's open connections, this one among them
    ending: bool = False  # the last chunk is queued

    def id_of(self, event: Envelope | LiveEvent) -> int:
        value = event.position if self.by_position else event.seq
        return int(value or 0)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        leaving = asyncio.ensure_future(_until_disconnect(receive))
        left = lambda _: self.subscription.raise_signal(Signal.CLOSED)  # noqa: E731
        leaving.add_done_callback(left)
        detach: Detach | None = scope.get("extensions", {}).get(DETACH)
        try:
            if not await self._replay(send):
                if detach is not None and self.subscription.signal in (None, Signal.PING):
                    leaving.remove_done_callback(left)
                    leaving.cancel()
                    if self._take_over(detach):
                        return  # the stream goes on, on its connection
                    leaving = asyncio.ensure_future(_until_disconnect(receive))
                    leaving.add_done_callback(left)
                await self._live(send)
        finally:
            if self.transport is None and self.outlet is None:
                leaving.cancel()
                self._end()
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    def _end(self) -> None:
        self.hub.unsubscribe(self.subscription)
        release, self.release = self.release, None
        if release is not None:
            release()

    async def _send(self, send: Send, event: Envelope | LiveEvent, data: str) -> bool:
        """Send one event; True when it ends the stream (a run's terminal event)."""
        self.after = self.id_of(event)
        kind, sent = event.type, data
        if self.shape is not None:
            shaped = self.shape(kind, data)
            if shaped is None:  # not for this client; `after` has moved past it all the same
                return self.until_terminal and event.type in TERMINAL
            kind, sent = shaped
        await send(
            {
                "type": "http.response.body",
                "body": sse_frame(self.after, kind, sent),
                "more_body": True,
            }
        )
        return self.until_terminal and event.type in TERMINAL

    async def _replay(self, send: Send) -> bool:
        limit = FIRST_PAGE
        replay = self.replay
        assert replay is not None
        while self.subscription.signal is not Signal.CLOSED:
            page = await run_in_threadpool(replay, self.after, limit)
            page_bytes = 0
            for envelope in page:
                data = envelope.model_dump_json()
                page_bytes += len(data)
                if await self._send(send, envelope, data):
                    return True
            if len(page) < limit:
                return False  # caught up with the store: the buffer has the rest
            limit = next_page(len(page), page_bytes)
        return True

    async def _live(self, send: Send) -> None:
        while True:
            item = await self.subscription.next()
            if item is Signal.PING:
                await _body(send, b": ping\n\n")
            elif item is Signal.OVERFLOW:
                await _body(send, self._overflow_note())
                return
            elif isinstance(item, LiveEvent):
                if self.id_of(item) > self.after and await self._send(send, item, item.data):
                    return
            else:  # closed: the client left or the server stops
                return

    def _overflow_note(self) -> bytes:
        note = {"reason": "the client fell too far behind", "resume_after": self.after}
        return sse_frame(None, "overflow", json.dumps(note))

    # On its own connection: the hub's sink and the connection's protocol.

    def _take_over(self, detach: Detach) -> bool:
        if not detach(self):
            return False
        self.replay = None  # not needed any more: let its closure go
        self._migrate()
        for event in self.subscription.attach(self):  # what arrived during the replay
            self.deliver(event)
        return True

    def adopt(self, transport: asyncio.BaseTransport, connections: set[Any]) -> None:
        self.transport = cast(asyncio.WriteTransport, transport)  # uvloop's is no subclass
        self.loop = asyncio.get_running_loop()
        self.connections = connections

    def _migrate(self) -> None:
        """Move the socket from the transport to an `Outlet` that one of the hub's writer threads
        writes to (adapters/live/writer.py), when the transport has nothing left to write
        (else it keeps it). The console's streams (`shape`) stay on their transport."""
        transport, writer = self.transport, self.hub.writer
        if (
            transport is None
            or self.shape is not None
            or not writer.running
            or transport.get_write_buffer_size()
            or transport.is_closing()
        ):
            return
        sock = transport.get_extra_info("socket")
        if sock is None:
            return
        fd = os.dup(sock.fileno())
        transport.set_protocol(asyncio.Protocol())  # its closing is no news to this stream
        transport.close()  # closes its descriptor only: the connection stays open on `fd`
        self.transport = None
        assert self.loop is not None
        self.outlet = Outlet(fd, self.loop, writer, self._outlet_lost)

    def deliver(self, event: LiveEvent) -> None:
        event_id = self.id_of(event)
        if event_id <= self.after or self._closed():
            return
        if self.shape is None:
            chunk = event.chunk(self.by_position)
        else:
            shaped = self.shape(event.type, event.data)
            chunk = b"" if shaped is None else http_chunk(sse_frame(event_id, *shaped))
        if chunk and self._waiting() + len(chunk) > self.subscription.budget:
            self._finish(http_chunk(self._overflow_note()))  # the client fell behind
            return
        self.after = event_id
        if self.until_terminal and event.type in TERMINAL:
            self._finish(chunk)
        elif chunk:
            self._write(chunk)

    def ping(self) -> None:
        if not self._closed():
            self._write(PING_CHUNK)

    def close(self) -> None:
        """The hub stops (or this stream's subscription ends): end the response."""
        self._finish(b"")

    def shutdown(self) -> None:
        """The server stops: end the response; the client resumes elsewhere by its id."""
        self._finish(b"")

    def _closed(self) -> bool:
        if self.outlet is not None:
            return self.outlet.gone or self.outlet.closing or self.ending
        return self.transport is None or self.transport.is_closing()

    def _waiting(self) -> int:
        if self.outlet is not None:
            return self.outlet.pending
        return self.transport.get_write_buffer_size() if self.transport is not None else 0

    def _write(self, chunk: bytes) -> None:
        if self.outlet is not None:
            self.outlet.send(chunk)
        elif self.transport is not None:
            self.transport.write(chunk)

    def _finish(self, last: bytes) -> None:
        if self._closed():
            return
        if self.outlet is not None:
            self.ending = True
            self.outlet.send(last + LAST_CHUNK, finish=True)
        elif self.transport is not None:
            self.transport.write(last + LAST_CHUNK)
            self.transport.close()  # after the buffer is written; then `connection_lost`

    def data_received(self, data: bytes) -> None:
        pass  # a client says nothing more on a stream; whatever it sends is dropped

    def eof_received(self) -> bool | None:
        return None  # the client is gone: close

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._gone()

    def _outlet_lost(self) -> None:
        self.outlet = None
        self._gone()

    def _gone(self) -> None:
        self.subscription.sink = None
        if self.connections is not None:
            self.connections.discard(self)
            self.connections = None
        self._end()


async def _body(send: Send, chunk: bytes) -> None:
    await send({"type": "http.response.body", "body": chunk, "more_body": True})


async def _until_disconnect(receive: Receive) -> None:
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return
