"""The in-memory events table (the `memory` store, unit tests): written by the in-memory
recorder under its lock, read by the query service."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from application.ports import LoggedEvent, Page, StateRow
from domain.envelope import Envelope

if TYPE_CHECKING:
    from adapters.persistence.mapper import EventRow


class MemoryEventTable:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: list[Envelope] = []
        self._positions: list[int] = []
        self._by_id: dict[str, Envelope | None] = {}
        self._by_session: dict[str, list[Envelope]] = {}
        self._states: dict[tuple[str, str], StateRow] = {}
        self._log: list[LoggedEvent] = []  # every stored event, internal ones included

    # -- writing (the recorder, inside its own lock) ----------------------------------------
    def check_unique(self, event_ids: Sequence[str]) -> None:
        with self._lock:
            if len(set(event_ids)) != len(event_ids) or any(i in self._by_id for i in event_ids):
                raise IntegrityError("event_id already stored")

    def append(self, rows: Sequence[EventRow], ids: Sequence[int]) -> list[Envelope | None]:
        """Store the rows' envelopes with their seq; return them (None for internal ones)."""
        written: list[Envelope | None] = []
        with self._lock:
            for row, position in zip(rows, ids, strict=True):
                seq = None
                if row.session_id is not None and row.type is not None:
                    seq = len(self._by_session.get(row.session_id, ())) + 1
                envelope = row.envelope(position, seq)
                if row.event_id is not None:
                    self._by_id[row.event_id] = envelope
                written.append(envelope)
                aggregate_id = row.originator_id
                assert isinstance(aggregate_id, UUID)
                self._log.append(
                    LoggedEvent(position, envelope, aggregate_id, row.originator_version)
                )
                if envelope is None:
                    continue
                self._rows.append(envelope)
                self._positions.append(position)
                if row.session_id is not None:
                    self._by_session.setdefault(row.session_id, []).append(envelope)
                if row.summary is not None:
                    self._merge(replace(row.summary, last_position=position))
        return written

    def _merge(self, state: StateRow) -> None:
        key = (state.kind, state.key)
        old = self._states.get(key)
        if old is None:
            self._states[key] = state
            return
        self._states[key] = replace(
            state,
            status=state.status or old.status,
            session_id=state.session_id or old.session_id,
            deal_id=state.deal_id or old.deal_id,
            data={**old.data, **state.data},
        )

    # -- reading ---------------------------------------------------------------------------
    def by_session(
        self, session_id: str, since_seq: int, limit: int, run_id: str | None = None
    ) -> list[Envelope]:
        with self._lock:
            rows = self._by_session.get(session_id, [])[since_seq:]
            if run_id is None:
                return rows[:limit]
            return [r for r in rows if r.run_id == run_id][:limit]

    def by_run(self, run_id: str, since_seq: int, limit: int) -> list[Envelope]:
        state = self.state("run", run_id)
        if state is None or state.session_id is None:
            return []
        return self.by_session(state.session_id, since_seq, limit, run_id)

    def recent(self, limit: int, types: Sequence[str]) -> list[Envelope]:
        with self._lock:
            rows = [r for r in reversed(self._rows) if not types or r.type in types]
        return rows[:limit]

    def after(self, position: int, limit: int) -> list[Envelope]:
        with self._lock:
            start = bisect.bisect_right(self._positions, position)
            return self._rows[start : start + limit]

    def by_correlation(self, correlation_id: str, limit: int, offset: int) -> list[Envelope]:
        with self._lock:
            rows = [r for r in self._rows if r.correlation_id == correlation_id]
        return rows[offset : offset + limit]

    def by_ids(self, event_ids: Sequence[str]) -> list[Envelope]:
        with self._lock:
            found = [self._by_id.get(e) for e in event_ids]
        return [e for e in found if e is not None]

    def counts(self, since: datetime | None) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self._lock:
            for row in self._rows:
                if since is None or row.timestamp >= since:
                    counts[row.type] = counts.get(row.type, 0) + 1
        return counts

    def states(self, kind: str, filters: dict[str, str], limit: int, offset: int) -> Page:
        with self._lock:
            rows = [
                s
                for (k, _), s in self._states.items()
                if k == kind and all(getattr(s, f) == v for f, v in filters.items())
            ]
        rows.sort(key=lambda s: (s.updated_at, s.key), reverse=True)
        return Page(rows[offset : offset + limit], len(rows))

    def state(self, kind: str, key: str) -> StateRow | None:
        with self._lock:
            return self._states.get((kind, key))

    def head(self) -> int:
        with self._lock:
            return self._log[-1].position if self._log else 0

    def log_after(self, position: int, limit: int) -> list[LoggedEvent]:
        with self._lock:
            start = bisect.bisect_right([e.position for e in self._log], position)
            return self._log[start : start + limit]

    def last_seq(self, session_id: str) -> int:
        with self._lock:
            return len(self._by_session.get(session_id, ()))
