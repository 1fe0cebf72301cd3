"""`make run` (until the HTTP service lands): a demo against the configured store.

Drives a run through its lifecycle (a tool call, a failed then a passed verification), a deal
through the pipeline, an approved action and a job that ends in the dead-letter queue, all
through the application services, then prints the session's timeline with its `seq` and
the listings, read back from the timeline projection. The default store is the embedded
SQLite file `.data/zakops.sqlite`; every run of the demo adds a new session.
"""

from __future__ import annotations

import uuid

from rich.console import Console
from rich.table import Table

from entrypoints.container import Container, build, close, init_db


def drive(app: Container, tag: str) -> str:
    session, run = f"sess-{tag}", f"run-{tag}"
    runs = app.runs()
    runs.create_run(session, run, requires_verification=True, agent="planner")
    runs.start_run(run, phase="plan")
    runs.call_tool(run, "t1", "search", arguments={"q": "acme"})
    runs.complete_tool(run, "t1", result={"hits": 3})
    runs.start_verification(run)
    runs.fail_verification(run, reason="missing citation")
    runs.start_verification(run)
    runs.pass_verification(run)
    runs.complete_run(run, output="done")
    app.sessions().record(session, "custom.feedback", {"stars": 5})
    deal = f"DL-{tag[:6]}"
    app.deals().create_deal(deal, "Acme Corp")
    for stage in ("screening", "qualified", "loi"):
        app.deals().move_deal(deal, stage)
    action = f"ACT-{tag}"
    app.actions().create_action(action, "send_loi", deal_id=deal)
    app.actions().approve(action, approved_by="ops")
    job = f"JOB-{tag}"
    app.jobs().enqueue(job, "enrich", max_attempts=2)
    for _ in range(2):
        app.jobs().start(job)
        app.jobs().fail(job, "upstream 503")
    return session


def show(app: Container, session: str, console: Console) -> None:
    table = Table(title=f"timeline of {session}")
    for column in ("seq", "position", "type", "run_id", "payload"):
        table.add_column(column)
    for e in app.queries().get_events_by_session(session):
        table.add_row(str(e.seq), str(e.position), e.type, e.run_id or "", str(e.payload)[:60])
    console.print(table)
    for kind in ("run", "deal", "action", "job"):
        page = app.queries().list_states(kind, limit=5)
        listed = ", ".join(f"{row.key}={row.status}" for row in page.items)
        console.print(f"[bold]{kind}s[/bold] ({page.total}): {listed}")


def main() -> None:
    console = Console()
    app = build()
    try:
        init_db(app)
        session = drive(app, uuid.uuid4().hex[:8])
        show(app, session, console)
        settings = app.settings()
        where = settings.sqlite_path if settings.store == "sqlite" else settings.store
        console.print(f"[green]stored in {where}; {app.store().head()} events in the log[/green]")
    finally:
        close(app)


if __name__ == "__main__":
    main()
