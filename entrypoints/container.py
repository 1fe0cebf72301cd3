"""The composition root: one dependency-injector container, built by `build(settings)`.

Nothing is constructed at import time. Only `entrypoints` knows the container; every other
package takes plain constructor arguments.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable
from typing import Any

from dependency_injector import containers, providers

from adapters.persistence.environment import library_env
from adapters.python_api.binding import Binding, bind
from adapters.system import SystemClock, UuidIds
from adapters.timeline.sqlite import SQLiteTimelineView
from application.decorators import use_emitter
from application.emitter import Emitter
from application.legacy import LegacyImporter, LegacyProjector, LegacyView
from application.ports import TimelineView
from application.projector import Projector
from application.queries import QueryService
from application.services.actions import ActionService
from application.services.base import Services
from application.services.deals import DealService
from application.services.jobs import JobService
from application.services.runs import RunService
from application.services.sessions import SessionService
from application.store import EventStore
from entrypoints.settings import Settings


def _library_env(settings: Settings) -> dict[str, str]:
    return library_env(
        settings.store,
        sqlite_path=settings.sqlite_path,
        postgres_dsn=settings.dsn() if settings.store == "postgres" else None,
        postgres_schema=settings.postgres_schema,
        pool_size=settings.pool_size,
        cache_bytes=settings.aggregate_cache_mb * 1024 * 1024,
    )


def _timeline_view(settings: Settings, store: EventStore) -> TimelineView:
    """Reads of the store's own events table (the log is the timeline)."""
    if settings.store == "memory":
        from adapters.persistence.recorders import EnvelopePOPORecorder

        assert isinstance(store.recorder, EnvelopePOPORecorder)
        return store.recorder.table
    if settings.store == "sqlite":
        return SQLiteTimelineView(settings.sqlite_path)
    from adapters.persistence.recorders import EnvelopePostgresRecorder
    from adapters.timeline.postgres import PostgresTimelineView

    assert isinstance(store.recorder, EnvelopePostgresRecorder)
    return PostgresTimelineView(store.recorder.datastore, store.recorder.events_table_name)


def _prepare_store(settings: Settings) -> None:
    if settings.store == "postgres":
        from adapters.persistence.postgres import ensure_database, ensure_schema

        ensure_database(settings.dsn())
        ensure_schema(settings.dsn(), settings.postgres_schema)


def _legacy_view(settings: Settings) -> LegacyView | None:
    if settings.legacy_dsn is None:
        return None
    from adapters.legacy.postgres import PostgresLegacyView

    return PostgresLegacyView(settings.legacy_dsn.get_secret_value())


def _legacy(log: TimelineView, view: LegacyView | None) -> LegacyProjector | None:
    return None if view is None else LegacyProjector(log, view)


def _importer(deps: Services, view: LegacyView | None) -> LegacyImporter | None:
    return None if view is None else LegacyImporter(deps, view)


def _store(settings: Settings) -> EventStore:
    _prepare_store(settings)
    return EventStore(env=_library_env(settings))


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    store = providers.Singleton(_store, settings)
    timeline_view = providers.Singleton(_timeline_view, settings, store)
    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(UuidIds)
    deps = providers.Singleton(
        Services,
        store=store,
        view=timeline_view,
        clock=clock,
        ids=ids,
        retries=settings.provided.command_retries,
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
    legacy_view = providers.Singleton(_legacy_view, settings)
    legacy = providers.Singleton(_legacy, timeline_view, legacy_view)
    importer = providers.Singleton(_importer, deps, legacy_view)


def services(container: Container) -> dict[str, Any]:
    """The application objects every adapter is given (by these names)."""
    return {
        "runs": container.runs(),
        "deals": container.deals(),
        "actions": container.actions(),
        "jobs": container.jobs(),
        "sessions": container.sessions(),
        "emitter": container.emitter(),
        "queries": container.queries(),
    }


def projectors(container: Container) -> dict[str, Projector]:
    """Every enabled projection by name (the legacy one only with ZAKOPS_LEGACY_DSN)."""
    found: dict[str, Projector] = {}
    legacy = container.legacy()
    if legacy is not None:
        found["legacy"] = legacy
    return found


def build(settings: Settings | None = None) -> Container:
    """A container for these settings (defaults: environment and `.env`)."""
    return Container(settings=settings or Settings())


def init_db(container: Container) -> None:
    """Create our schema and tables if missing (idempotent): `zakops db init`."""
    # The library creates its tables when constructed (CREATE_TABLE=y); our recorders add
    # the envelope columns and upgrade a store of the previous release on the way.
    container.store()
    legacy = container.legacy_view()
    if legacy is not None:
        legacy.create_tables()  # our bookkeeping only; the zakops.* tables are never created


def close(container: Container) -> None:
    for view in (container.timeline_view(), container.legacy_view()):
        closer = getattr(view, "close", None)
        if closer is not None:
            closer()
    container.store().close()


def live_wakeups(container: Container) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """How the live follower learns of new events: this process's commits, and on
    PostgreSQL every process's (LISTEN on the channel the append function NOTIFYs)."""
    store: EventStore = container.store()

    def start(wake: Callable[[], None]) -> Callable[[], None]:
        store.on_commit.append(wake)
        stops: list[Callable[[], None]] = [lambda: store.on_commit.remove(wake)]
        from adapters.persistence.recorders import EnvelopePostgresRecorder

        recorder = store.recorder
        if isinstance(recorder, EnvelopePostgresRecorder):
            from adapters.live.notify import Notifications

            listener = Notifications(
                recorder.datastore, recorder.channel_name, wake, own=recorder.own_backends
            )
            listener.start()
            stops.append(listener.stop)

        def stop() -> None:
            for each in stops:
                each()

        return stop

    return start


_default: list[Container] = []
_default_lock = threading.Lock()


def default_container() -> Container:
    """The process's application for in-process callers (the Python API, the decorators),
    built from the settings on first use, its tables created, closed at exit."""
    with _default_lock:
        if not _default:
            container = build()
            init_db(container)
            _default.append(container)
            atexit.register(reset_default_container)
        return _default[0]


def reset_default_container() -> None:
    """Close the default application; the next use builds it again (from fresh settings)."""
    with _default_lock:
        while _default:
            close(_default.pop())


def wire_python_api() -> None:
    """Point the seed's Python API and the decorators at the default application (lazily:
    nothing is built until the first publish, query or decorated call)."""
    bind(Binding(emitter=lambda: default_container().emitter(), queries=_default_queries))
    use_emitter(lambda: default_container().emitter())


def _default_queries() -> QueryService:
    queries: QueryService = default_container().queries()
    return queries
