"""Reads of current state: runs and sessions; operations: health, readiness, metrics, admin."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse

from adapters.http.common import ERRORS, Deps, Operator, Reader
from adapters.http.deps import ApiDeps
from adapters.http.jsonbody import JsonRoute
from adapters.http.routes_business import listing
from adapters.http.schemas import Health, RetryOut, SessionOut, StateOut, StatePage
from application.queries import MAX_OFFSET

router = APIRouter(responses=ERRORS, route_class=JsonRoute)
READY_TIMEOUT_SECONDS = 1.0
Id = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("/api/runs", tags=["runs"], dependencies=Reader, summary="Runs with their status")
def list_runs(
    d: Deps,
    status: Annotated[str | None, Query(max_length=32)] = None,
    session_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> StatePage:
    page = d.queries.list_states("run", limit, offset, status=status, session_id=session_id)
    return listing(page, offset)


@router.get(
    "/api/sessions/{session_id}",
    tags=["sessions"],
    dependencies=Reader,
    summary="A session: its event count, last seq and runs",
)
def get_session(d: Deps, session_id: Id) -> SessionOut:
    summary = d.queries.get_session(session_id)
    return SessionOut(
        session_id=session_id,
        event_count=summary.last_seq,
        last_seq=summary.last_seq,
        runs=[StateOut.of(r) for r in summary.runs],
    )


@router.get(
    "/healthz", tags=["operations"], summary="The process is up", response_model_exclude_none=True
)
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    tags=["operations"],
    summary="Store and projections reachable",
    responses={503: {"model": Health}},
)
async def readyz(d: Deps) -> Response:
    """200 `ready`; 200 `degraded` when a projection has parked events (the write path and
    the reads still work, so the instance stays in rotation; the reason says what to fix);
    503 `unavailable` when the store or a projection's database cannot be reached, or does
    not answer within `READY_TIMEOUT_SECONDS`."""
    try:
        return await asyncio.wait_for(run_in_threadpool(readiness, d), READY_TIMEOUT_SECONDS)
    except TimeoutError:
        body = Health(status="unavailable", detail=f"no answer within {READY_TIMEOUT_SECONDS} s")
        return JSONResponse(body.model_dump(exclude_none=True), status_code=503)


def readiness(d: ApiDeps) -> Response:
    try:
        head = d.queries.head()
        projections = {
            p.name: {
                "position": float(position := p.view_position()),
                "lag": float(max(0, head - position)),
                "parked": float(p.parked_count()),
            }
            for p in d.projectors
        }
    except Exception as error:  # readiness reports any failure instead of raising
        body = Health(status="unavailable", detail=type(error).__name__)
        return JSONResponse(body.model_dump(exclude_none=True), status_code=503)
    parked = [f"{name}: {int(p['parked'])}" for name, p in projections.items() if p["parked"]]
    body = Health(
        status="degraded" if parked else "ready",
        store="reachable",
        position=head,
        projections=projections or None,
        detail=(
            f"events parked by projections ({', '.join(parked)}); see `zakops projections "
            "status`, fix the cause, then `zakops projections retry NAME`"
        )
        if parked
        else None,
    )
    return JSONResponse(body.model_dump(exclude_none=True))


@router.get(
    "/metrics", tags=["operations"], summary="Prometheus metrics", response_class=PlainTextResponse
)
def metrics(request: Request) -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@router.post(
    "/api/admin/projections/{name}/rebuild",
    tags=["operations"],
    dependencies=Operator,
    summary="Operator: drop a projection's rows and replay the log into it",
)
def rebuild_projection(d: Deps, name: Annotated[str, Path(max_length=64)]) -> Health:
    return Health(status="rebuilt", position=d.projector(name).rebuild())


@router.post(
    "/api/admin/projections/{name}/retry",
    tags=["operations"],
    dependencies=Operator,
    summary="Operator: write a projection's parked events again (after fixing the cause)",
)
def retry_projection(d: Deps, name: Annotated[str, Path(max_length=64)]) -> RetryOut:
    outcome = d.projector(name).retry()
    return RetryOut(name=name, written=outcome.written, still_parked=outcome.still_parked)
