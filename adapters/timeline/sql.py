"""What the SQLite and PostgreSQL timeline views share: the queries and the row mapping.

Subclasses give the connection handling, the placeholder style and the DDL. The envelope
table is `session_events`; `aggregate_states` holds the summaries; `projection_tracking`
holds the position of each projection; all three are written in one transaction.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from application.envelopes import number_rows, sessions_of
from application.ports import Page, ProjectionConflict, StateRow
from domain.envelope import Envelope

COLUMNS = (
    "position, event_id, type, timestamp, session_id, seq, run_id, source, correlation_id, "
    "causation_id, actor, schema_version, payload"
)


class Cursor(ABC):
    """The little of a DB-API cursor we use, with `?` placeholders."""

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    @abstractmethod
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    @abstractmethod
    def fetchall(self) -> list[tuple[Any, ...]]: ...


class SqlTimelineView(ABC):
    name = "timeline"

    @abstractmethod
    def transaction(self) -> AbstractContextManager[Cursor]: ...

    @abstractmethod
    def read(self) -> AbstractContextManager[Cursor]: ...

    @abstractmethod
    def lock(self, cursor: Cursor) -> None:
        """Serialise writers of this projection (inside the transaction)."""

    @abstractmethod
    def to_db_time(self, value: datetime) -> Any: ...

    @abstractmethod
    def from_db_time(self, value: Any) -> datetime: ...

    @abstractmethod
    def to_db_json(self, value: dict[str, Any]) -> Any: ...

    @abstractmethod
    def from_db_json(self, value: Any) -> dict[str, Any]: ...

    @abstractmethod
    def merge_state_sql(self) -> str: ...

    # -- writing -------------------------------------------------------------------------
    def position(self) -> int:
        with self.read() as cur:
            cur.execute("SELECT position FROM projection_tracking WHERE name = ?", (self.name,))
            rows = cur.fetchall()
        return int(rows[0][0]) if rows else 0

    @abstractmethod
    def is_unique_violation(self, error: Exception) -> bool: ...

    def commit(
        self, rows: Sequence[Envelope], states: Sequence[StateRow], position: int, expected: int
    ) -> list[Envelope]:
        try:
            return self._commit(rows, states, position, expected, careful=False)
        except Exception as error:
            if not self.is_unique_violation(error):
                raise
            # An event_id reused across aggregates (a rare race the services guard
            # against): write the batch again, renaming the duplicates.
            return self._commit(rows, states, position, expected, careful=True)

    @abstractmethod
    def wrap(self, cursor: Any) -> Cursor:
        """Our cursor interface over the store's own cursor (for inline writes)."""

    def commit_inline(
        self,
        cursor: Any,
        rows: Sequence[Envelope],
        states: Sequence[StateRow],
        position: int,
        previous: int,
    ) -> list[Envelope] | None:
        cur = self.wrap(cursor)
        if self.lock_and_position(cur) != previous:
            return None  # the timeline is behind: the projection will catch up from the log
        return self._write(cur, rows, states, position, careful=False)

    def _commit(
        self,
        rows: Sequence[Envelope],
        states: Sequence[StateRow],
        position: int,
        expected: int,
        careful: bool,
    ) -> list[Envelope]:
        with self.transaction() as cur:
            current = self.lock_and_position(cur)
            if current != expected:
                raise ProjectionConflict(f"tracking is at {current}, not {expected}")
            return self._write(cur, rows, states, position, careful)

    def _write(
        self,
        cur: Cursor,
        rows: Sequence[Envelope],
        states: Sequence[StateRow],
        position: int,
        careful: bool,
    ) -> list[Envelope]:
        numbered = number_rows(rows, self.last_seqs(cur, sessions_of(rows)))
        if careful:
            numbered = self._unique_ids(cur, numbered)
        cur.executemany(
            f"INSERT INTO session_events ({COLUMNS}) VALUES ({', '.join('?' * 13)})",
            [self._row(e) for e in numbered],
        )
        cur.executemany(self.merge_state_sql(), [self._state(s) for s in states])
        cur.execute(
            "INSERT INTO projection_tracking (name, position) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET position = excluded.position",
            (self.name, position),
        )
        return numbered

    def lock_and_position(self, cur: Cursor) -> int:
        """Serialise this projection's writers, then read its tracking position."""
        self.lock(cur)
        cur.execute("SELECT position FROM projection_tracking WHERE name = ?", (self.name,))
        found = cur.fetchall()
        return int(found[0][0]) if found else 0

    def last_seqs(self, cur: Cursor, sessions: set[str]) -> dict[str, int]:
        last: dict[str, int] = {}
        for session in sessions:
            cur.execute(
                "SELECT seq FROM session_events WHERE session_id = ? ORDER BY seq DESC LIMIT 1",
                (session,),
            )
            found = cur.fetchall()
            last[session] = int(found[0][0]) if found else 0
        return last

    def _unique_ids(self, cur: Cursor, rows: list[Envelope]) -> list[Envelope]:
        """An event_id reused across aggregates in a race gets a suffix instead of
        stopping the projection: the event is acknowledged, so it must be kept."""
        ids = [r.event_id for r in rows]
        taken: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            cur.execute(
                f"SELECT event_id FROM session_events WHERE event_id IN "
                f"({', '.join('?' * len(chunk))})",
                chunk,
            )
            taken.update(r[0] for r in cur.fetchall())
        seen: set[str] = set()
        unique = []
        for row in rows:
            if row.event_id in taken or row.event_id in seen:
                row = row.model_copy(update={"event_id": f"{row.event_id}#{row.position}"})
            seen.add(row.event_id)
            unique.append(row)
        return unique

    def _row(self, e: Envelope) -> tuple[Any, ...]:
        return (
            e.position,
            e.event_id,
            e.type,
            self.to_db_time(e.timestamp),
            e.session_id,
            e.seq,
            e.run_id,
            e.source,
            e.correlation_id,
            e.causation_id,
            e.actor,
            e.schema_version,
            self.to_db_json(e.payload),
        )

    def _state(self, s: StateRow) -> tuple[Any, ...]:
        return (
            s.kind,
            s.key,
            s.status,
            s.session_id,
            s.deal_id,
            self.to_db_time(s.updated_at),
            s.last_position,
            self.to_db_json(s.data),
        )

    def reset(self) -> None:
        with self.transaction() as cur:
            self.lock(cur)
            cur.execute("DELETE FROM session_events")
            cur.execute("DELETE FROM aggregate_states")
            cur.execute("DELETE FROM projection_tracking WHERE name = ?", (self.name,))

    # -- reading -------------------------------------------------------------------------
    def _select(
        self, where: str, params: Sequence[Any], order: str, limit: int, offset: int = 0
    ) -> list[Envelope]:
        sql = (
            f"SELECT {COLUMNS} FROM session_events WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?"
        )
        with self.read() as cur:
            cur.execute(sql, (*params, limit, offset))
            return [self._envelope(r) for r in cur.fetchall()]

    def _envelope(self, r: Sequence[Any]) -> Envelope:
        return Envelope.trusted(
            {
                "type": r[2],
                "timestamp": self.from_db_time(r[3]),
                "session_id": r[4],
                "seq": r[5],
                "run_id": r[6],
                "event_id": r[1],
                "source": r[7],
                "position": r[0],
                "correlation_id": r[8],
                "causation_id": r[9],
                "actor": r[10],
                "schema_version": r[11],
                "payload": self.from_db_json(r[12]),
            }
        )

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
        # One statement: find the run's session in the summaries, then walk
        # idx_session_event_run_seq (session_id, run_id, seq) from since_seq.
        session = "(SELECT session_id FROM aggregate_states WHERE kind = 'run' AND key = ?)"
        return self._select(
            f"session_id = {session} AND run_id = ? AND seq > ?",
            (run_id, run_id, since_seq),
            "seq",
            limit,
        )

    def recent(self, limit: int, types: Sequence[str]) -> list[Envelope]:
        if not types:
            return self._select("1 = 1", (), "position DESC", limit)
        marks = ", ".join("?" * len(types))
        return self._select(f"type IN ({marks})", tuple(types), "position DESC", limit)

    def after(self, position: int, limit: int) -> list[Envelope]:
        return self._select("position > ?", (position,), "position", limit)

    def by_correlation(self, correlation_id: str, limit: int, offset: int) -> list[Envelope]:
        return self._select("correlation_id = ?", (correlation_id,), "position", limit, offset)

    def by_ids(self, event_ids: Sequence[str]) -> list[Envelope]:
        if not event_ids:
            return []
        marks = ", ".join("?" * len(event_ids))
        return self._select(f"event_id IN ({marks})", tuple(event_ids), "position", len(event_ids))

    def counts(self, since: datetime | None) -> dict[str, int]:
        where, params = ("timestamp >= ?", (self.to_db_time(since),)) if since else ("1 = 1", ())
        with self.read() as cur:
            cur.execute(
                f"SELECT type, COUNT(*) FROM session_events WHERE {where} GROUP BY type", params
            )
            return {str(t): int(n) for t, n in cur.fetchall()}

    def states(self, kind: str, filters: dict[str, str], limit: int, offset: int) -> Page:
        where = " AND ".join(["kind = ?", *(f"{f} = ?" for f in filters)])
        params = (kind, *filters.values())
        with self.read() as cur:
            cur.execute(f"SELECT COUNT(*) FROM aggregate_states WHERE {where}", params)
            total = int(cur.fetchall()[0][0])
            cur.execute(
                "SELECT kind, key, status, session_id, deal_id, updated_at, last_position, data "
                f"FROM aggregate_states WHERE {where} ORDER BY updated_at DESC, key DESC "
                "LIMIT ? OFFSET ?",
                (*params, limit, offset),
            )
            return Page([self._state_row(r) for r in cur.fetchall()], total)

    def state(self, kind: str, key: str) -> StateRow | None:
        with self.read() as cur:
            cur.execute(
                "SELECT kind, key, status, session_id, deal_id, updated_at, last_position, data "
                "FROM aggregate_states WHERE kind = ? AND key = ?",
                (kind, key),
            )
            rows = cur.fetchall()
        return self._state_row(rows[0]) if rows else None

    def last_seq(self, session_id: str) -> int:
        with self.read() as cur:
            return self.last_seqs(cur, {session_id}).get(session_id, 0)

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


def dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def iter_statements(ddl: str) -> Iterator[str]:
    for statement in ddl.split(";"):
        if statement.strip():
            yield statement.strip()
