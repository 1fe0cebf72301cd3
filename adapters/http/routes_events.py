"""Event routes: the seeds' read endpoints, session and run timelines, and emission."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import Discriminator, Tag, TypeAdapter, ValidationError

from adapters.http.auth import authorize, bearer_of
from adapters.http.common import ERRORS, Deps, Reader, idempotency_key, parse_window
from adapters.http.deps import ApiDeps
from adapters.http.jsonbody import JsonRoute, too_deep
from adapters.http.schemas import (
    CommandOut,
    CorrelationPage,
    EmitBatchIn,
    EmitIn,
    EventList,
    EventsPage,
    StatsOut,
)
from application.emitter import EmitRequest
from application.queries import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET, MAX_SEQ
from domain.envelope import Envelope
from domain.errors import InvalidInput

router = APIRouter(tags=["events"], responses=ERRORS, route_class=JsonRoute)
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
SinceSeq = Annotated[
    int | None, Query(ge=0, le=MAX_SEQ, description="return events with seq > since_seq")
]
MAX_EVENT_ID = 100
PathId = Annotated[str, Path(min_length=1, max_length=100)]


def page(events: list[Envelope], limit: int) -> EventsPage:
    full = len(events) == limit and events
    return EventsPage(events=events, next_since_seq=events[-1].seq if full else None)


@router.get("/api/events/recent", dependencies=Reader, summary="Newest events first")
def recent(
    d: Deps, limit: Limit = 50, types: Annotated[list[str] | None, Query()] = None
) -> EventList:
    names = [t for value in types or [] for t in value.split(",") if t]
    events = d.queries.get_recent(limit, names)
    return EventList(events=events, count=len(events))


@router.get(
    "/api/events/by-correlation/{correlation_id}",
    dependencies=Reader,
    summary="Events correlated with a deal (DL-0001) or any other id, in log order",
)
def by_correlation(
    d: Deps,
    correlation_id: PathId,
    limit: Limit = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> CorrelationPage:
    events = d.queries.get_by_correlation_id(correlation_id, limit, offset)
    more = offset + len(events) if len(events) == limit else None
    return CorrelationPage(events=events, count=len(events), next_offset=more)


@router.get("/api/events/by-run/{run_id}", dependencies=Reader, summary="A run's events")
def by_run(
    d: Deps, run_id: PathId, since_seq: SinceSeq = None, limit: Limit = DEFAULT_LIMIT
) -> EventsPage:
    return page(d.queries.get_events_by_run(run_id, since_seq, limit), limit)


@router.get("/api/events/stats", dependencies=Reader, summary="Totals by type and domain")
def stats(
    d: Deps,
    window: Annotated[str | None, Query(examples=["24h"])] = None,
    since: Annotated[
        datetime | None,
        Query(description="a timezone-aware time (ISO 8601); or give `window`, not both"),
    ] = None,
) -> StatsOut:
    if window is not None and since is not None:
        raise InvalidInput("since", "give window or since, not both")
    span = parse_window(window)
    result = d.queries.get_stats(datetime.now(UTC) - span if span else since)
    return StatsOut(
        since=result.since, total=result.total, by_type=result.by_type, by_domain=result.by_domain
    )


@router.get("/api/events/{event_id}", dependencies=Reader, summary="One event")
def get_event(d: Deps, event_id: PathId) -> Envelope:
    return d.queries.get_by_id(event_id)


@router.get(
    "/api/sessions/{session_id}/events",
    dependencies=Reader,
    summary="A session's events in seq order (all runs, and events without a run)",
)
def session_events(
    d: Deps,
    session_id: PathId,
    since_seq: SinceSeq = None,
    limit: Limit = DEFAULT_LIMIT,
    run_id: Annotated[str | None, Query(max_length=64)] = None,
) -> EventsPage:
    return page(d.queries.get_events_by_session(session_id, since_seq, limit, run_id), limit)


@router.get(
    "/api/runs/{run_id}/events",
    dependencies=Reader,
    summary="A run's events with their original session seq",
)
def run_events(
    d: Deps, run_id: PathId, since_seq: SinceSeq = None, limit: Limit = DEFAULT_LIMIT
) -> EventsPage:
    return page(d.queries.get_events_by_run(run_id, since_seq, limit), limit)


def _shape(body: object) -> str:
    return "batch" if isinstance(body, dict) and "events" in body else "single"


EmitBody = Annotated[
    Annotated[EmitIn, Tag("single")] | Annotated[EmitBatchIn, Tag("batch")],
    Discriminator(_shape),
]
EMIT_BODY: TypeAdapter[EmitIn | EmitBatchIn] = TypeAdapter(EmitBody)
EMIT_SCHEMA = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    {"$ref": "#/components/schemas/EmitIn"},
                    {"$ref": "#/components/schemas/EmitBatchIn"},
                ]
            }
        }
    },
}


def emit_requests(body: EmitIn | EmitBatchIn, key: str | None) -> list[EmitRequest]:
    """The emitter's requests for a body. With an `Idempotency-Key`, a single event's id is
    the key and a batch's n-th event's id is `<key>.<n>`, so a repeated post writes nothing;
    an event that names another id is refused."""
    items = body.events if isinstance(body, EmitBatchIn) else [body]
    ids: list[str | None] = [item.event_id for item in items]
    if key is not None:
        derived = [key] if isinstance(body, EmitIn) else [f"{key}.{n}" for n in range(len(items))]
        if len(derived[-1]) > MAX_EVENT_ID:
            room = MAX_EVENT_ID - len(derived[-1]) + len(key)
            raise InvalidInput("Idempotency-Key", f"is too long for this batch: at most {room}")
        for n, (given, wanted) in enumerate(zip(ids, derived, strict=True)):
            if given is not None and given != wanted:
                where = "event_id" if isinstance(body, EmitIn) else f"events.{n}.event_id"
                raise InvalidInput(where, f"differs from {wanted!r}, the Idempotency-Key's id")
        ids = list(derived)
    return [
        EmitRequest(
            item.type,
            item.payload,
            item.session_id,
            item.run_id,
            event_id,
            item.source,
            item.correlation_id,
            item.causation_id,
            item.actor,
        )
        for item, event_id in zip(items, ids, strict=True)
    ]


def parse_body(raw: bytes) -> EmitIn | EmitBatchIn:
    """Parse and validate in one step from the bytes. JSON that the fast parser refuses
    but Python's accepts (a lone surrogate in a string) is validated from Python's reading,
    so the answer names the field, as on every other route; JSON nested deeper than the
    fast parser's limit is malformed (see jsonbody.py)."""
    try:
        return EMIT_BODY.validate_json(raw)
    except ValidationError as error:
        errors = error.errors(include_url=False)
    if errors[0]["type"] == "json_invalid" and not too_deep(str(errors[0]["msg"])):
        try:
            document = json.loads(raw)
        except ValueError:
            raise RequestValidationError(errors) from None
        try:
            return EMIT_BODY.validate_python(document)
        except ValidationError as error:
            errors = error.errors(include_url=False)
    raise RequestValidationError(errors)


@router.post(
    "/api/events",
    status_code=201,
    response_model=Envelope | CommandOut,
    summary="Emit one event, or a batch ({events: [...]}, one transaction, all or nothing)",
    responses={200: {"description": "every event_id was seen before: the originals"}},
    openapi_extra={"requestBody": EMIT_SCHEMA},
)
async def emit(request: Request) -> Response:
    # The hottest route, kept lean: the key is checked before the body is read, the body is
    # parsed and validated in one step from its bytes, the command takes one hop to the
    # thread pool, and the envelopes (valid already) are serialised without validation.
    authorize(request, "writer", bearer_of(request))
    key = idempotency_key(request)
    body = parse_body(await request.body())
    d: ApiDeps = request.app.state.deps
    emitted = await run_in_threadpool(d.emitter.emit_batch, emit_requests(body, key))
    status = 201 if any(e.created for e in emitted) else 200
    envelopes = [e.envelope for e in emitted if e.envelope is not None]
    if isinstance(body, EmitIn) and envelopes:
        content = envelopes[0].model_dump_json()
    else:
        content = CommandOut(events=envelopes, written=status == 201).model_dump_json()
    return Response(content, status_code=status, media_type="application/json")


EMIT = next(r for r in router.routes if isinstance(r, APIRoute) and r.endpoint is emit)
