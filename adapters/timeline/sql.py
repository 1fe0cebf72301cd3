"""The reads of the events table, shared by SQLite and PostgreSQL: every query walks an index.

The table is the event store's own (one row per event, see adapters/persistence/schema.py);
envelopes are rendered from the stored JSON without validating it again. Internal
bookkeeping events (`type` NULL) are never shown.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from application.envelopes import envelope_from_state
from application.ports import LoggedEvent, Page, StateRow
from domain.envelope import Envelope


class SqlTimelineView(ABC):
    table: str  # the events table, qualified where needed
    states_table: str
    position: str  # the column holding the notification id

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one read with `?` placeholders."""

    @abstractmethod
    def to_db_time(self, value: datetime) -> Any: ...

    @abstractmethod
    def from_db_time(self, value: Any) -> datetime: ...

    @abstractmethod
    def from_db_json(self, value: Any) -> dict[str, Any]: ...

    def to_uuid(self, value: Any) -> UUID:
        return value if isinstance(value, UUID) else UUID(str(value))

    # -- envelopes ---------------------------------------------------------------------------
    def _select(
        self, where: str, params: Sequence[Any], order: str, limit: int, offset: int = 0
    ) -> list[Envelope]:
        rows = self.query(
            f"SELECT {self.position}, type, seq, state FROM {self.table} "
            f"WHERE type IS NOT NULL AND {where} ORDER BY {order} LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [envelope_from_state(t, json.loads(bytes(s)), int(p), q) for p, t, q, s in rows]

    def by_session(
        self, session_id: str, since_seq: int, limit: int, run_id: str | None = None
    ) -> list[Envelope]:
        if run_id is None:
            return self._select("session_id = ? AND seq > ?", (session_id, since_seq), "seq", limit)
        return self._select(
            "session_id = ? AND run_id = ? AND seq > ?",
            (session_id, run_id, since_seq),
            "seq",
            limit,
        )

    def by_run(self, run_id: str, since_seq: int, limit: int) -> list[Envelope]:
        # One statement: the run's session from the summaries, then idx_session_event_run_seq
        # (session_id, run_id, seq) from since_seq.
        session = f"(SELECT session_id FROM {self.states_table} WHERE kind = 'run' AND key = ?)"
        return self._select(
            f"session_id = {session} AND run_id = ? AND seq > ?",
            (run_id, run_id, since_seq),
            "seq",
            limit,
        )

    def recent(self, limit: int, types: Sequence[str]) -> list[Envelope]:
        p = self.position
        if not types:
            return self._select("1 = 1", (), f"{p} DESC", limit)
        marks = ", ".join("?" * len(types))
        return self._select(f"type IN ({marks})", tuple(types), f"{p} DESC", limit)

    def after(self, position: int, limit: int) -> list[Envelope]:
        p = self.position
        return self._select(f"{p} > ?", (position,), p, limit)

    def by_correlation(self, correlation_id: str, limit: int, offset: int) -> list[Envelope]:
        return self._select("correlation_id = ?", (correlation_id,), self.position, limit, offset)

    def by_ids(self, event_ids: Sequence[str]) -> list[Envelope]:
        if not event_ids:
            return []
        marks = ", ".join("?" * len(event_ids))
        return self._select(
            f"event_id IN ({marks})", tuple(event_ids), self.position, len(event_ids)
        )

    def counts(self, since: datetime | None) -> dict[str, int]:
        where, params = ("timestamp >= ?", (self.to_db_time(since),)) if since else ("1 = 1", ())
        rows = self.query(
            f"SELECT type, COUNT(*) FROM {self.table} "
            f"WHERE type IS NOT NULL AND {where} GROUP BY type",
            params,
        )
        return {str(t): int(n) for t, n in rows}

    def last_seq(self, session_id: str) -> int:
        rows = self.query(
            f"SELECT seq FROM {self.table} WHERE session_id = ? ORDER BY seq DESC LIMIT 1",
            (session_id,),
        )
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0

    def head(self) -> int:
        rows = self.query(f"SELECT MAX({self.position}) FROM {self.table}")
        return int(rows[0][0] or 0) if rows else 0

    def log_after(self, position: int, limit: int) -> list[LoggedEvent]:
        """Every stored event after `position` in log order, internal ones included (with no
        envelope), with the aggregate it belongs to: what projections follow."""
        p = self.position
        rows = self.query(
            f"SELECT {p}, type, seq, state, originator_id, originator_version FROM {self.table} "
            f"WHERE {p} > ? ORDER BY {p} LIMIT ?",
            (position, limit),
        )
        return [
            LoggedEvent(
                int(pos),
                None if t is None else envelope_from_state(t, json.loads(bytes(s)), int(pos), q),
                self.to_uuid(o),
                int(v),
            )
            for pos, t, q, s, o, v in rows
        ]

    # -- state summaries ---------------------------------------------------------------------
    def states(self, kind: str, filters: dict[str, str], limit: int, offset: int) -> Page:
        where = " AND ".join(["kind = ?", *(f"{f} = ?" for f in filters)])
        params = (kind, *filters.values())
        total = self.query(f"SELECT COUNT(*) FROM {self.states_table} WHERE {where}", params)
        rows = self.query(
            "SELECT kind, key, status, session_id, deal_id, updated_at, last_position, data "
            f"FROM {self.states_table} WHERE {where} ORDER BY updated_at DESC, key DESC "
            "LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return Page([self._state_row(r) for r in rows], int(total[0][0]))

    def state(self, kind: str, key: str) -> StateRow | None:
        rows = self.query(
            "SELECT kind, key, status, session_id, deal_id, updated_at, last_position, data "
            f"FROM {self.states_table} WHERE kind = ? AND key = ?",
            (kind, key),
        )
        return self._state_row(rows[0]) if rows else None

    def _state_row(self, r: Sequence[Any]) -> StateRow:
        return StateRow(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            self.from_db_time(r[5]),
            int(r[6]),
            self.from_db_json(r[7]),
        )
