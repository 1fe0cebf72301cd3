"""A realistic demo for newcomers (`zakops demo`).

Sessions with runs through every lifecycle path (verify fail then pass, a blocked tool, a
run waiting for input and resumed, a cancelled run, a failed run, one still running), deals
moving through stages, actions completed, rejected and one awaiting approval, and a job that
ends in the dead-letter queue, all through the application services.

Ids are deterministic so the README's examples work: the first demo writes session
`sess-0001` (runs `run-0001-verified`, `-asking`, `-cancelled`, `-stuck`), deals `DL-0001`
and `DL-0002`, actions `ACT-1` (awaiting approval) to `ACT-3` and job `JOB-1` (dead); the
n-th demo numbers on from there (`sess-000n`, `DL-{2n-1}`, `ACT-{3n-2}`, `JOB-n`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from application.services.actions import ActionService
from application.services.deals import DealService
from application.services.jobs import JobService
from application.services.runs import RunService
from application.services.sessions import SessionService
from domain.errors import NotFound


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
    stuck = f"run-{tag}-stuck"
    runs.create_run(session, stuck, agent="researcher")
    runs.start_run(stuck)
    runs.call_tool(stuck, "t1", "browser", arguments={"url": "https://example.com"})
    s.sessions.record(session, "custom.feedback", {"stars": 5, "comment": "useful"})


def _business(s: DemoServices, n: int) -> None:
    deal, lost = f"DL-{2 * n - 1:04d}", f"DL-{2 * n:04d}"
    pending, sent, wire = (f"ACT-{3 * n - k}" for k in (2, 1, 0))
    s.deals.create_deal(deal, "Acme Corp", display_name="ACME")
    for stage in ("screening", "qualified", "loi"):
        s.deals.move_deal(deal, stage)
    s.deals.enrich_deal(deal, {"sector": "saas", "arr": 1_200_000})
    s.deals.create_deal(lost, "Globex")
    s.deals.move_deal(lost, "junk", reason="not a fit")
    s.deals.archive_deal(lost, reason="dead lead")
    s.actions.create_action(pending, "schedule_call", deal_id=deal, title="Call the CFO")
    s.actions.create_action(sent, "send_loi", deal_id=deal, title="Send the LOI")
    s.actions.approve(sent, approved_by="ops")
    s.actions.execute(sent)
    s.actions.complete(sent, result={"sent": True})
    s.actions.create_action(wire, "wire_money", deal_id=deal)
    s.actions.quarantine(wire, reason="unusual amount")
    s.actions.reject(wire, rejected_by="risk", reason="not authorised")
    job = f"JOB-{n}"
    s.jobs.enqueue(job, "enrich_profile", max_attempts=2)
    for _ in range(2):
        s.jobs.start(job, worker_id="worker-1")
        s.jobs.fail(job, "upstream 503")


def drive(services: DemoServices, step: Callable[[str], None] = lambda _: None) -> str:
    """Write the next demo (numbered after those already written); returns its session id."""
    n = _next_number(services)
    tag = f"{n:04d}"
    session = f"sess-{tag}"
    step("runs")
    _runs(services, tag, session)
    step("deals, actions and jobs")
    _business(services, n)
    return session


def _next_number(services: DemoServices) -> int:
    n = 1
    while True:
        try:
            services.deals.get_deal(f"DL-{2 * n - 1:04d}")
        except NotFound:
            return n
        n += 1
