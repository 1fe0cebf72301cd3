"""Sessions and runs: the run listing, a run's page (status, verify gate, waterfall, state
as of any seq) and the writer's cancel and fail buttons."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from adapters.console.render import page
from adapters.console.security import PREFIX, Viewer, acting, viewer
from adapters.console.waterfall import story
from adapters.http.common import Deps
from adapters.http.deps import ApiDeps
from application.queries import MAX_SEQ
from application.services.base import Origin

router = APIRouter(prefix=PREFIX)
Look = Annotated[Viewer, Depends(viewer)]
Writer = Annotated[Viewer, Depends(acting("writer"))]
RUN_STATUSES = ["queued", "running", "waiting_input", "completed", "failed", "cancelled"]
MAX_RUN_EVENTS = 5000  # drawn on a run's page; the session page pages through any number
Status = Annotated[str | None, Query(max_length=32)]


@router.get("/runs", response_class=HTMLResponse)
def runs_page(request: Request, d: Deps, who: Look, status: Status = None) -> HTMLResponse:
    runs = d.queries.list_states("run", 200, 0, status=status or None)
    counts = {s: d.queries.list_states("run", 1, 0, status=s).total for s in RUN_STATUSES}
    return page(
        request, "runs.html", who, runs=runs, counts=counts, chosen=status or "", nav="runs"
    )


@router.get("/sessions", response_class=HTMLResponse)
def sessions_page(
    request: Request, d: Deps, who: Look, id: Annotated[str, Query(max_length=64)] = ""
) -> Response:
    if id.strip():
        return RedirectResponse(f"{PREFIX}/sessions/{quote(id.strip(), safe='')}", 303)
    runs = d.queries.list_states("run", 500, 0).items
    sessions: dict[str, list[Any]] = {}
    for run in runs:
        sessions.setdefault(run.session_id or "", []).append(run)
    return page(request, "sessions.html", who, sessions=sessions, nav="sessions")


def run_events(d: ApiDeps, run_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    since = 0
    while len(events) < MAX_RUN_EVENTS:
        batch = d.queries.get_events_by_run(run_id, since, 1000)
        events += [e.model_dump(mode="json") for e in batch]
        if len(batch) < 1000:
            break
        since = batch[-1].seq or since
    return events


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, d: Deps, who: Look, run_id: str) -> HTMLResponse:
    run = d.runs.get_run(run_id)
    events = run_events(d, run_id)
    return page(
        request,
        "run.html",
        who,
        run=run,
        state=run,
        events=events,
        story=story(events, datetime.now(UTC)),
        seqs=[int(e["seq"]) for e in events],
        at_seq=None,
        nav="runs",
    )


@router.get("/runs/{run_id}/state", response_class=HTMLResponse)
def run_state(
    request: Request,
    d: Deps,
    who: Look,
    run_id: str,
    at_seq: Annotated[int | None, Query(ge=0, le=MAX_SEQ)] = None,
) -> HTMLResponse:
    """The state panel, as of `at_seq` (the same replay as `GET /api/runs/{id}?at_seq=`)."""
    state = d.runs.get_run(run_id) if at_seq is None else d.runs.get_run_at(run_id, at_seq)
    return page(request, "_run_state.html", who, state=state, at_seq=at_seq)


def origin(who: Viewer) -> Origin:
    return Origin(source="console", actor=who.actor)


@router.post("/runs/{run_id}/cancel", response_class=HTMLResponse)
def cancel_run(
    request: Request,
    d: Deps,
    who: Writer,
    run_id: str,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> HTMLResponse:
    d.runs.cancel_run(run_id, reason=reason or None, origin=origin(who))
    return run_state(request, d, who, run_id)


@router.post("/runs/{run_id}/fail", response_class=HTMLResponse)
def fail_run(
    request: Request,
    d: Deps,
    who: Writer,
    run_id: str,
    error: Annotated[str, Form(min_length=1, max_length=500)],
) -> HTMLResponse:
    d.runs.fail_run(run_id, error, origin=origin(who))
    return run_state(request, d, who, run_id)
