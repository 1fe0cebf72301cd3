"""The query service: the events table (the timeline) and the state summaries, with
bounded arguments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from application.ports import Page, StateRow, TimelineView
from domain.envelope import Envelope
from domain.errors import InvalidInput, NotFound
from domain.taxonomy import resolve
from domain.text import storable_problem

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_OFFSET = 10_000_000
MAX_SEQ = 2**62


def check_limit(limit: int, field: str = "limit") -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(field, f"must be between 1 and {MAX_LIMIT}, got {limit}")
    return limit


def check_non_negative(value: int | None, field: str, most: int = MAX_SEQ) -> int:
    if value is None:
        return 0
    if not 0 <= value <= most:
        raise InvalidInput(field, f"must be between 0 and {most}, got {value}")
    return value


def check_key(value: str, field: str) -> str:
    if not value or len(value) > 100:
        raise InvalidInput(field, "must be 1 to 100 characters")
    problem = storable_problem(value)
    if problem is not None:  # no stored key can hold it: say so instead of asking the store
        raise InvalidInput(field, problem)
    return value


@dataclass(frozen=True)
class Stats:
    since: datetime | None
    total: int
    by_type: dict[str, int]
    by_domain: dict[str, int]


@dataclass(frozen=True)
class SessionSummary:
    session_id: str
    last_seq: int
    runs: list[StateRow]


class QueryService:
    def __init__(self, view: TimelineView) -> None:
        self.view = view

    def get_events_by_session(
        self,
        session_id: str,
        since_seq: int | None = None,
        limit: int = DEFAULT_LIMIT,
        run_id: str | None = None,
    ) -> list[Envelope]:
        """A session's envelopes in `seq` order, after `since_seq` (historical events
        without a run included unless `run_id` narrows it)."""
        return self.view.by_session(
            check_key(session_id, "session_id"),
            check_non_negative(since_seq, "since_seq"),
            check_limit(limit),
            run_id,
        )

    def get_events_by_run(
        self, run_id: str, since_seq: int | None = None, limit: int = DEFAULT_LIMIT
    ) -> list[Envelope]:
        """A run's envelopes with their original session `seq`, ascending."""
        return self.view.by_run(
            check_key(run_id, "run_id"),
            check_non_negative(since_seq, "since_seq"),
            check_limit(limit),
        )

    def get_recent(self, limit: int = 50, types: Sequence[str] | None = None) -> list[Envelope]:
        """The newest events first, optionally only some types (aliases resolved)."""
        names = sorted({resolve(t).name for t in types or []})
        return self.view.recent(check_limit(limit), names)

    def get_events_after(self, position: int = 0, limit: int = DEFAULT_LIMIT) -> list[Envelope]:
        """Every event after a global position, in log order (for tails and exports)."""
        return self.view.after(check_non_negative(position, "position"), check_limit(limit))

    def get_by_correlation_id(
        self, correlation_id: str, limit: int = DEFAULT_LIMIT, offset: int = 0
    ) -> list[Envelope]:
        """Everything correlated with a deal (`DL-0001`) or any other id, in log order."""
        return self.view.by_correlation(
            check_key(correlation_id, "correlation_id"),
            check_limit(limit),
            check_non_negative(offset, "offset", MAX_OFFSET),
        )

    def get_by_id(self, event_id: str) -> Envelope:
        found = self.view.by_ids([check_key(event_id, "event_id")])
        if not found:
            raise NotFound("event", event_id)
        return found[0]

    def get_stats(self, since: datetime | None = None) -> Stats:
        if since is not None and since.tzinfo is None:
            raise InvalidInput("since", "must be timezone-aware")
        by_type = self.view.counts(since)
        by_domain: dict[str, int] = {}
        for name, count in by_type.items():
            domain = resolve(name).domain
            by_domain[domain] = by_domain.get(domain, 0) + count
        return Stats(since, sum(by_type.values()), dict(sorted(by_type.items())), by_domain)

    def list_states(
        self, kind: str, limit: int = DEFAULT_LIMIT, offset: int = 0, **filters: str | None
    ) -> Page:
        """Runs, deals, actions or jobs with their current state (newest change first)."""
        if kind not in {"run", "deal", "action", "job"}:
            raise InvalidInput("kind", "must be run, deal, action or job")
        given = {k: check_key(v, k) for k, v in filters.items() if v is not None}
        unknown = set(given) - {"status", "session_id", "deal_id"}
        if unknown:
            raise InvalidInput(sorted(unknown)[0], "is not a filter of this listing")
        return self.view.states(
            kind, given, check_limit(limit), check_non_negative(offset, "offset", MAX_OFFSET)
        )

    def get_session(self, session_id: str) -> SessionSummary:
        """A session's last `seq` (= its event count, seq being dense) and its runs."""
        last = self.view.last_seq(check_key(session_id, "session_id"))
        runs = self.view.states("run", {"session_id": session_id}, MAX_LIMIT, 0)
        if last == 0 and runs.total == 0:
            raise NotFound("session", session_id)
        return SessionSummary(session_id, last, runs.items)

    def head(self) -> int:
        """The newest position in the log (0 when it is empty)."""
        return self.view.head()

    def get_state(self, kind: str, key: str) -> StateRow:
        row = self.view.state(kind, check_key(key, f"{kind}_id"))
        if row is None:
            raise NotFound(kind, key)
        return row
