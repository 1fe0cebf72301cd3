"""Ports for what the eventsourcing library does not provide: time, ids, read models.

Each is a small `typing.Protocol`; adapters implement them, tests use the in-memory ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from domain.envelope import Envelope


class Clock(Protocol):
    """Where the application gets the time of new events (UTC, timezone-aware)."""

    def now(self) -> datetime: ...


class IdSource(Protocol):
    """Where the application gets new event ids."""

    def new_id(self) -> str: ...


@dataclass(frozen=True)
class StateRow:
    """The current state of one aggregate, kept by the timeline projection for listings."""

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


class TimelineView(Protocol):
    """The envelope table (`session_events`), its per-session `seq`, and the state summaries.

    `commit` writes a batch of envelopes (seq not yet assigned) and the state rows they
    change, and advances the tracking position from `expected` to `position`, all in one
    transaction; it raises `ProjectionConflict` if the tracking position is not `expected`
    (another worker got there first), and writes nothing then.
    """

    name: str

    def create_tables(self) -> None: ...

    def position(self) -> int: ...

    def commit(
        self, rows: Sequence[Envelope], states: Sequence[StateRow], position: int, expected: int
    ) -> list[Envelope]: ...

    def commit_inline(
        self,
        cursor: Any,
        rows: Sequence[Envelope],
        states: Sequence[StateRow],
        position: int,
        previous: int,
    ) -> list[Envelope] | None:
        """Inside the events' own transaction (`cursor`): write the batch when the tracking
        is at `previous` (the newest notification before it), else write nothing (None)."""
        ...

    def reset(self) -> None: ...

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


class ProjectionConflict(Exception):
    """Another worker advanced the projection first; re-read and try again."""
