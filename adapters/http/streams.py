"""Live Server-Sent Event streams of a session or a run, resumable from a seq.

Each envelope is sent as an SSE event whose `id` is its session `seq`. A client that
reconnects with `Last-Event-ID` (or `since_seq`) gets exactly the events after that seq,
replayed from the durable timeline, then the live ones: the stream is a loop over the same
query, so there is no gap or duplicate between the replay and the live part. A run stream
ends after the run's terminal event; comment pings keep idle connections open.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from sse_starlette.sse import EventSourceResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from adapters.http.auth import bearer_of
from adapters.http.common import ERRORS, Deps, Reader
from adapters.http.deps import ApiDeps
from adapters.http.problems import TooManyStreams
from application.queries import MAX_SEQ
from domain.envelope import Envelope
from domain.errors import InvalidInput

router = APIRouter(tags=["streams"], responses=ERRORS)
TERMINAL = {"run_completed", "run_failed", "run_cancelled"}
FIRST_PAGE = 32  # events in the first fetch of a stream
MAX_PAGE = 500
PAGE_BYTES = 1_048_576  # what one fetch may hold, about
Id = Annotated[str, Path(min_length=1, max_length=64)]
LastEventId = Annotated[str | None, Header(alias="Last-Event-ID", max_length=20)]
SinceSeq = Annotated[int | None, Query(ge=0, le=MAX_SEQ)]
SSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "SSE: id = seq, data = envelope"}
}


def start_from(last_event_id: str | None, since_seq: int | None) -> int:
    if last_event_id is not None:
        value = last_event_id.strip()
        if not value.isdigit() or int(value) > MAX_SEQ:
            raise InvalidInput("Last-Event-ID", "must be the seq of the last event received")
        return int(value)
    return since_seq or 0


Fetch = Callable[[int, int], list[Envelope]]  # (after seq, limit) -> envelopes


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


def next_page(count: int, page_bytes: int) -> int:
    """How many events to fetch next so that a page holds about `PAGE_BYTES`: a slow
    consumer then holds at most one page in memory, whatever the size of the events."""
    if count == 0:
        return FIRST_PAGE
    return max(1, min(MAX_PAGE, PAGE_BYTES * count // max(page_bytes, 1)))


async def follow(
    request: Request,
    fetch: Fetch,
    seq: int,
    poll: float,
    until_terminal: bool,
    release: Callable[[], None],
) -> AsyncIterator[dict[str, str]]:
    limit = FIRST_PAGE
    try:
        while not await request.is_disconnected():
            batch = await run_in_threadpool(fetch, seq, limit)
            page_bytes = 0
            for envelope in batch:
                seq = envelope.seq or seq
                data = envelope.model_dump_json()
                page_bytes += len(data)
                yield {"id": str(envelope.seq), "event": envelope.type, "data": data}
                if until_terminal and envelope.type in TERMINAL:
                    return
            if batch:
                limit = next_page(len(batch), page_bytes)
            else:
                await asyncio.sleep(poll)
    finally:
        release()


def stream(
    request: Request,
    d: ApiDeps,
    fetch: Fetch,
    seq: int,
    until_terminal: bool,
) -> EventSourceResponse:
    slots: StreamSlots = request.app.state.stream_slots
    key = slots.take(bearer_of(request))
    given_back = False

    def release() -> None:  # from the generator's end and from the response's end, once
        nonlocal given_back
        if not given_back:
            given_back = True
            slots.give_back(key)

    events = follow(request, fetch, seq, d.stream_poll_seconds, until_terminal, release)
    return EventSourceResponse(
        events, ping=int(d.heartbeat_seconds), background=BackgroundTask(release)
    )


@router.get(
    "/api/sessions/{session_id}/events/stream",
    dependencies=Reader,
    responses=SSE,
    summary="Follow a session live (resume with Last-Event-ID)",
)
def stream_session(
    request: Request,
    d: Deps,
    session_id: Id,
    since_seq: SinceSeq = None,
    last_event_id: LastEventId = None,
) -> EventSourceResponse:
    fetch = lambda after, n: d.queries.get_events_by_session(session_id, after, n)  # noqa: E731
    return stream(request, d, fetch, start_from(last_event_id, since_seq), until_terminal=False)


@router.get(
    "/api/runs/{run_id}/events/stream",
    dependencies=Reader,
    responses=SSE,
    summary="Follow a run live; ends after its terminal event",
)
def stream_run(
    request: Request,
    d: Deps,
    run_id: Id,
    since_seq: SinceSeq = None,
    last_event_id: LastEventId = None,
) -> EventSourceResponse:
    seq = start_from(last_event_id, since_seq)
    d.runs.load(run_id)  # 404 for an unknown run, before the stream starts
    fetch = lambda after, n: d.queries.get_events_by_run(run_id, after, n)  # noqa: E731
    return stream(request, d, fetch, seq, until_terminal=True)
