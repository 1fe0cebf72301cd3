"""A Server-Sent Events response: replay from the store, then the live hub, no gap, no
duplicate.

The subscription is taken before the replay starts, so every event committed from then on
reaches its buffer; the replay reads the store until it has caught up, and live events
whose id (seq, or position for the activity feed) the replay already sent are skipped. One
coroutine serves a stream; a second one only waits for the client to leave. Heartbeats come
from the hub's timer. A stream whose client fell more than its buffer behind ends with an
`overflow` event saying where to resume; the client reconnects with `Last-Event-ID`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.types import Message, Receive, Scope, Send

from adapters.live.hub import LiveEvent, LiveHub, Signal, Subscription
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


def frame(event_id: int | None, kind: str, data: str) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {data}\n\n".encode()


@dataclass(slots=True)
class LiveStream:
    """An ASGI response. `by_position` streams the whole log (ids are positions); the
    others a session or a run (ids are session seqs)."""

    hub: LiveHub
    subscription: Subscription
    replay: Replay
    after: int  # the last id the client has
    until_terminal: bool
    release: Callable[[], None]
    by_position: bool = False
    shape: Shape | None = None

    def id_of(self, event: Envelope | LiveEvent) -> int:
        value = event.position if self.by_position else event.seq
        return int(value or 0)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        leaving = asyncio.ensure_future(_until_disconnect(receive))
        leaving.add_done_callback(lambda _: self.subscription.raise_signal(Signal.CLOSED))
        try:
            if not await self._replay(send):
                await self._live(send)
        finally:
            leaving.cancel()
            self.hub.unsubscribe(self.subscription)
            self.release()
        await send({"type": "http.response.body", "body": b"", "more_body": False})

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
                "body": frame(self.after, kind, sent),
                "more_body": True,
            }
        )
        return self.until_terminal and event.type in TERMINAL

    async def _replay(self, send: Send) -> bool:
        limit = FIRST_PAGE
        while self.subscription.signal is not Signal.CLOSED:
            page = await run_in_threadpool(self.replay, self.after, limit)
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
                note = {"reason": "the client fell too far behind", "resume_after": self.after}
                await send(
                    {
                        "type": "http.response.body",
                        "body": frame(None, "overflow", json.dumps(note)),
                        "more_body": True,
                    }
                )
                return
            elif isinstance(item, LiveEvent):
                if self.id_of(item) > self.after and await self._send(send, item, item.data):
                    return
            else:  # closed: the client left or the server stops
                return


async def _body(send: Send, chunk: bytes) -> None:
    await send({"type": "http.response.body", "body": chunk, "more_body": True})


async def _until_disconnect(receive: Receive) -> None:
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return
