"""Small builders for domain tests: fixed time, fresh event ids, aggregates in a given state."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any, cast

from domain import payloads as p
from domain.action import Action
from domain.deal import Deal
from domain.job import Job
from domain.model import EventMeta, ZakopsAggregate
from domain.run import Run

AT = datetime(2026, 2, 6, 10, 0, tzinfo=UTC)
_ids = itertools.count(1)


def meta(**fields: Any) -> EventMeta:
    return EventMeta(event_id=f"ev-{next(_ids)}", **fields)


def new_run(run_id: str = "run-1", requires_verification: bool = False) -> Run:
    payload = p.RunCreatedPayload(requires_verification=requires_verification)
    return Run.create(meta(session_id="sess-1", run_id=run_id), AT, payload)


def run_in(status: str, requires_verification: bool = False) -> Run:
    run = new_run(requires_verification=requires_verification)
    if status == "queued":
        return run
    run.start(meta(), AT)
    if status == "waiting_input":
        run.wait_for_input(meta(), AT)
    elif status == "completed":
        run.complete(meta(), AT)
    elif status == "failed":
        run.fail(meta(), AT, p.RunFailedPayload(error="boom"))
    elif status == "cancelled":
        run.cancel(meta(), AT)
    return run


def new_deal(stage: str = "inbound", deal_id: str = "DL-0001") -> Deal:
    payload = p.DealCreatedPayload.model_validate(
        {"deal_id": deal_id, "name": "Acme Corp", "stage": stage}
    )
    return Deal.create(meta(), AT, payload)


def deal_in(stage: str) -> Deal:
    if stage != "archived":
        return new_deal(stage)
    deal = new_deal()
    deal.archive(meta(), AT, p.DealArchivedPayload(deal_id="DL-0001"))
    return deal


def new_action(requires_approval: bool = True, max_executions: int = 2) -> Action:
    payload = p.ActionCreatedPayload(
        action_id="ACT-1",
        action_type="send_email",
        deal_id="DL-0001",
        requires_approval=requires_approval,
        max_executions=max_executions,
    )
    return Action.create(meta(), AT, payload)


def action_in(status: str, requires_approval: bool = True) -> Action:
    action = new_action(requires_approval=requires_approval)
    steps = {
        "created": [],
        "approved": ["approve"],
        "rejected": ["reject"],
        "quarantined": ["quarantine"],
        "executing": ["approve", "execute"],
        "completed": ["approve", "execute", "complete"],
        "failed": ["approve", "execute", "fail"],
    }[status]
    for step in steps:
        action_command(action, step)
    return action


def action_command(action: Action, name: str) -> object:
    aid = action.action_id
    calls = {
        "approve": lambda: action.approve(meta(), AT, p.ActionApprovedPayload(action_id=aid)),
        "reject": lambda: action.reject(meta(), AT, p.ActionRejectedPayload(action_id=aid)),
        "quarantine": lambda: action.quarantine(
            meta(), AT, p.ActionQuarantinedPayload(action_id=aid)
        ),
        "execute": lambda: action.execute(meta(), AT, p.ActionExecutingPayload(action_id=aid)),
        "complete": lambda: action.complete(meta(), AT, p.ActionCompletedPayload(action_id=aid)),
        "fail": lambda: action.fail(meta(), AT, p.ActionFailedPayload(error="x", action_id=aid)),
    }
    return calls[name]()


def new_job(max_attempts: int = 2) -> Job:
    payload = p.JobQueuedPayload(job_id="JOB-1", job_type="enrich", max_attempts=max_attempts)
    return Job.create(meta(), AT, payload)


def job_command(job: Job, name: str) -> object:
    jid = job.job_id
    calls = {
        "start": lambda: job.start(meta(), AT, p.JobStartedPayload(job_id=jid)),
        "complete": lambda: job.complete(meta(), AT, p.JobCompletedPayload(job_id=jid)),
        "fail": lambda: job.fail(meta(), AT, p.JobFailedPayload(error="x", job_id=jid)),
        "retry": lambda: job.retry(meta(), AT, p.JobRetryingPayload(job_id=jid)),
        "dead_letter": lambda: job.dead_letter(meta(), AT, p.JobDeadLetteredPayload(job_id=jid)),
        "requeue": lambda: job.requeue(
            meta(), AT, p.JobQueuedPayload(job_type=job.job_type, job_id=jid)
        ),
    }
    return calls[name]()


def job_in(status: str) -> Job:
    """`failed` has attempts left; `failed_final` and `dlq` have none (max_attempts=2)."""
    job = new_job(max_attempts=2)
    steps = {
        "queued": [],
        "started": ["start"],
        "completed": ["start", "complete"],
        "failed": ["start", "fail"],
        "retrying": ["start", "fail", "retry"],
        "failed_final": ["start", "fail", "retry", "start", "fail"],
        "dlq": ["start", "fail", "retry", "start", "fail", "dead_letter"],
    }[status]
    for step in steps:
        job_command(job, step)
    return job


def snapshot_state(aggregate: object) -> dict[str, Any]:
    """Everything but the pending list, deep enough to notice any mutation."""
    import copy

    state = {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}
    return copy.deepcopy(state)


def recorded(aggregate: ZakopsAggregate) -> list[ZakopsAggregate.Event]:
    """The aggregate's pending events, typed as ours."""
    events = list(aggregate.pending_events)
    assert all(isinstance(e, ZakopsAggregate.Event) for e in events)
    return cast(list[ZakopsAggregate.Event], events)
