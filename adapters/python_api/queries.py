"""`get_query_service()`: the first seed's query service (async), and a sync twin.

Methods: `get_recent`, `get_by_correlation_id`, `get_by_run`, `get_stats`, `get_by_id`, the
second seed's `get_events_by_run(session_id, run_id, since_seq, limit)` and
`get_events_by_session`. Ids may be any object whose `str()` is the id (a UUID).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from adapters.python_api.asyncs import in_thread
from adapters.python_api.binding import bound
from application.queries import DEFAULT_LIMIT, QueryService, Stats
from domain.envelope import Envelope


class EventQueryService:
    """Synchronous reads of the timeline, in the seeds' vocabulary."""

    def __init__(self, queries: QueryService) -> None:
        self.queries = queries

    def get_recent(self, limit: int = 50, types: Sequence[str] | None = None) -> list[Envelope]:
        """The newest events first, optionally only some types."""
        return self.queries.get_recent(limit, [str(t) for t in types or []])

    def get_by_correlation_id(
        self, correlation_id: object, limit: int = DEFAULT_LIMIT, offset: int = 0
    ) -> list[Envelope]:
        """Everything correlated with a deal (or any id), in log order."""
        return self.queries.get_by_correlation_id(str(correlation_id), limit, offset)

    def get_by_run(
        self, run_id: object, since_seq: int = 0, limit: int = DEFAULT_LIMIT
    ) -> list[Envelope]:
        """A run's events with their session `seq`, ascending (the first seed's name)."""
        return self.queries.get_events_by_run(str(run_id), since_seq, limit)

    def get_events_by_run(
        self, session_id: object, run_id: object, since_seq: int = 0, limit: int = DEFAULT_LIMIT
    ) -> list[Envelope]:
        """The second seed's signature: a run of a session, after `since_seq` (a run of
        another session yields nothing)."""
        return self.queries.get_events_by_session(
            str(session_id), since_seq, limit, run_id=str(run_id)
        )

    def get_events_by_session(
        self, session_id: object, since_seq: int = 0, limit: int = DEFAULT_LIMIT
    ) -> list[Envelope]:
        return self.queries.get_events_by_session(str(session_id), since_seq, limit)

    def get_stats(self, since: datetime | None = None) -> Stats:
        """Totals by type and by domain, optionally since a timezone-aware time."""
        return self.queries.get_stats(since)

    def get_by_id(self, event_id: object) -> Envelope:
        """One event; `NotFound` when there is none."""
        return self.queries.get_by_id(str(event_id))


class AsyncEventQueryService:
    """The same reads awaitable, as the first seed uses them (`await service.get_recent()`)."""

    def __init__(self, sync: EventQueryService) -> None:
        self.sync = sync
        self.get_recent = in_thread(sync.get_recent)
        self.get_by_correlation_id = in_thread(sync.get_by_correlation_id)
        self.get_by_run = in_thread(sync.get_by_run)
        self.get_events_by_run = in_thread(sync.get_events_by_run)
        self.get_events_by_session = in_thread(sync.get_events_by_session)
        self.get_stats = in_thread(sync.get_stats)
        self.get_by_id = in_thread(sync.get_by_id)


def get_query_service_sync() -> EventQueryService:
    return EventQueryService(bound().queries())


async def get_query_service() -> AsyncEventQueryService:
    """`service = await get_query_service()` (builds the application on first use)."""
    return AsyncEventQueryService(await in_thread(get_query_service_sync)())
