"""The in-memory timeline view, for unit tests and the `memory` store."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from application.envelopes import number_rows
from application.ports import Page, ProjectionConflict, StateRow
from domain.envelope import Envelope


class MemoryTimelineView:
    name = "timeline"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def create_tables(self) -> None:
        return None

    def reset(self) -> None:
        with self._lock:
            self._rows: list[Envelope] = []
            self._by_id: dict[str, Envelope] = {}
            self._last_seq: dict[str, int] = {}
            self._states: dict[tuple[str, str], StateRow] = {}
            self._position = 0

    def position(self) -> int:
        return self._position

    def commit(
        self, rows: Sequence[Envelope], states: Sequence[StateRow], position: int, expected: int
    ) -> list[Envelope]:
        with self._lock:
            if self._position != expected:
                raise ProjectionConflict(f"tracking is at {self._position}, not {expected}")
            last = dict(self._last_seq)
            numbered = number_rows(rows, last)
            for row in numbered:
                if row.event_id in self._by_id:
                    row = row.model_copy(update={"event_id": f"{row.event_id}#{row.position}"})
                self._rows.append(row)
                self._by_id[row.event_id] = row
            for state in states:
                self._merge(state)
            self._last_seq = last
            self._position = position
            return numbered

    def commit_inline(
        self,
        cursor: Any,
        rows: Sequence[Envelope],
        states: Sequence[StateRow],
        position: int,
        previous: int,
    ) -> list[Envelope] | None:
        try:
            return self.commit(rows, states, position, expected=previous)
        except ProjectionConflict:
            return None

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

    def by_session(
        self, session_id: str, since_seq: int, limit: int, run_id: str | None = None
    ) -> list[Envelope]:
        rows = [
            r
            for r in self._rows
            if r.session_id == session_id
            and (r.seq or 0) > since_seq
            and (run_id is None or r.run_id == run_id)
        ]
        return rows[:limit]

    def by_run(self, run_id: str, since_seq: int, limit: int) -> list[Envelope]:
        rows = [r for r in self._rows if r.run_id == run_id and (r.seq or 0) > since_seq]
        return rows[:limit]

    def recent(self, limit: int, types: Sequence[str]) -> list[Envelope]:
        rows = [r for r in reversed(self._rows) if not types or r.type in types]
        return rows[:limit]

    def after(self, position: int, limit: int) -> list[Envelope]:
        return [r for r in self._rows if (r.position or 0) > position][:limit]

    def by_correlation(self, correlation_id: str, limit: int, offset: int) -> list[Envelope]:
        rows = [r for r in self._rows if r.correlation_id == correlation_id]
        return rows[offset : offset + limit]

    def by_ids(self, event_ids: Sequence[str]) -> list[Envelope]:
        return [self._by_id[e] for e in event_ids if e in self._by_id]

    def counts(self, since: datetime | None) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self._rows:
            if since is None or row.timestamp >= since:
                counts[row.type] = counts.get(row.type, 0) + 1
        return counts

    def states(self, kind: str, filters: dict[str, str], limit: int, offset: int) -> Page:
        rows = [
            s
            for (k, _), s in self._states.items()
            if k == kind and all(getattr(s, f) == v for f, v in filters.items())
        ]
        rows.sort(key=lambda s: (s.updated_at, s.key), reverse=True)
        return Page(rows[offset : offset + limit], len(rows))

    def state(self, kind: str, key: str) -> StateRow | None:
        return self._states.get((kind, key))

    def last_seq(self, session_id: str) -> int:
        return self._last_seq.get(session_id, 0)
