"""`zakops`: the operator CLI, assembled here (the container is built in the Typer callback's
first command, never at import time)."""

from __future__ import annotations

import os
import platform
from typing import Any

from adapters.cli.app import make_cli
from adapters.cli.context import CliContext, Hooks, Overrides
from domain.errors import InvalidInput
from entrypoints.container import Container, build, close, init_db, projectors, services
from entrypoints.keys import keyring
from entrypoints.settings import Settings


def settings_for(overrides: Overrides) -> Settings:
    update: dict[str, Any] = {}
    if overrides.dsn:
        update.update(store="postgres", postgres_dsn=overrides.dsn)
    if overrides.sqlite_path:
        update.update(sqlite_path=overrides.sqlite_path)
    if overrides.store:
        update["store"] = overrides.store
    return Settings(**update)


def describe(container: Container) -> dict[str, Any]:
    from importlib.metadata import version

    settings: Settings = container.settings()
    report: dict[str, Any] = {"store": settings.store, "python": platform.python_version()}
    if settings.store == "sqlite":
        report["location"] = str(settings.sqlite_path)
    if settings.store == "postgres":
        from psycopg.conninfo import conninfo_to_dict

        from adapters.persistence.postgres import server_version

        info = conninfo_to_dict(settings.dsn())
        report["location"] = f"{info.get('host')}:{info.get('port', 5432)}/{info.get('dbname')}"
        report["schema"] = settings.postgres_schema
        report["server"] = f"PostgreSQL {server_version(settings.dsn())}"
    report["eventsourcing"] = version("eventsourcing")
    report["events"] = container.timeline_view().head()
    return report


def build_context(overrides: Overrides) -> CliContext:
    settings = settings_for(overrides)
    container = build(settings)
    init_db(container)
    return CliContext(
        **services(container),
        init_db=lambda: init_db(container),
        describe_store=lambda: describe(container),
        close=lambda: close(container),
        projectors=projectors(container),
        importer=container.importer(),
    )


def serve(
    overrides: Overrides, host: str | None, port: int | None, workers: int, log_level: str
) -> None:
    from entrypoints.serve import serve as run_server

    # uvicorn builds the app from the environment in its own process(es)
    for key, value in (
        ("ZAKOPS_STORE", overrides.store),
        ("ZAKOPS_POSTGRES_DSN", overrides.dsn),
        ("ZAKOPS_SQLITE_PATH", overrides.sqlite_path),
    ):
        if value:
            os.environ[key] = value
    if overrides.dsn and not overrides.store:
        os.environ["ZAKOPS_STORE"] = "postgres"
    settings = settings_for(overrides)
    if workers > 1 and settings.store != "postgres":
        raise InvalidInput("workers", "an embedded store has one writer process: use 1 worker")
    update: dict[str, Any] = {}
    if host:
        update["host"] = host
        os.environ["ZAKOPS_HOST"] = host
    if port is not None:
        update["port"] = port
        os.environ["ZAKOPS_PORT"] = str(port)
    run_server(settings.model_copy(update=update), workers=workers, log_level=log_level)


def demo(context: CliContext, step: Any) -> str:
    from entrypoints.demo import drive

    return drive(context, step)


def hooks() -> Hooks:
    return Hooks(build=build_context, serve=serve, demo=demo, keys=lambda: keyring(Settings()))


def main() -> None:
    make_cli(hooks())()


if __name__ == "__main__":
    main()
