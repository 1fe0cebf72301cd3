"""Read commands: events, sessions, runs, deals, actions, jobs (each with --json)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, get_args

import typer

from adapters.cli.output import colored, console, event_line, events_table, print_json, table
from adapters.cli.runtime import Lazy, guarded
from application.ports import Page
from application.summaries import ACTION_STATUS, JOB_STATUS, RUN_STATUS
from domain.envelope import Envelope
from domain.payloads import DealStage

Json = Annotated[bool, typer.Option("--json", help="machine-readable JSON")]
Limit = Annotated[int, typer.Option(min=1, max=1000, help="at most this many")]
Opt = Annotated[str | None, typer.Option()]
Offset = Annotated[int, typer.Option(min=0)]
Types = Annotated[list[str] | None, typer.Option("--type", help="only these types (repeatable)")]
Since = Annotated[int, typer.Option(min=0, help="start after this seq (position without a filter)")]
Follow = Annotated[bool, typer.Option("--follow", "-f", help="keep printing new events")]
MaxEvents = Annotated[int | None, typer.Option(min=1, help="stop after N events")]
Poll = Annotated[float, typer.Option(min=0.01, help="seconds between polls")]


RUN_STATES = sorted(set(RUN_STATUS.values()))
DEAL_STAGES = list(get_args(DealStage))
ACTION_STATES = sorted(set(ACTION_STATUS.values()))
JOB_STATES = sorted(set(JOB_STATUS.values()))


def choice(value: str | None, valid: list[str], option: str) -> str | None:
    """Refuse a value that no row can have (an empty table would hide the typo)."""
    if value is not None and value not in valid:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(valid)}", param_hint=option)
    return value


def _states(title: str, page: Page, as_json: bool) -> None:
    if as_json:
        print_json({"items": page.items, "total": page.total})
        return
    table(
        f"{title} ({page.total})",
        ["key", "status", "session", "deal", "updated", "data"],
        [
            (
                r.key,
                colored(r.status),
                r.session_id,
                r.deal_id,
                r.updated_at.strftime("%Y-%m-%d %H:%M:%S"),
                ", ".join(f"{k}={v}" for k, v in r.data.items() if not k.endswith("_at"))[:40],
            )
            for r in page.items
        ],
    )


def register(app: typer.Typer, ctx: Lazy) -> dict[str, typer.Typer]:
    events = typer.Typer(help="Inspect events: recent, one, stats, by correlation, tail.")
    sessions = typer.Typer(help="A session's timeline.")
    runs = typer.Typer(help="Runs: list, show, cancel, fail.")
    deals = typer.Typer(help="Deals: list, show.")
    actions = typer.Typer(help="Actions: list, approve, reject, quarantine.")
    jobs = typer.Typer(help="Jobs: list (--status dlq for dead ones), requeue.")
    for name, group in [
        ("events", events),
        ("sessions", sessions),
        ("runs", runs),
        ("deals", deals),
        ("actions", actions),
        ("jobs", jobs),
    ]:
        app.add_typer(group, name=name)

    def show(title: str, found: list[Envelope], as_json: bool) -> None:
        if as_json:
            print_json({"events": found})
        else:
            events_table(title, found)

    @events.command("recent")
    @guarded
    def recent(
        limit: Limit = 20,
        type: Annotated[
            list[str] | None, typer.Option("--type", help="only these types (repeatable)")
        ] = None,
        as_json: Json = False,
    ) -> None:
        """The newest events first."""
        show("recent events", ctx().queries.get_recent(limit, type or []), as_json)

    @events.command("get")
    @guarded
    def get(event_id: str, as_json: Json = False) -> None:
        """One event by its event_id."""
        event = ctx().queries.get_by_id(event_id)
        print_json(event) if as_json else events_table(f"event {event_id}", [event])

    @events.command("stats")
    @guarded
    def stats(
        hours: Annotated[float | None, typer.Option(help="only the last N hours")] = None,
        as_json: Json = False,
    ) -> None:
        """Totals by type and domain."""
        from datetime import UTC, datetime, timedelta

        since = datetime.now(UTC) - timedelta(hours=hours) if hours else None
        result = ctx().queries.get_stats(since)
        if as_json:
            print_json(result)
            return
        table(f"{result.total} events", ["type", "count"], sorted(result.by_type.items()))
        table("by domain", ["domain", "count"], sorted(result.by_domain.items()))

    @events.command("by-correlation")
    @guarded
    def by_correlation(
        correlation_id: str, limit: Limit = 100, offset: Offset = 0, as_json: Json = False
    ) -> None:
        """Events correlated with a deal (DL-0001) or any other id, in log order."""
        found = ctx().queries.get_by_correlation_id(correlation_id, limit, offset)
        show(f"correlated with {correlation_id}", found, as_json)

    @events.command("tail")
    @guarded
    def tail(
        session: Annotated[str | None, typer.Option(help="one session")] = None,
        run: Annotated[str | None, typer.Option(help="one run")] = None,
        since_seq: Since = 0,
        follow: Follow = False,
        max_events: MaxEvents = None,
        poll: Poll = 0.25,
        as_json: Json = False,
    ) -> None:
        """Print events as they are written (JSON lines with --json), resuming from a seq."""
        if session and run:
            raise typer.BadParameter("give --session or --run, not both")
        queries = ctx().queries
        fetch: Callable[[int], list[Envelope]]
        if session:
            fetch = lambda after: queries.get_events_by_session(session, after, 500)  # noqa: E731
        elif run:
            fetch = lambda after: queries.get_events_by_run(run, after, 500)  # noqa: E731
        else:
            fetch = lambda after: queries.get_events_after(after, 500)  # noqa: E731
        cursor, printed = since_seq, 0
        while True:
            batch = fetch(cursor)
            for event in batch:
                cursor = (event.seq if session or run else event.position) or cursor
                print_json(event) if as_json else console.print(event_line(event), markup=False)
                printed += 1
                if max_events is not None and printed >= max_events:
                    return
            if not follow:
                return
            if not batch:
                time.sleep(poll)

    @sessions.command("events")
    @guarded
    def session_events(
        session_id: str,
        since_seq: Annotated[int, typer.Option(min=0)] = 0,
        run: Annotated[str | None, typer.Option(help="only this run")] = None,
        limit: Limit = 100,
        as_json: Json = False,
    ) -> None:
        """A session's events in seq order."""
        found = ctx().queries.get_events_by_session(session_id, since_seq, limit, run)
        show(f"session {session_id}", found, as_json)

    @runs.command("list")
    @guarded
    def list_runs(
        status: Annotated[str | None, typer.Option(help=", ".join(RUN_STATES))] = None,
        session: Annotated[str | None, typer.Option()] = None,
        limit: Limit = 50,
        as_json: Json = False,
    ) -> None:
        """Runs with their status, newest change first."""
        status = choice(status, RUN_STATES, "--status")
        page = ctx().queries.list_states("run", limit, 0, status=status, session_id=session)
        _states("runs", page, as_json)

    @runs.command("show")
    @guarded
    def show_run(run_id: str, as_json: Json = False) -> None:
        """A run: state, verification, open tool calls, and its timeline."""
        view = ctx().runs.get_run(run_id)
        timeline = ctx().queries.get_events_by_run(run_id, 0, 1000)
        if as_json:
            print_json({"run": view, "events": timeline})
            return
        console.print(
            f"run [bold]{view.run_id}[/bold] in session {view.session_id}: "
            f"{colored(view.status)}; verification {view.verification}"
            f"{' (passed before)' if view.verified else ''}; "
            f"open tool calls: {', '.join(view.open_tool_calls) or 'none'}"
        )
        if view.error:
            console.print(f"error: {view.error}", markup=False)
        events_table("timeline", timeline)

    @deals.command("list")
    @guarded
    def list_deals(
        stage: Annotated[str | None, typer.Option(help=", ".join(DEAL_STAGES))] = None,
        limit: Limit = 50,
        as_json: Json = False,
    ) -> None:
        """Deals by stage."""
        stage = choice(stage, DEAL_STAGES, "--stage")
        _states("deals", ctx().queries.list_states("deal", limit, 0, status=stage), as_json)

    @deals.command("show")
    @guarded
    def show_deal(deal_id: str, as_json: Json = False) -> None:
        """A deal and its events."""
        deal = ctx().deals.get_deal(deal_id)
        found = ctx().queries.get_by_correlation_id(deal_id, 1000, 0)
        if as_json:
            print_json({"deal": deal, "events": found})
            return
        console.print(f"deal [bold]{deal.deal_id}[/bold] {deal.name}: {colored(deal.stage)}")
        events_table("events", found)

    @actions.command("list")
    @guarded
    def list_actions(
        status: Annotated[str | None, typer.Option(help=", ".join(ACTION_STATES))] = None,
        deal: Annotated[str | None, typer.Option()] = None,
        limit: Limit = 50,
        as_json: Json = False,
    ) -> None:
        """Actions with their status."""
        status = choice(status, ACTION_STATES, "--status")
        page = ctx().queries.list_states("action", limit, 0, status=status, deal_id=deal)
        _states("actions", page, as_json)

    @jobs.command("list")
    @guarded
    def list_jobs(
        status: Annotated[str | None, typer.Option(help=", ".join(JOB_STATES))] = None,
        limit: Limit = 50,
        as_json: Json = False,
    ) -> None:
        """Jobs with their status (--status dlq: the dead-letter queue)."""
        status = choice(status, JOB_STATES, "--status")
        _states("jobs", ctx().queries.list_states("job", limit, 0, status=status), as_json)

    return {"runs": runs, "actions": actions, "jobs": jobs}
