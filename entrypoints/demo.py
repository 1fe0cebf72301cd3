"""A realistic demo for newcomers (`zakops demo`, or `python -m entrypoints.demo`).

Sessions with runs through every lifecycle path (verify fail then pass, a blocked tool, a
run waiting for input and resumed, a cancelled run, a failed run), deals moving through
stages, actions approved and rejected, and a job that ends in the dead-letter queue, all
through the application services. Every call of the demo adds new, uniquely named data.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Protocol

from rich.console import Console

from application.services.actions import ActionService
from application.services.deals import DealService
from application.services.jobs import JobService
from application.services.runs import RunService
from application.services.sessions import SessionService


class DemoServices(Protocol):
    runs: RunService
    deals: DealService
    actions: ActionService
    jobs: JobService
    sessions: SessionService


def _runs(s: DemoServices, tag: str, session: str) -> None:
    runs = s.runs
    verified = f"run-{tag}-verified"
    runs.create_run(session, verified, requires_verification=True, agent="planner")
    runs.start_run(verified, phase="plan")
    runs.call_tool(verified, "t1", "search", arguments={"q": "acme"})
    runs.complete_tool(verified, "t1", result={"hits": 3})
    runs.call_tool(verified, "t2", "shell", arguments={"cmd": "rm -rf /"})
    runs.block_tool(verified, "shell", tool_call_id="t2", policy="no-shell", reason="destructive")
    runs.fail_tool(verified, "t2", "blocked by policy")
    runs.start_verification(verified)
    runs.fail_verification(verified, reason="missing citation")
    runs.start_verification(verified)
    runs.pass_verification(verified, details="cited 3 sources")
    runs.complete_run(verified, output="summary written")
    asking = f"run-{tag}-asking"
    runs.create_run(session, asking)
    runs.start_run(asking)
    runs.wait_for_input(asking, prompt="which deal?")
    runs.resume_run(asking, input="DL-0001")
    runs.think(asking, content="looking it up")
    runs.fail_run(asking, "upstream timeout", error_code="E_TIMEOUT")
    cancelled = f"run-{tag}-cancelled"
    runs.create_run(session, cancelled)
    runs.start_run(cancelled)
    runs.cancel_run(cancelled, reason="user stopped it")
    s.sessions.record(session, "custom.feedback", {"stars": 5, "comment": "useful"})


def _business(s: DemoServices, tag: str) -> None:
    deal = f"DL-{tag[:8]}"
    s.deals.create_deal(deal, "Acme Corp", display_name="ACME")
    for stage in ("screening", "qualified", "loi"):
        s.deals.move_deal(deal, stage)
    s.deals.enrich_deal(deal, {"sector": "saas", "arr": 1_200_000})
    lost = f"DL-{tag[:6]}-X"
    s.deals.create_deal(lost, "Globex")
    s.deals.move_deal(lost, "junk", reason="not a fit")
    s.deals.archive_deal(lost, reason="dead lead")
    s.actions.create_action(f"ACT-{tag}-1", "send_loi", deal_id=deal, title="Send the LOI")
    s.actions.approve(f"ACT-{tag}-1", approved_by="ops")
    s.actions.execute(f"ACT-{tag}-1")
    s.actions.complete(f"ACT-{tag}-1", result={"sent": True})
    s.actions.create_action(f"ACT-{tag}-2", "wire_money", deal_id=deal)
    s.actions.quarantine(f"ACT-{tag}-2", reason="unusual amount")
    s.actions.reject(f"ACT-{tag}-2", rejected_by="risk", reason="not authorised")
    job = f"JOB-{tag}"
    s.jobs.enqueue(job, "enrich_profile", max_attempts=2)
    for _ in range(2):
        s.jobs.start(job, worker_id="worker-1")
        s.jobs.fail(job, "upstream 503")


def drive(services: DemoServices, step: Callable[[str], None] = lambda _: None) -> str:
    """Write the demo; returns the demo session's id."""
    tag = uuid.uuid4().hex[:8]
    session = f"sess-{tag}"
    step("runs")
    _runs(services, tag, session)
    step("deals, actions and jobs")
    _business(services, tag)
    return session


def main() -> None:
    from adapters.cli.context import Overrides
    from adapters.cli.output import events_table
    from entrypoints.cli import build_context

    context = build_context(Overrides())
    try:
        session = drive(context)
        events_table(f"timeline of {session}", context.queries.get_events_by_session(session))
        Console().print("[green]demo written[/green]")
    finally:
        context.close()


if __name__ == "__main__":
    main()
