"""Commands for operators: cancel or fail a run, review actions, requeue jobs, emit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from adapters.cli.output import console, events_table, print_json
from adapters.cli.runtime import Lazy, catch_up_projections, guarded
from application.services.base import CommandResult, Origin
from domain.errors import InvalidInput

Json = Annotated[bool, typer.Option("--json", help="machine-readable JSON")]
Actor = Annotated[str, typer.Option(help="who does this (recorded as the actor)")]
EventId = Annotated[str | None, typer.Option(help="idempotency: a repeat returns the original")]


def done(result: CommandResult, as_json: bool) -> None:
    if as_json:
        print_json({"events": result.events, "written": result.written})
    elif not result.events:
        console.print("nothing to do (no-op)")
    else:
        verb = "wrote" if result.written else "already written"
        events_table(f"{verb} {len(result.events)} event(s)", result.events)


def origin(actor: str, event_id: str | None) -> Origin:
    return Origin(event_id=event_id, source="cli", actor=actor)


def read_payload(payload: str) -> Any:
    """`--payload '{"a": 1}'` or `--payload @file.json`."""
    text = payload
    if payload.startswith("@"):
        path = Path(payload[1:])
        if not path.is_file():
            raise InvalidInput("payload", f"no such file: {path}")
        text = path.read_text()
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput("payload", f"not valid JSON: {error.msg} at {error.pos}") from None


def register(app: typer.Typer, ctx: Lazy, groups: dict[str, typer.Typer]) -> None:
    runs, actions, jobs = groups["runs"], groups["actions"], groups["jobs"]

    def finish(result: CommandResult, as_json: bool) -> None:
        done(result, as_json)
        catch_up_projections(ctx())

    @runs.command("cancel")
    @guarded
    def cancel(
        run_id: str,
        reason: Annotated[str, typer.Option(help="why")],
        actor: Actor = "operator",
        event_id: EventId = None,
        as_json: Json = False,
    ) -> None:
        """Cancel a run (any state that is not terminal)."""
        finish(
            ctx().runs.cancel_run(run_id, reason=reason, origin=origin(actor, event_id)), as_json
        )

    @runs.command("fail")
    @guarded
    def fail(
        run_id: str,
        error: Annotated[str, typer.Option(help="what went wrong")],
        actor: Actor = "operator",
        event_id: EventId = None,
        as_json: Json = False,
    ) -> None:
        """Mark a run failed."""
        finish(ctx().runs.fail_run(run_id, error, origin=origin(actor, event_id)), as_json)

    @actions.command("approve")
    @guarded
    def approve(
        action_id: str, actor: Actor = "operator", event_id: EventId = None, as_json: Json = False
    ) -> None:
        """Approve an action (created or quarantined)."""
        result = ctx().actions.approve(action_id, approved_by=actor, origin=origin(actor, event_id))
        finish(result, as_json)

    @actions.command("reject")
    @guarded
    def reject(
        action_id: str,
        reason: Annotated[str | None, typer.Option()] = None,
        actor: Actor = "operator",
        event_id: EventId = None,
        as_json: Json = False,
    ) -> None:
        """Reject an action (created or quarantined)."""
        result = ctx().actions.reject(
            action_id, rejected_by=actor, reason=reason, origin=origin(actor, event_id)
        )
        finish(result, as_json)

    @actions.command("quarantine")
    @guarded
    def quarantine(
        action_id: str,
        reason: Annotated[str | None, typer.Option()] = None,
        actor: Actor = "operator",
        event_id: EventId = None,
        as_json: Json = False,
    ) -> None:
        """Quarantine a new action for review."""
        result = ctx().actions.quarantine(action_id, reason=reason, origin=origin(actor, event_id))
        finish(result, as_json)

    @jobs.command("requeue")
    @guarded
    def requeue(
        job_id: str, actor: Actor = "operator", event_id: EventId = None, as_json: Json = False
    ) -> None:
        """Give a dead-lettered job a fresh set of attempts."""
        finish(ctx().jobs.requeue(job_id, origin=origin(actor, event_id)), as_json)

    @app.command("emit")
    @guarded
    def emit(
        type: Annotated[str, typer.Argument(help="an event type, e.g. custom.note")],
        payload: Annotated[str, typer.Option(help="a JSON object, or @file.json")] = "{}",
        session: Annotated[str | None, typer.Option()] = None,
        run: Annotated[str | None, typer.Option()] = None,
        correlation: Annotated[str | None, typer.Option()] = None,
        actor: Actor = "operator",
        event_id: EventId = None,
        as_json: Json = False,
    ) -> None:
        """Emit one event through the emitter (the same validation as POST /api/events)."""
        emitted = ctx().emitter.emit(
            type,
            read_payload(payload),
            session_id=session,
            run_id=run,
            event_id=event_id,
            source="cli",
            correlation_id=correlation,
            actor=actor,
        )
        events = [emitted.envelope] if emitted.envelope else []
        finish(CommandResult(events, emitted.created), as_json)
