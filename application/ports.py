"""Ports for what the eventsourcing library does not provide: time, ids, read models.

Each is a small `typing.Protocol`; adapters implement them, tests use the in-memory ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from domain.envelope import Envelope


class Clock(Protocol):
    """Where the application gets the time of new events (UTC, timezone-aware)."""

    def now(self) -> datetime: ...


class IdSource(Protocol):
    """Where the application gets new event ids."""

    def new_id(self) -> str: ...


@dataclass(frozen=True)
class StateRow:
    """The current state of one aggregate, kept beside the events for the listings."""

    kind: str  # run | deal | action | job
    key: str
    status: str
    session_id: str | None
    deal_id: str | None
    updated_at: datetime
    last_position: int
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Page:
    """One page of a listing: the rows and the total that matched."""

    items: list[Any]
    total: int


@dataclass(frozen=True)
class LoggedEvent:
    """One stored event as projections follow the log: its position, its envelope (None
    for internal bookkeeping events) and the aggregate stream it belongs to."""

    position: int
    envelope: Envelope | None
    aggregate_id: UUID
    version: int


class TimelineView(Protocol):
    """Reads of the event store's own table, which carries the envelope columns (the log is
    the timeline), and of the state summaries written in the same transactions."""

    def by_session(
        self, session_id: str, since_seq: int, limit: int, run_id: str | None = None
    ) -> list[Envelope]: ...

    def by_run(self, run_id: str, since_seq: int, limit: int) -> list[Envelope]: ...

    def recent(self, limit: int, types: Sequence[str]) -> list[Envelope]: ...

    def after(self, position: int, limit: int) -> list[Envelope]: ...

    def by_correlation(self, correlation_id: str, limit: int, offset: int) -> list[Envelope]: ...

    def by_ids(self, event_ids: Sequence[str]) -> list[Envelope]: ...

    def counts(self, since: datetime | None) -> dict[str, int]: ...

    def states(self, kind: str, filters: dict[str, str], limit: int, offset: int) -> Page: ...

    def state(self, kind: str, key: str) -> StateRow | None: ...

    def last_seq(self, session_id: str) -> int: ...

    def head(self) -> int:
        """The newest position (0 when the log is empty)."""
        ...

    def log_after(self, position: int, limit: int) -> list[LoggedEvent]: ...


class ProjectionConflict(Exception):
    """Another worker advanced the projection first; re-read and try again."""


class UnwritableEvents(Exception):
    """The view refused what these events would write because of their data (a value its
    tables cannot hold, a constraint), not because it is unreachable: writing the same
    events again cannot succeed until something changes, so the projector isolates the
    event at fault and parks it."""


@dataclass(frozen=True)
class DeadLetter:
    """An event a projection could not write: parked, reported, retried on request."""

    projection: str
    position: int
    event_id: str
    type: str
    error: str
    parked_at: datetime
    attempts: int
    last_attempt_at: datetime
