"""Deal, action and job commands, and their listings."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import Field

from adapters.http.common import ERRORS, Deps, IdempotencyKey, Operator, Reader, Writer
from adapters.http.jsonbody import JsonRoute
from adapters.http.routes_runs import answer, command
from adapters.http.schemas import CommandIn, CommandOut, Key, StateOut, StatePage
from application.ports import Page
from application.queries import MAX_OFFSET, MAX_SEQ
from application.services.deals import DealView
from domain.payloads import DealStage

router = APIRouter(responses=ERRORS, route_class=JsonRoute)
Id = Annotated[str, Path(min_length=1, max_length=64)]
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
Status = Annotated[str | None, Query(max_length=32)]


def listing(page: Page, offset: int) -> StatePage:
    items = [StateOut.of(row) for row in page.items]
    more = offset + len(items) if offset + len(items) < page.total else None
    return StatePage(items=items, total=page.total, next_offset=more)


# --- deals -------------------------------------------------------------------------------
class CreateDealIn(CommandIn):
    deal_id: str = Key
    name: str
    stage: DealStage = "inbound"
    display_name: str | None = None


class UpdateDealIn(CommandIn):
    name: str | None = None
    display_name: str | None = None
    fields: dict[str, Any] | None = None


class MoveDealIn(CommandIn):
    to_stage: DealStage
    from_stage: DealStage | None = None
    reason: str | None = None


class EnrichDealIn(CommandIn):
    profile: dict[str, Any]


class ReasonIn(CommandIn):
    reason: str | None = None


@command(router, "/api/deals", "deal.created", "deals")
def create_deal(
    d: Deps, body: CreateDealIn, response: Response, key: IdempotencyKey = None
) -> CommandOut:
    result = d.deals.create_deal(
        body.deal_id,
        body.name,
        stage=body.stage,
        display_name=body.display_name,
        origin=body.origin(key),
    )
    return answer(result, response)


@router.patch(
    "/api/deals/{deal_id}",
    summary="deal.updated",
    tags=["deals"],
    status_code=201,
    dependencies=Writer,
)
def update_deal(
    d: Deps, deal_id: Id, body: UpdateDealIn, response: Response, key: IdempotencyKey = None
) -> CommandOut:
    result = d.deals.update_deal(
        deal_id,
        name=body.name,
        display_name=body.display_name,
        fields=body.fields,
        origin=body.origin(key),
    )
    return answer(result, response)


@command(
    router,
    "/api/deals/{deal_id}/stage",
    "deal.stage_changed (the current stage: no-op, 200)",
    "deals",
)
def move_deal(
    d: Deps, deal_id: Id, body: MoveDealIn, response: Response, key: IdempotencyKey = None
) -> CommandOut:
    result = d.deals.move_deal(
        deal_id,
        body.to_stage,
        from_stage=body.from_stage,
        reason=body.reason,
        origin=body.origin(key),
    )
    return answer(result, response)


@command(router, "/api/deals/{deal_id}/profile", "deal.profile_enriched", "deals")
def enrich_deal(
    d: Deps, deal_id: Id, body: EnrichDealIn, response: Response, key: IdempotencyKey = None
) -> CommandOut:
    return answer(d.deals.enrich_deal(deal_id, body.profile, origin=body.origin(key)), response)


@command(router, "/api/deals/{deal_id}/archive", "deal.archived", "deals")
def archive_deal(
    d: Deps, deal_id: Id, body: ReasonIn, response: Response, key: IdempotencyKey = None
) -> CommandOut:
    result = d.deals.archive_deal(deal_id, reason=body.reason, origin=body.origin(key))
    return answer(result, response)


@router.get("/api/deals", tags=["deals"], dependencies=Reader, summary="Deals by stage")
def list_deals(d: Deps, stage: Status = None, limit: Limit = 100, offset: Offset = 0) -> StatePage:
    return listing(d.queries.list_states("deal", limit, offset, status=stage), offset)


AtPosition = Annotated[
    int | None,
    Query(ge=0, le=MAX_SEQ, description="the deal's state as of this log position (replayed)"),
]


@router.get(
    "/api/deals/{deal_id}",
    tags=["deals"],
    dependencies=Reader,
    summary="A deal, now or as of a log position (deal events have no session seq)",
)
def get_deal(d: Deps, deal_id: Id, at_position: AtPosition = None) -> DealView:
    if at_position is None:
        return d.deals.get_deal(deal_id)
    return d.deals.get_deal_at(deal_id, at_position)


# --- actions -----------------------------------------------------------------------------
class CreateActionIn(CommandIn):
    action_id: str = Field(min_length=1, max_length=50)
    action_type: str
    deal_id: str | None = None
    title: str | None = None
    requires_approval: bool = True
    max_executions: int = Field(default=3, ge=1, le=100)
    session_id: str | None = None


class ByIn(CommandIn):
    by: str | None = None
    reason: str | None = None


class ResultIn(CommandIn):
    result: dict[str, Any] | None = None


class ErrorIn(CommandIn):
    error: str


@command(router, "/api/actions", "action.created", "actions")
def create_action(
    d: Deps, body: CreateActionIn, response: Response, key: IdempotencyKey = None
) -> CommandOut:
    result = d.actions.create_action(
        body.action_id,
        body.action_type,
        deal_id=body.deal_id,
        title=body.title,
        requires_approval=body.requires_approval,
        max_executions=body.max_executions,
        session_id=body.session_id,
        origin=body.origin(key),
    )
    return answer(result, response)


@command(router, "/api/actions/{action_id}/approve", "action.approved", "actions")
def approve(
    d: Deps, action_id: Id, body: ByIn, response: Response, key: IdempotencyKey = None
) -> CommandOut:
    return answer(
        d.actions.approve(
            action_id, approved_by=body.by, reason=body.reason, origin=body.origin(key)
        ),
        response,
    )


@command(router, "/api/actions/{action_id}/reject", "action.rejected", "actions")
def reject(
    d: Deps, action_id: Id, body: ByIn, response: Response, key: IdempotencyKey = None
) -> CommandOut:
    result = d.actions.reject(
        action_id, rejected_by=body.by, reason=body.reason, origin=body.origin(key)
    )
    return answer(result, response)


@command(router, "/api/actions/{action_id}/quarantine", "action.quarantined", "actions")
def quarantine(
    d: Deps, action_id: Id, body: ByIn, response: Response, key: IdempotencyKey = None
) -> CommandOut:
    result = d.actions.quarantine(action_id, reason=body.reason, origin=body.origin(key))
    return answer(result, response)


@command(router, "/api/actions/{action_id}/execute", "action.executing", "actions")
def execute(
    d: Deps, action_id: Id, body: CommandIn, response: Response, key: IdempotencyKey = None
) -> CommandOut:
    return answer(d.actions.execute(action_id, origin=body.origin(key)), response)


@command(router, "/api/actions/{action_id}/complete", "action.completed", "actions")
def complete_action(
    d: Deps, action_id: Id, body: ResultIn, response: Response, key: IdempotencyKey = None
) -> CommandOut:
    result = d.actions.complete(action_id, result=body.result, origin=body.origin(key))
    return answer(result, response)


@command(router, "/api/actions/{action_id}/fail", "action.failed", "actions")
def fail_action(
    d: Deps, action_id: Id, body: ErrorIn, response: Response, key: IdempotencyKey = None
) -> CommandOut:
    return answer(d.actions.fail(action_id, body.error, origin=body.origin(key)), response)


@router.get("/api/actions", tags=["actions"], dependencies=Reader, summary="Actions")
def list_actions(
    d: Deps, status: Status = None, deal_id: Status = None, limit: Limit = 100, offset: Offset = 0
) -> StatePage:
    page = d.queries.list_states("action", limit, offset, status=status, deal_id=deal_id)
    return listing(page, offset)


# --- jobs --------------------------------------------------------------------------------
class EnqueueIn(CommandIn):
    job_id: str = Key
    job_type: str
    max_attempts: int = Field(default=3, ge=1, le=100)
    session_id: str | None = None


class StartJobIn(CommandIn):
    worker_id: str | None = None


class JobResultIn(CommandIn):
    result: Any = None


@command(router, "/api/jobs", "worker.job_queued", "jobs")
def enqueue(d: Deps, body: EnqueueIn, response: Response, key: IdempotencyKey = None) -> CommandOut:
    result = d.jobs.enqueue(
        body.job_id,
        body.job_type,
        max_attempts=body.max_attempts,
        session_id=body.session_id,
        origin=body.origin(key),
    )
    return answer(result, response)


@command(router, "/api/jobs/{job_id}/start", "worker.job_started", "jobs")
def start_job(
    d: Deps, job_id: Id, body: StartJobIn, response: Response, key: IdempotencyKey = None
) -> CommandOut:
    return answer(d.jobs.start(job_id, worker_id=body.worker_id, origin=body.origin(key)), response)


@command(router, "/api/jobs/{job_id}/complete", "worker.job_completed", "jobs")
def complete_job(
    d: Deps, job_id: Id, body: JobResultIn, response: Response, key: IdempotencyKey = None
) -> CommandOut:
    return answer(d.jobs.complete(job_id, result=body.result, origin=body.origin(key)), response)


@command(
    router, "/api/jobs/{job_id}/fail", "worker.job_failed, then job_retrying or job_dlq", "jobs"
)
def fail_job(
    d: Deps, job_id: Id, body: ErrorIn, response: Response, key: IdempotencyKey = None
) -> CommandOut:
    return answer(d.jobs.fail(job_id, body.error, origin=body.origin(key)), response)


@router.post(
    "/api/jobs/{job_id}/requeue",
    tags=["jobs"],
    status_code=201,
    dependencies=Operator,
    summary="Operator: requeue a dead-lettered job",
)
def requeue(
    d: Deps, job_id: Id, body: CommandIn, response: Response, key: IdempotencyKey = None
) -> CommandOut:
    return answer(d.jobs.requeue(job_id, origin=body.origin(key)), response)


@router.get("/api/jobs", tags=["jobs"], dependencies=Reader, summary="Jobs (status=dlq: dead)")
def list_jobs(d: Deps, status: Status = None, limit: Limit = 100, offset: Offset = 0) -> StatePage:
    return listing(d.queries.list_states("job", limit, offset, status=status), offset)
