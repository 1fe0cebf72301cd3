"""Set-up and operations: db init/check, serve, demo, projections, API keys."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.progress import Progress

from adapters.cli.context import CliContext, Hooks
from adapters.cli.output import console, print_json, table
from adapters.cli.runtime import Lazy, catch_up_projections, guarded
from adapters.keys import tokens
from adapters.keys.tokens import RANK
from application.projector import Projector

Json = Annotated[bool, typer.Option("--json", help="machine-readable JSON")]
Yes = Annotated[bool, typer.Option("--yes", help="really drop and replay")]
Role = Annotated[str, typer.Option(help="reader | writer | operator")]


def _projection(context: CliContext, name: str) -> Projector:
    if name not in context.projectors:
        known = ", ".join(context.projectors)
        raise typer.BadParameter(f"unknown or disabled projection {name!r}; enabled: {known}")
    return context.projectors[name]


def register(app: typer.Typer, ctx: Lazy, hooks: Hooks) -> None:
    db = typer.Typer(help="Create and check the store's schema and tables.")
    projections = typer.Typer(help="Projection workers: status, run, rebuild, retry.")
    keys = typer.Typer(help="API keys for the HTTP API.")
    app.add_typer(db, name="db")
    app.add_typer(projections, name="projections")
    app.add_typer(keys, name="keys")

    @db.command("init")
    @guarded
    def init() -> None:
        """Create our schema and tables on the configured store (idempotent)."""
        ctx().init_db()
        console.print("[green]store ready[/green]")

    @db.command("check")
    @guarded
    def check(as_json: Json = False) -> None:
        """Connectivity, versions and table presence."""
        report = ctx().describe_store()
        if as_json:
            print_json(report)
            return
        table("store", ["check", "value"], [(k, v) for k, v in report.items()])
        if not all(report.get("tables", {}).values()):
            raise typer.Exit(3)

    @app.command("serve")
    @guarded
    def serve(
        host: Annotated[str | None, typer.Option()] = None,
        port: Annotated[int | None, typer.Option(min=0, max=65535)] = None,
        workers: Annotated[int, typer.Option(min=1, max=64)] = 1,
        log_level: Annotated[str, typer.Option()] = "info",
    ) -> None:
        """Serve the HTTP API with uvicorn."""
        hooks.serve(ctx.overrides, host, port, workers, log_level)

    @app.command("demo")
    @guarded
    def demo() -> None:
        """Fill the store with a realistic demo: runs, deals, actions and a dead job."""
        context = ctx()
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("writing the demo", total=None)
            session = hooks.demo(context, lambda step: progress.update(task, description=step))
        catch_up_projections(context)
        console.print(f"[green]demo written[/green]: session {session}; try", soft_wrap=True)
        for example in (f"sessions events {session}", "runs list", "jobs list --status dlq"):
            console.print(f"  zakops {example}", markup=False, soft_wrap=True)

    @projections.command("status")
    @guarded
    def status(as_json: Json = False) -> None:
        """Each projection's position, lag behind the log and parked events (exit 1 when
        any event is parked)."""
        chosen = list(ctx().projectors.values())
        rows = [projector.status() for projector in chosen]
        parked = [letter for projector in chosen for letter in projector.dead_letters()]
        if as_json:
            print_json({"projections": rows, "parked": parked})
        else:
            cells = [
                (r.name, r.position, r.head, r.lag_events, f"{r.lag_seconds:.1f}", r.parked)
                for r in rows
            ]
            table(
                "projections",
                ["name", "position", "head", "lag (events)", "lag (s)", "parked"],
                cells,
            )
            if parked:
                table(
                    "parked events (fix the cause, then `zakops projections retry NAME`)",
                    [
                        "projection",
                        "position",
                        "event_id",
                        "type",
                        "attempts",
                        "parked at",
                        "error",
                    ],
                    [
                        (
                            p.projection,
                            p.position,
                            p.event_id,
                            p.type,
                            p.attempts,
                            p.parked_at.isoformat(timespec="seconds"),
                            p.error,
                        )
                        for p in parked
                    ],
                )
        if parked:
            raise typer.Exit(1)

    @projections.command("retry")
    @guarded
    def retry(name: Annotated[str, typer.Argument(help="legacy")], as_json: Json = False) -> None:
        """Write a projection's parked events again (after fixing the cause); those that now
        succeed leave the parked list (exit 1 when some are still parked)."""
        outcome = _projection(ctx(), name).retry()
        if as_json:
            print_json(outcome)
        else:
            console.print(f"{name}: {outcome.written} written, {outcome.still_parked} still parked")
        if outcome.still_parked:
            raise typer.Exit(1)

    @projections.command("run")
    @guarded
    def run(
        name: Annotated[str | None, typer.Argument(help="legacy (all when omitted)")] = None,
        once: Annotated[bool, typer.Option(help="catch up, then exit")] = False,
        poll: Annotated[float, typer.Option(min=0.01)] = 0.5,
        batch_size: Annotated[int, typer.Option(min=1, max=10_000)] = 500,
    ) -> None:
        """Run projection workers in the foreground until interrupted (Ctrl-C)."""
        context = ctx()
        chosen = [_projection(context, name)] if name else list(context.projectors.values())
        for projector in chosen:
            projector.batch_size = batch_size
        names = ", ".join(p.name for p in chosen)
        console.print(f"following the log into {names} (Ctrl-C stops)")
        while True:
            positions = {p.name: p.catch_up() for p in chosen}
            if once:
                console.print(", ".join(f"{n} at {pos}" for n, pos in positions.items()))
                return
            time.sleep(poll)

    @projections.command("rebuild")
    @guarded
    def rebuild(name: Annotated[str, typer.Argument(help="legacy")], yes: Yes = False) -> None:
        """Drop a projection's rows and replay the whole log into it (with progress)."""
        projector = _projection(ctx(), name)
        if not yes:
            raise typer.BadParameter("rebuild drops the projection's rows: add --yes")
        with Progress(console=console) as progress:
            task = progress.add_task(f"rebuilding {name}", total=max(1, projector.log.head()))

            def step(done: int, head: int) -> None:
                progress.update(task, completed=done, total=max(1, head))

            position = projector.rebuild(step)
        console.print(f"[green]{name} rebuilt[/green] up to position {position}")

    legacy = typer.Typer(help="The legacy ZakOps tables (needs ZAKOPS_LEGACY_DSN).")
    app.add_typer(legacy, name="legacy")

    @legacy.command("import")
    @guarded
    def import_history(as_json: Json = False) -> None:
        """Import the history older software wrote into the legacy tables (idempotent)."""
        importer = ctx().importer
        if importer is None:
            raise typer.BadParameter("no legacy database configured: set ZAKOPS_LEGACY_DSN")
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("importing legacy history", total=None)
            summary = importer.run(lambda s: progress.update(task, completed=s.read))
        result = {
            "read": summary.read,
            "imported": summary.imported,
            "already_imported": summary.already,
            "archives": len(summary.archives),
        }
        if as_json:
            print_json(result)
        else:
            table("legacy import", ["", "rows"], list(result.items()))

    @keys.command("create")
    @guarded
    def create(
        role: Annotated[str, typer.Option(help="reader | writer | operator")] = "reader",
    ) -> None:
        """Create an API key: printed once; the key file keeps only its id, role and SHA-256."""
        if role not in RANK:
            raise typer.BadParameter("use reader, writer or operator", param_hint="--role")
        ring = hooks.keys()
        record, key = ring.file.create(tokens.role(role))
        console.print(f"{role} key: [bold]{key}[/bold]", soft_wrap=True)
        console.print(
            f"id {record.id}; shown once, only its SHA-256 is kept in {ring.file.path}. "
            "Running servers accept it from their next request.",
            markup=False,
        )

    @keys.command("list")
    @guarded
    def list_keys(as_json: Json = False) -> None:
        """The keys of the key file (ids and roles, never a secret) and how many come from
        ZAKOPS_API_KEYS."""
        ring = hooks.keys()
        records = ring.file.records()
        rows = [{"id": r.id, "role": r.role, "created": r.created.isoformat()} for r in records]
        if as_json:
            print_json(
                {"keys": rows, "from_settings": len(ring.fixed), "file": str(ring.file.path)}
            )
            return
        table(
            f"API keys in {ring.file.path}",
            ["id", "role", "created"],
            [tuple(r.values()) for r in rows],
        )
        if len(ring.fixed):
            console.print(f"plus {len(ring.fixed)} keys from ZAKOPS_API_KEYS (not listed)")

    @keys.command("revoke")
    @guarded
    def revoke(
        key_id: Annotated[str, typer.Argument(help="the id `zakops keys list` shows")],
    ) -> None:
        """Revoke a key of the key file: running servers refuse it from their next request."""
        ring = hooks.keys()
        found = ring.file.revoke(key_id)
        if found is None:
            raise typer.BadParameter(f"no key with id {key_id!r} in {ring.file.path}")
        console.print(f"[green]revoked[/green] {found.role} key {found.id}")
