"""Actions awaiting approval (approve or reject, writer and above) and jobs by status with
the dead-letter queue (requeue, operator). Each command answers with the updated row and
the event it wrote, swapped in place by htmx."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import HTMLResponse

from adapters.console.render import page
from adapters.console.security import PREFIX, Viewer, acting, viewer
from adapters.http.common import Deps
from application.services.base import CommandResult, Origin

router = APIRouter(prefix=PREFIX)
Look = Annotated[Viewer, Depends(viewer)]
Writer = Annotated[Viewer, Depends(acting("writer"))]
Operator = Annotated[Viewer, Depends(acting("operator"))]
Reason = Annotated[str, Form(max_length=500)]
JOB_STATUSES = ["queued", "started", "retrying", "failed", "completed", "dlq"]
ACTION_STATUSES = ["created", "quarantined", "approved", "executing", "failed", "completed"]


def origin(who: Viewer) -> Origin:
    return Origin(source="console", actor=who.actor)


@router.get("/actions", response_class=HTMLResponse)
def actions_page(request: Request, d: Deps, who: Look) -> HTMLResponse:
    awaiting = d.queries.list_states("action", 200, 0, status="created")
    quarantined = d.queries.list_states("action", 200, 0, status="quarantined")
    recent = d.queries.list_states("action", 30, 0)
    return page(
        request,
        "actions.html",
        who,
        awaiting=awaiting,
        quarantined=quarantined,
        recent=recent,
        nav="actions",
    )


def action_row(
    request: Request, d: Deps, who: Viewer, key: str, done: CommandResult
) -> HTMLResponse:
    row = d.queries.get_state("action", key)
    events = [e.model_dump(mode="json") for e in done.events]
    return page(request, "_action_row.html", who, a=row, written=events)


@router.post("/actions/{action_id}/approve", response_class=HTMLResponse)
def approve(
    request: Request, d: Deps, who: Writer, action_id: str, reason: Reason = ""
) -> HTMLResponse:
    done = d.actions.approve(
        action_id, approved_by=who.actor, reason=reason or None, origin=origin(who)
    )
    return action_row(request, d, who, action_id, done)


@router.post("/actions/{action_id}/reject", response_class=HTMLResponse)
def reject(
    request: Request, d: Deps, who: Writer, action_id: str, reason: Reason = ""
) -> HTMLResponse:
    done = d.actions.reject(
        action_id, rejected_by=who.actor, reason=reason or None, origin=origin(who)
    )
    return action_row(request, d, who, action_id, done)


@router.get("/jobs", response_class=HTMLResponse)
def jobs_page(
    request: Request,
    d: Deps,
    who: Look,
    status: Annotated[str | None, Query(max_length=32)] = None,
) -> HTMLResponse:
    chosen = status or "dlq"
    counts = {s: d.queries.list_states("job", 1, 0, status=s).total for s in JOB_STATUSES}
    jobs = d.queries.list_states("job", 200, 0, status=chosen)
    return page(request, "jobs.html", who, jobs=jobs, counts=counts, chosen=chosen, nav="jobs")


@router.post("/jobs/{job_id}/requeue", response_class=HTMLResponse)
def requeue(request: Request, d: Deps, who: Operator, job_id: str) -> HTMLResponse:
    done = d.jobs.requeue(job_id, origin=origin(who))
    row = d.queries.get_state("job", job_id)
    events = [e.model_dump(mode="json") for e in done.events]
    return page(request, "_job_row.html", who, j=row, written=events)
