"""`make run` (until the HTTP service lands): drive the domain through its lifecycles.

Runs a session with a verified run, a deal through the pipeline, an approved action and a
job that ends in the dead-letter queue, then prints every event the aggregates recorded and
replays each history to show that the state it rebuilds is the same.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from rich.console import Console
from rich.table import Table

from domain import payloads as p
from domain.action import Action
from domain.deal import Deal
from domain.job import Job
from domain.model import EventMeta, ZakopsAggregate
from domain.run import Run

_ids = itertools.count(1)
_clock = itertools.count(0)
START = datetime.now(UTC)


def _meta(session_id: str | None = None, run_id: str | None = None) -> EventMeta:
    event_id = f"demo-{next(_ids):03d}"
    return EventMeta(event_id=event_id, source="demo", session_id=session_id, run_id=run_id)


def _at() -> datetime:
    return START + timedelta(milliseconds=next(_clock))


def _run() -> Run:
    run = Run.create(
        _meta(session_id="sess-demo", run_id="run-demo"),
        _at(),
        p.RunCreatedPayload(requires_verification=True),
    )
    run.start(_meta(), _at())
    run.call_tool(_meta(), _at(), p.ToolCalledPayload(tool_call_id="t1", tool_name="search"))
    run.complete_tool(_meta(), _at(), p.ToolCompletedPayload(tool_call_id="t1", result=3))
    run.start_verification(_meta(), _at())
    run.fail_verification(_meta(), _at(), p.VerifyFailPayload(reason="missing citation"))
    run.start_verification(_meta(), _at())
    run.pass_verification(_meta(), _at())
    run.complete(_meta(), _at(), p.RunCompletedPayload(output="done"))
    return run


def _deal() -> Deal:
    deal = Deal.create(_meta(), _at(), p.DealCreatedPayload(deal_id="DL-0001", name="Acme"))
    for stage in ("screening", "qualified", "loi"):
        deal.move_to(
            _meta(),
            _at(),
            p.DealStageChangedPayload.model_validate({"deal_id": "DL-0001", "to_stage": stage}),
        )
    deal.archive(_meta(), _at(), p.DealArchivedPayload(deal_id="DL-0001", reason="demo"))
    return deal


def _action() -> Action:
    created = p.ActionCreatedPayload(action_id="ACT-1", action_type="send_loi", deal_id="DL-0001")
    action = Action.create(_meta(), _at(), created)
    action.approve(_meta(), _at(), p.ActionApprovedPayload(action_id="ACT-1", approved_by="ops"))
    action.execute(_meta(), _at(), p.ActionExecutingPayload(action_id="ACT-1"))
    action.complete(_meta(), _at(), p.ActionCompletedPayload(action_id="ACT-1"))
    return action


def _job() -> Job:
    job = Job.create(
        _meta(), _at(), p.JobQueuedPayload(job_id="JOB-1", job_type="enrich", max_attempts=2)
    )
    for _ in range(2):
        job.start(_meta(), _at(), p.JobStartedPayload(job_id="JOB-1"))
        job.fail(_meta(), _at(), p.JobFailedPayload(job_id="JOB-1", error="upstream 503"))
        if job.attempts_left:
            job.retry(_meta(), _at(), p.JobRetryingPayload(job_id="JOB-1"))
    job.dead_letter(_meta(), _at(), p.JobDeadLetteredPayload(job_id="JOB-1"))
    return job


def main() -> None:
    console = Console()
    table = Table(title="ZakOps Event Core: domain demo (in memory)")
    for column in ("aggregate", "v", "type", "event_id", "correlation", "payload"):
        table.add_column(column)
    for aggregate in (_run(), _deal(), _action(), _job()):
        events = list(aggregate.collect_events())
        replayed: ZakopsAggregate | None = None
        for event in events:
            assert isinstance(event, ZakopsAggregate.Event)
            replayed = event.mutate(replayed)
            table.add_row(
                aggregate.KIND,
                str(event.originator_version),
                event.event_type,
                event.meta.event_id,
                event.meta.correlation_id or "",
                str(event.payload.model_dump(mode="json")),
            )
        assert replayed is not None
        assert vars(replayed) == vars(aggregate)
    console.print(table)
    console.print("[green]every history replays to the same state[/green]")


if __name__ == "__main__":
    main()
