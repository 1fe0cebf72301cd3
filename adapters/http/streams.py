"""Live Server-Sent Event streams: a session, a run, or the whole log (the activity feed).

Each envelope is sent as an SSE event whose `id` is its session `seq` (its log `position`
for the whole log). A client that reconnects with `Last-Event-ID` (or `since_seq`) gets
exactly the events after it, replayed from the store, then the live ones from the process's
one live hub (see adapters/http/sse.py and adapters/live/). A run stream ends after the
run's terminal event. Each API key may hold `max_streams_per_key` streams open (429 past).
"""

from __future__ import annotations

import hashlib
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from adapters.http.auth import bearer_of
from adapters.http.common import ERRORS, Deps, Reader
from adapters.http.problems import TooManyStreams
from adapters.http.sse import LiveStream, Replay, Shape
from adapters.live.hub import LiveHub
from application.queries import MAX_SEQ
from domain.errors import InvalidInput

router = APIRouter(tags=["streams"], responses=ERRORS)
Id = Annotated[str, Path(min_length=1, max_length=64)]
LastEventId = Annotated[str | None, Header(alias="Last-Event-ID", max_length=20)]
SinceSeq = Annotated[int | None, Query(ge=0, le=MAX_SEQ)]
SSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "SSE: id = seq, data = envelope"}
}
SSE_LOG: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/event-stream": {}},
        "description": "SSE: id = position, data = envelope",
    }
}


def start_from(last_event_id: str | None, since_seq: int | None) -> int:
    if last_event_id is not None:
        value = last_event_id.strip()
        if not value.isdigit() or int(value) > MAX_SEQ:
            raise InvalidInput("Last-Event-ID", "must be the seq of the last event received")
        return int(value)
    return since_seq or 0


class StreamSlots:
    """Open streams per API key, up to `limit` each (keys are told apart by a digest of
    the secret, which is never kept)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, secret: str | None) -> str:
        key = hashlib.sha256((secret or "").encode()).hexdigest()[:32]
        with self._lock:
            if self._open.get(key, 0) >= self.limit:
                raise TooManyStreams(f"this key has {self.limit} streams open; close one first")
            self._open[key] = self._open.get(key, 0) + 1
        return key

    def give_back(self, key: str) -> None:
        with self._lock:
            left = self._open.get(key, 1) - 1
            if left > 0:
                self._open[key] = left
            else:
                self._open.pop(key, None)

    def open(self, secret: str | None) -> int:
        key = hashlib.sha256((secret or "").encode()).hexdigest()[:32]
        with self._lock:
            return self._open.get(key, 0)


def open_stream(
    request: Request,
    replay: Replay,
    after: int,
    *,
    session_id: str | None = None,
    run_id: str | None = None,
    until_terminal: bool = False,
    holder: str | None = None,
    shape: Shape | None = None,
) -> LiveStream:
    """Take a slot for the key, subscribe (before the replay reads anything), and stream.
    `holder` names whose slot the stream takes (the bearer key by default; the console
    passes its session's key digest); `shape` may rewrite or drop each event before it is
    sent (the console sends timeline rows as HTML)."""
    slots: StreamSlots = request.app.state.stream_slots
    hub: LiveHub = request.app.state.live_hub
    key = slots.take(holder if holder is not None else bearer_of(request))
    subscription = hub.subscribe(session_id=session_id, run_id=run_id)
    return LiveStream(
        hub,
        subscription,
        replay,
        after,
        until_terminal,
        release=lambda: slots.give_back(key),
        by_position=session_id is None and run_id is None,
        shape=shape,
    )


@router.get(
    "/api/sessions/{session_id}/events/stream",
    dependencies=Reader,
    responses=SSE,
    summary="Follow a session live (resume with Last-Event-ID)",
)
async def stream_session(
    request: Request,
    d: Deps,
    session_id: Id,
    since_seq: SinceSeq = None,
    last_event_id: LastEventId = None,
) -> Response:
    after = start_from(last_event_id, since_seq)
    replay = lambda seq, n: d.queries.get_events_by_session(session_id, seq, n)  # noqa: E731
    return adapt(open_stream(request, replay, after, session_id=session_id))


@router.get(
    "/api/runs/{run_id}/events/stream",
    dependencies=Reader,
    responses=SSE,
    summary="Follow a run live; ends after its terminal event",
)
async def stream_run(
    request: Request,
    d: Deps,
    run_id: Id,
    since_seq: SinceSeq = None,
    last_event_id: LastEventId = None,
) -> Response:
    after = start_from(last_event_id, since_seq)
    await run_in_threadpool(d.runs.load, run_id)  # 404 for an unknown run, before streaming
    replay = lambda seq, n: d.queries.get_events_by_run(run_id, seq, n)  # noqa: E731
    return adapt(open_stream(request, replay, after, run_id=run_id, until_terminal=True))


@router.get(
    "/api/events/stream",
    dependencies=Reader,
    responses=SSE_LOG,
    summary="Follow the whole log live (the activity feed; resume with Last-Event-ID)",
)
async def stream_log(
    request: Request,
    d: Deps,
    since_position: Annotated[int | None, Query(ge=0, le=MAX_SEQ)] = None,
    last_event_id: LastEventId = None,
) -> Response:
    after = start_from(last_event_id, since_position)
    if last_event_id is None and since_position is None:
        after = await run_in_threadpool(d.queries.head)  # from now on, unless asked
    replay = lambda position, n: d.queries.get_events_after(position, n)  # noqa: E731
    return adapt(open_stream(request, replay, after))


class _Asgi(Response):
    """Hands an ASGI callable to FastAPI as the route's response."""

    def __init__(self, app: LiveStream) -> None:
        super().__init__()
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def adapt(stream: LiveStream) -> Response:
    return _Asgi(stream)
