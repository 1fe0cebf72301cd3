"""Live Server-Sent Event streams of a session or a run, resumable from a seq.

Each envelope is sent as an SSE event whose `id` is its session `seq`. A client that
reconnects with `Last-Event-ID` (or `since_seq`) gets exactly the events after that seq,
replayed from the durable timeline, then the live ones: the stream is a loop over the same
query, so there is no gap or duplicate between the replay and the live part. A run stream
ends after the run's terminal event; comment pings keep idle connections open.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from adapters.http.common import ERRORS, Deps, Reader
from adapters.http.deps import ApiDeps
from application.queries import MAX_SEQ
from domain.envelope import Envelope
from domain.errors import InvalidInput

router = APIRouter(tags=["streams"], responses=ERRORS)
TERMINAL = {"run_completed", "run_failed", "run_cancelled"}
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


async def follow(
    request: Request,
    fetch: Callable[[int], list[Envelope]],
    seq: int,
    poll: float,
    until_terminal: bool,
) -> AsyncIterator[dict[str, str]]:
    while not await request.is_disconnected():
        batch = await run_in_threadpool(fetch, seq)
        for envelope in batch:
            seq = envelope.seq or seq
            yield {
                "id": str(envelope.seq),
                "event": envelope.type,
                "data": envelope.model_dump_json(),
            }
            if until_terminal and envelope.type in TERMINAL:
                return
        if not batch:
            await asyncio.sleep(poll)


def stream(
    request: Request,
    d: ApiDeps,
    fetch: Callable[[int], list[Envelope]],
    seq: int,
    until_terminal: bool,
) -> EventSourceResponse:
    events = follow(request, fetch, seq, d.stream_poll_seconds, until_terminal)
    return EventSourceResponse(events, ping=int(d.heartbeat_seconds))


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
    fetch = lambda after: d.queries.get_events_by_session(session_id, after, 500)  # noqa: E731
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
    fetch = lambda after: d.queries.get_events_by_run(run_id, after, 500)  # noqa: E731
    return stream(request, d, fetch, seq, until_terminal=True)
