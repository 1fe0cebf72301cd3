"""The composition root: one dependency-injector container, built by `build(settings)`.

Nothing is constructed at import time. Only `entrypoints` knows the container; every other
package takes plain constructor arguments.
"""

from __future__ import annotations

from dependency_injector import containers, providers

from adapters.persistence.environment import library_env
from adapters.system import SystemClock, UuidIds
from adapters.timeline.memory import MemoryTimelineView
from adapters.timeline.sqlite import SQLiteTimelineView
from application.emitter import Emitter
from application.ports import TimelineView
from application.queries import QueryService
from application.services.actions import ActionService
from application.services.base import Services
from application.services.deals import DealService
from application.services.jobs import JobService
from application.services.runs import RunService
from application.services.sessions import SessionService
from application.store import EventStore
from application.timeline import Timeline
from entrypoints.settings import Settings


def _library_env(settings: Settings) -> dict[str, str]:
    return library_env(
        settings.store,
        sqlite_path=settings.sqlite_path,
        postgres_dsn=settings.dsn() if settings.store == "postgres" else None,
        postgres_schema=settings.postgres_schema,
        pool_size=settings.pool_size,
    )


def _timeline_view(settings: Settings) -> TimelineView:
    if settings.store == "memory":
        return MemoryTimelineView()
    if settings.store == "sqlite":
        return SQLiteTimelineView(settings.sqlite_path)
    from adapters.timeline.postgres import PostgresTimelineView

    return PostgresTimelineView(settings.dsn(), settings.postgres_schema, settings.pool_size)


def _prepare_store(settings: Settings) -> None:
    if settings.store == "postgres":
        from adapters.persistence.postgres import ensure_schema

        ensure_schema(settings.dsn(), settings.postgres_schema)


def _store(settings: Settings) -> EventStore:
    _prepare_store(settings)
    return EventStore(env=_library_env(settings))


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    store = providers.Singleton(_store, settings)
    timeline_view = providers.Singleton(_timeline_view, settings)
    timeline = providers.Singleton(Timeline, store, timeline_view)
    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(UuidIds)
    deps = providers.Singleton(
        Services,
        store=store,
        timeline=timeline,
        clock=clock,
        ids=ids,
        retries=settings.provided.command_retries,
        wait_timeout=settings.provided.timeline_wait_seconds,
        single_writer=providers.Callable(lambda s: s.store != "postgres", settings),
    )
    runs = providers.Singleton(RunService, deps)
    deals = providers.Singleton(DealService, deps)
    actions = providers.Singleton(ActionService, deps)
    jobs = providers.Singleton(JobService, deps)
    sessions = providers.Singleton(SessionService, deps)
    emitter = providers.Singleton(
        Emitter,
        deps,
        services=providers.Dict(run=runs, deal=deals, action=actions, job=jobs, session=sessions),
    )
    queries = providers.Singleton(QueryService, timeline_view)


def build(settings: Settings | None = None) -> Container:
    """A container for these settings (defaults: environment and `.env`)."""
    return Container(settings=settings or Settings())


def init_db(container: Container) -> None:
    """Create our schema and tables if missing (idempotent): `zakops db init`."""
    container.store()  # the library creates its tables (CREATE_TABLE=y) when constructed
    container.timeline_view().create_tables()


def close(container: Container) -> None:
    container.store().close()
    view = container.timeline_view()
    closer = getattr(view, "close", None)
    if closer is not None:
        closer()
